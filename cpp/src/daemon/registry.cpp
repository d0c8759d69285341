// registry.cpp - IPCPs, names and bindings of the embedded runtime.
#include "registry.hpp"

#include <o7s/error.hpp>

#include <algorithm>
#include <cerrno>

namespace ouroboros::daemon {
namespace {

std::string quoted(const std::string& s)
{
    return "'" + s + "'";
}

bool modelled(ipcp_type t)
{
    return t == ipcp_type::local || t == ipcp_type::broadcast;
}

} // namespace

registry::registry()
{
    pid_t id = 0;
    std::string why;
    create_ipcp("local", ipcp_type::local, id, why);
    bootstrap_ipcp(id, ipcp_type::local, "local", why);
}

int registry::check_name(const std::string& name, std::string& why)
{
    if (name.empty()) {
        why = "a name cannot be empty";
        return -EINVAL;
    }
    if (name.size() > max_name_length) {
        why = "name is " + std::to_string(name.size()) + " bytes long, the limit is " +
              std::to_string(max_name_length);
        return -ENAMETOOLONG;
    }
    if (name.find('\0') != std::string::npos) {
        why = "a name cannot contain a NUL character";
        return -EINVAL;
    }
    return 0;
}

int registry::create_ipcp(const std::string& name, ipcp_type type, pid_t& id, std::string& why)
{
    if (int rc = check_name(name, why); rc < 0)
        return rc;
    if (!modelled(type)) {
        why = "the embedded runtime models local and broadcast IPCPs only";
        return -errc::ipcp_type;
    }
    for (const auto& [_, ipcp] : ipcps_)
        if (ipcp.name == name) {
            why = "an IPCP named " + quoted(name) + " exists already";
            return -EEXIST;
        }
    id = next_ipcp_id_++;
    ipcps_[id] = ipcp_record{id, name, type, {}};
    return 0;
}

int registry::destroy_ipcp(pid_t id, std::string& why)
{
    if (ipcps_.erase(id) == 0) {
        why = "no IPCP with pid " + std::to_string(id);
        return -errc::ipcp;
    }
    for (auto& [_, n] : names_)
        n.registered_in.erase(id);
    return 0;
}

int registry::bootstrap_ipcp(pid_t id, ipcp_type type, const std::string& layer, std::string& why)
{
    auto it = ipcps_.find(id);
    if (it == ipcps_.end()) {
        why = "no IPCP with pid " + std::to_string(id);
        return -errc::ipcp;
    }
    if (it->second.type != type) {
        why = "IPCP " + std::to_string(id) + " is not of the type in the configuration";
        return -errc::ipcp_type;
    }
    if (!it->second.layer.empty()) {
        why = "IPCP " + std::to_string(id) + " is bootstrapped already (layer " +
              quoted(it->second.layer) + ")";
        return -errc::ipcp_state;
    }
    if (int rc = check_name(layer, why); rc < 0)
        return rc;
    it->second.layer = layer;
    return 0;
}

int registry::create_name(const std::string& name, load_balance policy, std::string& why)
{
    if (int rc = check_name(name, why); rc < 0)
        return rc;
    if (names_.count(name)) {
        why = "name " + quoted(name) + " exists already";
        return -EEXIST;
    }
    name_record rec;
    rec.name = name;
    rec.policy = policy;
    names_.emplace(name, std::move(rec));
    return 0;
}

int registry::destroy_name(const std::string& name, std::string& why)
{
    if (names_.erase(name) == 0) {
        why = "no name " + quoted(name);
        return -errc::name;
    }
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
        why = "no IPCP with pid " + std::to_string(ipcp);
        return -errc::ipcp;
    }
    if (i->second.layer.empty()) {
        why = "IPCP " + std::to_string(ipcp) + " is not bootstrapped into a layer";
        return -errc::ipcp_state;
    }
    n->second.registered_in.insert(ipcp);
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
        why = "name " + quoted(name) + " is not registered with IPCP " + std::to_string(ipcp);
        return -errc::name;
    }
    return 0;
}

int registry::bind_process(pid_t pid, const std::string& name, std::string& why)
{
    if (int rc = check_name(name, why); rc < 0)
        return rc;
    auto n = names_.find(name);
    if (n == names_.end()) {
        create_name(name, load_balance::spill, why);
        n = names_.find(name);
    }
    auto& procs = n->second.processes;
    if (std::find(procs.begin(), procs.end(), pid) == procs.end())
        procs.push_back(pid);
    return 0;
}

int registry::unbind_process(pid_t pid, const std::string& name, std::string& why)
{
    auto n = names_.find(name);
    if (n == names_.end()) {
        why = "no name " + quoted(name);
        return -errc::name;
    }
    auto& procs = n->second.processes;
    auto it = std::find(procs.begin(), procs.end(), pid);
    if (it == procs.end()) {
        why = "process " + std::to_string(pid) + " is not bound to " + quoted(name);
        return -errc::name;
    }
    procs.erase(it);
    return 0;
}

void registry::forget_process(pid_t pid)
{
    for (auto& [_, n] : names_)
        n.processes.erase(std::remove(n.processes.begin(), n.processes.end(), pid),
                          n.processes.end());
}

bool registry::has_bindings(pid_t pid) const
{
    for (const auto& [_, n] : names_)
        if (std::find(n.processes.begin(), n.processes.end(), pid) != n.processes.end())
            return true;
    return false;
}

bool registry::serves(pid_t pid, const std::string& name) const
{
    auto n = names_.find(name);
    return n != names_.end() &&
           std::find(n->second.processes.begin(), n->second.processes.end(), pid) !=
               n->second.processes.end();
}

int registry::servers_for(const std::string& name, std::vector<pid_t>& out, std::string& why) const
{
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
        why = "no process is bound to name " + quoted(name) + " (bind one with bind_process)";
        return -errc::name;
    }
    out.clear();
    const std::size_t count = rec.processes.size();
    // Round robin starts after the last process served; spill always
    // prefers the first bound process that can take the flow.
    const std::size_t start = rec.policy == load_balance::round_robin ? rec.next % count : 0;
    for (std::size_t i = 0; i < count; ++i)
        out.push_back(rec.processes[(start + i) % count]);
    return 0;
}

void registry::served(const std::string& name, pid_t pid)
{
    auto n = names_.find(name);
    if (n == names_.end())
        return;
    auto& procs = n->second.processes;
    auto it = std::find(procs.begin(), procs.end(), pid);
    if (it != procs.end())
        n->second.next = static_cast<std::size_t>(it - procs.begin()) + 1;
}

} // namespace ouroboros::daemon
