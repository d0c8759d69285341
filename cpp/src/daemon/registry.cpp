// registry.cpp - IPCPs, names and bindings of the embedded runtime.
#include "registry.hpp"

#include "runtime/names.hpp"

#include <o7s/error.hpp>

#include <algorithm>
#include <cerrno>

namespace ouroboros::daemon {
namespace {

std::string quoted(const std::string& s)
{
    return "'" + runtime::printable(s) + "'";
}

bool modelled(ipcp_type t)
{
    return t == ipcp_type::local || t == ipcp_type::broadcast;
}

const char* type_name(ipcp_type t)
{
    switch (t) {
    case ipcp_type::local: return "local";
    case ipcp_type::unicast: return "unicast";
    case ipcp_type::broadcast: return "broadcast";
    case ipcp_type::eth_llc: return "eth-llc";
    case ipcp_type::eth_dix: return "eth-dix";
    case ipcp_type::udp4: return "udp4";
    case ipcp_type::udp6: return "udp6";
    }
    return "unknown";
}

std::string no_ipcp(pid_t id)
{
    return "no IPCP with pid " + std::to_string(id);
}

template <class Vec, class Pred> bool erase_if(Vec& v, Pred pred)
{
    auto it = std::remove_if(v.begin(), v.end(), pred);
    bool any = it != v.end();
    v.erase(it, v.end());
    return any;
}

} // namespace

registry::registry()
{
    pid_t id = 0;
    std::string why;
    create_ipcp("local", ipcp_type::local, id, why);
    bootstrap_ipcp(id, ipcp_config{ipcp_type::local, "local"}, why);
}

int registry::create_ipcp(const std::string& name, ipcp_type type, pid_t& id, std::string& why)
{
    if (int rc = runtime::check_name(name, why, "IPCP name"); rc < 0)
        return rc;
    if (!modelled(type)) {
        why = std::string(type_name(type)) +
              " IPCPs are not supported by the embedded runtime, which models local and "
              "broadcast layers only (use the real Ouroboros, the system backend)";
        return -ENOTSUP;
    }
    for (const auto& [_, ipcp] : ipcps_)
        if (ipcp.name == name) {
            why = "an IPCP named " + quoted(name) + " exists already (pid " +
                  std::to_string(ipcp.id) + ")";
            return -EEXIST;
        }
    id = next_ipcp_id_++;
    ipcps_[id] = ipcp_record{id, name, type, {}, ipcp_config{type}};
    ++generation_;
    return 0;
}

int registry::destroy_ipcp(pid_t id, std::string& why)
{
    if (ipcps_.erase(id) == 0) {
        why = no_ipcp(id);
        return -errc::ipcp;
    }
    for (auto& [_, n] : names_)
        n.registered_in.erase(id);
    ++generation_;
    return 0;
}

int registry::bootstrap_ipcp(pid_t id, const ipcp_config& conf, std::string& why)
{
    const ipcp_type type = conf.type;
    const std::string& layer = conf.layer;
    auto it = ipcps_.find(id);
    if (it == ipcps_.end()) {
        why = no_ipcp(id);
        return -errc::ipcp;
    }
    ipcp_record& ipcp = it->second;
    if (ipcp.type != type) {
        why = "IPCP " + std::to_string(id) + " is a " + type_name(ipcp.type) +
              " IPCP, the configuration is for a " + type_name(type) + " one";
        return -errc::ipcp_type;
    }
    if (int rc = runtime::check_name(layer, why, "layer name"); rc < 0)
        return rc;
    if (ipcp.layer == layer)
        return 0;
    if (!ipcp.layer.empty()) {
        why = "IPCP " + std::to_string(id) + " is bootstrapped already (layer " +
              quoted(ipcp.layer) + ")";
        return -errc::ipcp_state;
    }
    // One IPCP per layer: on a single host a second IPCP would be a second,
    // unconnected layer of the same name.
    if (const ipcp_record* other = ipcp_of_layer(layer)) {
        why = "layer " + quoted(layer) + " exists already (IPCP " + quoted(other->name) +
              ", pid " + std::to_string(other->id) + ")";
        return -EEXIST;
    }
    ipcp.layer = layer;
    ipcp.conf = conf;
    ++generation_;
    return 0;
}

const ipcp_record* registry::ipcp_of_layer(const std::string& layer) const
{
    for (const auto& [_, ipcp] : ipcps_)
        if (!ipcp.layer.empty() && ipcp.layer == layer)
            return &ipcp;
    return nullptr;
}

int registry::create_name(const name_info& info, std::string& why)
{
    const std::string& name = info.name;
    if (int rc = runtime::check_name(name, why); rc < 0)
        return rc;
    for (const auto* sec : {&info.server_sec, &info.client_sec})
        for (const auto& [path, what] : {std::pair{&sec->enc, "an encryption path"},
                                         std::pair{&sec->key, "a key path"},
                                         std::pair{&sec->crt, "a certificate path"}})
            if (int rc = runtime::check_name_path(*path, why, what); rc < 0)
                return rc;
    if (info.policy != load_balance::round_robin && info.policy != load_balance::spill) {
        why = "unknown load-balancing policy " + std::to_string(static_cast<int>(info.policy));
        return -EINVAL;
    }
    if (names_.count(name)) {
        why = "name " + quoted(name) + " exists already";
        return -EEXIST;
    }
    name_record rec;
    rec.name = name;
    rec.policy = info.policy;
    rec.server_sec = info.server_sec;
    rec.client_sec = info.client_sec;
    names_.emplace(name, std::move(rec));
    ++generation_;
    return 0;
}

int registry::destroy_name(const std::string& name, std::string& why)
{
    if (names_.erase(name) == 0) {
        why = "no name " + quoted(name);
        return -errc::name;
    }
    ++generation_;
    return 0;
}

int registry::reg_name(const std::string& name, pid_t ipcp, std::string& why)
{
    auto n = names_.find(name);
    if (n == names_.end()) {
        why = "no name " + quoted(name) + " (create it first)";
        return -errc::name;
    }
    auto i = ipcps_.find(ipcp);
    if (i == ipcps_.end()) {
        why = no_ipcp(ipcp);
        return -errc::ipcp;
    }
    if (i->second.layer.empty()) {
        why = "IPCP " + std::to_string(ipcp) + " is not bootstrapped into a layer";
        return -errc::ipcp_state;
    }
    if (i->second.type == ipcp_type::broadcast) {
        // As in Ouroboros: a broadcast layer has no directory; processes
        // join it with flow_join instead.
        why = "layer " + quoted(i->second.layer) +
              " is a broadcast layer: names cannot be registered in it (use flow_join)";
        return -ENOTSUP;
    }
    n->second.registered_in.insert(ipcp);
    ++generation_;
    return 0;
}

int registry::unreg_name(const std::string& name, pid_t ipcp, std::string& why)
{
    auto n = names_.find(name);
    if (n == names_.end()) {
        why = "no name " + quoted(name);
        return -errc::name;
    }
    if (n->second.registered_in.erase(ipcp) == 0) {
        why = ipcps_.count(ipcp) ? "name " + quoted(name) + " is not registered with IPCP " +
                                       std::to_string(ipcp)
                                 : no_ipcp(ipcp);
        return ipcps_.count(ipcp) ? -errc::name : -errc::ipcp;
    }
    ++generation_;
    return 0;
}

name_record* registry::name_for_binding(const std::string& name, std::string& why, int& rc)
{
    if ((rc = runtime::check_name(name, why)) < 0)
        return nullptr;
    if (!names_.count(name) && (rc = create_name(name_info{name, load_balance::spill}, why)) < 0)
        return nullptr;
    return &names_.at(name);
}

int registry::bind_process(pid_t pid, const std::string& name, std::string& why,
                           const std::string& program)
{
    int rc = 0;
    name_record* n = name_for_binding(name, why, rc);
    if (n == nullptr)
        return rc;
    auto& procs = n->processes;
    auto it = std::find_if(procs.begin(), procs.end(),
                           [pid](const process_binding& b) { return b.pid == pid; });
    if (it == procs.end())
        procs.push_back(process_binding{pid, program});
    else if (program.empty())
        it->program.clear(); // an explicit binding outlives the program's
    ++generation_;
    return 0;
}

int registry::unbind_process(pid_t pid, const std::string& name, std::string& why)
{
    auto of_pid = [pid](const process_binding& b) { return b.pid == pid; };
    if (name.empty()) {
        bool any = false;
        for (auto& [_, n] : names_)
            any |= erase_if(n.processes, of_pid);
        if (!any) {
            why = "process " + std::to_string(pid) + " is not bound to any name";
            return -errc::name;
        }
        ++generation_;
        return 0;
    }
    auto n = names_.find(name);
    if (n == names_.end()) {
        why = "no name " + quoted(name);
        return -errc::name;
    }
    if (!erase_if(n->second.processes, of_pid)) {
        why = "process " + std::to_string(pid) + " is not bound to " + quoted(name);
        return -errc::name;
    }
    ++generation_;
    return 0;
}

int registry::bind_program(const program_binding& prog, const std::string& name, std::string& why)
{
    int rc = 0;
    name_record* n = name_for_binding(name, why, rc);
    if (n == nullptr)
        return rc;
    for (const auto& p : n->programs)
        if (p.path == prog.path) {
            why = "program " + quoted(prog.path) + " is bound to " + quoted(name) +
                  " already (unbind it first to change its options or arguments)";
            return -EEXIST;
        }
    n->programs.push_back(prog);
    ++generation_;
    return 0;
}

int registry::unbind_program(const std::string& path, const std::string& name, std::string& why)
{
    auto is_prog = [&path](const program_binding& p) { return p.path == path; };
    auto via_prog = [&path](const process_binding& b) { return b.program == path; };
    bool any = false;
    for (auto& [n_name, n] : names_) {
        if (!name.empty() && n_name != name)
            continue;
        if (erase_if(n.programs, is_prog)) {
            any = true;
            erase_if(n.processes, via_prog);
        }
    }
    if (!any) {
        why = "program " + quoted(path) + " is not bound to " +
              (name.empty() ? std::string("any name") : quoted(name));
        return -errc::name;
    }
    ++generation_;
    return 0;
}

std::vector<std::string> registry::names_of_program(const std::string& path) const
{
    std::vector<std::string> out;
    for (const auto& [name, n] : names_)
        for (const auto& p : n.programs)
            if (p.path == path)
                out.push_back(name);
    return out;
}

const program_binding* registry::auto_program(const std::string& name) const
{
    auto n = names_.find(name);
    if (n == names_.end())
        return nullptr;
    for (const auto& p : n->second.programs)
        if (p.opts & bind_auto)
            return &p;
    return nullptr;
}

void registry::forget_process(pid_t pid)
{
    bool any = false;
    for (auto& [_, n] : names_)
        any |= erase_if(n.processes, [pid](const process_binding& b) { return b.pid == pid; });
    if (any)
        ++generation_;
}

bool registry::has_bindings(pid_t pid) const
{
    for (const auto& [name, _] : names_)
        if (serves(pid, name))
            return true;
    return false;
}

bool registry::serves(pid_t pid, const std::string& name) const
{
    auto n = names_.find(name);
    if (n == names_.end())
        return false;
    const auto& procs = n->second.processes;
    return std::any_of(procs.begin(), procs.end(),
                       [pid](const process_binding& b) { return b.pid == pid; });
}

int registry::servers_for(const std::string& name, std::vector<pid_t>& out, std::string& why) const
{
    out.clear();
    auto n = names_.find(name);
    if (n == names_.end()) {
        why = "unknown name " + quoted(name) + ": it was never created or bound";
        return -errc::name;
    }
    const name_record& rec = n->second;
    if (rec.registered_in.empty()) {
        why = "name " + quoted(name) + " is not registered in any layer (register it with reg_name)";
        return -errc::name;
    }
    if (rec.processes.empty()) {
        if (auto_program(name) != nullptr)
            return 0; // the program starts when nobody accepts
        why = "no process is bound to name " + quoted(name) +
              " (bind one with bind_process, or an auto-started program with bind_program)";
        return -errc::name;
    }
    const std::size_t count = rec.processes.size();
    // Round robin starts after the last process served; spill always
    // prefers the first bound process that can take the flow.
    const std::size_t start = rec.policy == load_balance::round_robin ? rec.next % count : 0;
    for (std::size_t i = 0; i < count; ++i)
        out.push_back(rec.processes[(start + i) % count].pid);
    return 0;
}

void registry::served(const std::string& name, pid_t pid)
{
    auto n = names_.find(name);
    if (n == names_.end())
        return;
    auto& procs = n->second.processes;
    auto it = std::find_if(procs.begin(), procs.end(),
                           [pid](const process_binding& b) { return b.pid == pid; });
    if (it != procs.end())
        n->second.next = static_cast<std::size_t>(it - procs.begin()) + 1;
}

registry_image registry::image() const
{
    registry_image img;
    img.generation = generation_;
    img.next_ipcp_id = next_ipcp_id_;
    for (const auto& [_, ipcp] : ipcps_)
        img.ipcps.push_back(ipcp);
    for (const auto& [_, n] : names_)
        img.names.push_back(n);
    return img;
}

int registry::restore(const registry_image& img, std::string& why)
{
    registry r;
    r.ipcps_.clear();
    auto fail = [&why](const std::string& what, int) {
        why = what + ": " + why;
        return -EINVAL;
    };
    for (const ipcp_record& ipcp : img.ipcps) {
        if (ipcp.id < first_ipcp_id || r.ipcps_.count(ipcp.id)) {
            why = "bad id";
            return fail("IPCP " + std::to_string(ipcp.id), -EINVAL);
        }
        pid_t id = 0;
        r.next_ipcp_id_ = ipcp.id;
        if (int rc = r.create_ipcp(ipcp.name, ipcp.type, id, why); rc < 0)
            return fail("IPCP " + std::to_string(ipcp.id), rc);
        if (!ipcp.layer.empty()) {
            if (ipcp.conf.layer != ipcp.layer || ipcp.conf.type != ipcp.type) {
                why = "its configuration is not its layer's";
                return fail("IPCP " + std::to_string(ipcp.id), -EINVAL);
            }
            if (int rc = r.bootstrap_ipcp(id, ipcp.conf, why); rc < 0)
                return fail("IPCP " + std::to_string(ipcp.id), rc);
        }
    }
    for (const name_record& n : img.names) {
        name_info info = n.info();
        if (int rc = r.create_name(info, why); rc < 0)
            return fail("name " + quoted(n.name), rc);
        for (pid_t ipcp : n.registered_in)
            if (int rc = r.reg_name(n.name, ipcp, why); rc < 0)
                return fail("name " + quoted(n.name), rc);
        for (const program_binding& prog : n.programs) {
            // What server_irm.cpp checks before it binds (but that the
            // file exists: a program deleted since stays bound).
            if (prog.path.empty() || prog.path[0] != '/' ||
                (!prog.interpreter.empty() && prog.interpreter[0] != '/') ||
                (prog.opts & ~bind_auto) != 0) {
                why = "program binding " + quoted(prog.path) + " is not one a request could make";
                return fail("name " + quoted(n.name), -EINVAL);
            }
            if (int rc = r.bind_program(prog, n.name, why); rc < 0)
                return fail("name " + quoted(n.name), rc);
        }
        for (const process_binding& proc : n.processes) {
            if (proc.pid <= 0) {
                why = "bad pid " + std::to_string(proc.pid);
                return fail("name " + quoted(n.name), -EINVAL);
            }
            if (int rc = r.bind_process(proc.pid, n.name, why, proc.program); rc < 0)
                return fail("name " + quoted(n.name), rc);
        }
    }
    pid_t next = first_ipcp_id;
    for (const auto& [id, _] : r.ipcps_)
        next = std::max(next, id + 1);
    r.next_ipcp_id_ = std::max(next, img.next_ipcp_id);
    // Changed, for a listing in parts that spans a restart.
    r.generation_ = img.generation + 1;
    *this = std::move(r);
    return 0;
}

} // namespace ouroboros::daemon
