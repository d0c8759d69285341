// irm_calls.cpp - the IRM part of the backend, over irm_shim.c.
//
// libouroboros-irm answers many refusals with a bare -1, which reads as
// -EPERM; where a cheap look-up tells what went wrong, the backend reports
// the code the embedded runtime uses for the same mistake.
#include "system_backend.hpp"

#include "errno_map.hpp"
#include "irm_shim.h"

#include <o7s/error.hpp>

#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>

namespace ouroboros::system {
namespace {

using detail::set_error_detail;

struct shim_free {
    void operator()(void* p) const noexcept { o7s_irm_free(p); }
};

// The IRMd's IPCPs and names; a negative library result on failure.
ssize_t read_ipcps(std::vector<ipcp_info>& out)
{
    struct o7s_irm_ipcp* raw = nullptr;
    ssize_t n = o7s_irm_list_ipcps(&raw);
    std::unique_ptr<o7s_irm_ipcp, shim_free> list(raw);
    out.clear();
    for (ssize_t i = 0; i < n; ++i)
        out.push_back({raw[i].pid, static_cast<ipcp_type>(raw[i].type), raw[i].name, raw[i].layer});
    return n;
}

ssize_t read_names(std::vector<name_info>& out)
{
    struct o7s_irm_name* raw = nullptr;
    ssize_t n = o7s_irm_list_names(&raw);
    std::unique_ptr<o7s_irm_name, shim_free> list(raw);
    out.clear();
    for (ssize_t i = 0; i < n; ++i)
        out.push_back({raw[i].name, static_cast<load_balance>(raw[i].policy)});
    return n;
}

std::optional<ipcp_info> find_ipcp(const std::function<bool(const ipcp_info&)>& match)
{
    std::vector<ipcp_info> all;
    read_ipcps(all);
    for (const auto& info : all)
        if (match(info))
            return info;
    return std::nullopt;
}

int no_ipcp(pid_t pid)
{
    set_error_detail("no IPCP has pid " + std::to_string(pid));
    return -errc::ipcp;
}

int no_name(const std::string& name)
{
    set_error_detail("the IRMd knows no name '" + name + "'");
    return -errc::name;
}

// A result of an IPCP request: -1 becomes "no such IPCP" where that is why.
int ipcp_result(int rc, pid_t pid)
{
    if (rc != -1)
        return from_library(rc);
    if (!find_ipcp([&](const ipcp_info& i) { return i.pid == pid; }))
        return no_ipcp(pid);
    return irmd_failure();
}

// A result of a name request: -1 becomes "no such name" where that is why.
int name_result(int rc, const std::string& name)
{
    if (rc != -1)
        return from_library(rc);
    if (!irmd_has_name(name))
        return no_name(name);
    return irmd_failure();
}

std::string base_name(const std::string& path)
{
    std::size_t slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

} // namespace

bool irmd_has_name(const std::string& name)
{
    std::vector<name_info> all;
    read_names(all);
    for (const auto& info : all)
        if (info.name == name)
            return true;
    return false;
}

int system_backend::create_ipcp(const std::string& name, ipcp_type type, pid_t& pid)
{
    auto named = [&](const ipcp_info& i) { return i.name == name; };
    int rc = o7s_irm_create_ipcp(name.c_str(), static_cast<int>(type));
    if (rc == -1 && find_ipcp(named)) {
        set_error_detail("an IPCP named '" + name + "' exists already");
        return -EEXIST;
    }
    if (rc < 0)
        return rc == -1 ? irmd_failure() : from_library(rc);
    // The library answers 0, not the pid: look the new IPCP up by name.
    auto info = find_ipcp(named);
    if (!info) {
        set_error_detail("the IRMd created IPCP '" + name + "' but does not list it");
        return -errc::ipcp;
    }
    pid = info->pid;
    return 0;
}

int system_backend::destroy_ipcp(pid_t pid)
{
    return ipcp_result(o7s_irm_destroy_ipcp(pid), pid);
}

int system_backend::list_ipcps(std::vector<ipcp_info>& out)
{
    ssize_t n = read_ipcps(out);
    return n >= 0 ? 0 : n == -1 ? irmd_failure() : from_library(static_cast<int>(n));
}

int system_backend::bootstrap_ipcp(pid_t pid, const ipcp_config& conf)
{
    const auto& uni = conf.unicast;
    const auto& ls = uni.dt.routing.ls;
    const auto& dht = uni.dir.dht;
    const bool v6 = conf.type == ipcp_type::udp6;
    const o7s_irm_ipcp_conf c{
        static_cast<int>(conf.type), conf.layer.c_str(), static_cast<int>(conf.dir_hash),
        uni.dt.addr_size, uni.dt.eid_size, uni.dt.max_ttl, static_cast<int>(ls.pol),
        ls.t_recalc, ls.t_update, ls.t_timeo,
        dht.alpha, dht.k, dht.t_expire, dht.t_refresh, dht.t_replicate,
        static_cast<int>(uni.addr_auth), static_cast<int>(uni.cong_avoid),
        conf.eth.dev.c_str(), conf.eth.ethertype,
        v6 ? conf.udp6.ip_addr.c_str() : conf.udp4.ip_addr.c_str(),
        v6 ? conf.udp6.dns_addr.c_str() : conf.udp4.dns_addr.c_str(),
        v6 ? conf.udp6.port : conf.udp4.port};
    int rc = o7s_irm_bootstrap_ipcp(pid, &c);
    if (rc == -EINVAL && (conf.type == ipcp_type::udp4 || v6))
        set_error_detail("the IP or DNS address is not an " + std::string(v6 ? "IPv6" : "IPv4") +
                         " address");
    if (rc != -1)
        return from_library(rc);
    auto info = find_ipcp([&](const ipcp_info& i) { return i.pid == pid; });
    if (!info)
        return no_ipcp(pid);
    if (info->type != conf.type) {
        set_error_detail("IPCP " + std::to_string(pid) + " is of another type");
        return -errc::ipcp_type;
    }
    if (!info->layer.empty()) {
        set_error_detail("IPCP " + std::to_string(pid) + " is in layer '" + info->layer +
                         "' already");
        return -errc::ipcp_state;
    }
    return irmd_failure();
}

int system_backend::enroll_ipcp(pid_t pid, const std::string& dst)
{
    return ipcp_result(o7s_irm_enroll_ipcp(pid, dst.c_str()), pid);
}

int system_backend::connect_ipcp(pid_t pid, const std::string& dst, const std::string& component,
                                 const qos_spec& qos)
{
    o7s_irm_qos q{qos.delay,   qos.bandwidth, qos.availability, qos.loss,   qos.ber,
                  qos.in_order, qos.max_gap,  qos.cypher_s,     qos.timeout};
    return ipcp_result(o7s_irm_connect_ipcp(pid, dst.c_str(), component.c_str(), &q), pid);
}

int system_backend::disconnect_ipcp(pid_t pid, const std::string& dst, const std::string& component)
{
    return ipcp_result(o7s_irm_disconnect_ipcp(pid, dst.c_str(), component.c_str()), pid);
}

int system_backend::bind_program(const std::string& prog, const std::string& name,
                                 std::uint16_t opts, const std::vector<std::string>& argv)
{
    std::vector<char*> args;
    for (const auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    // `prog` is absolute (the wrappers resolve it), so the library does not
    // search $PATH, which it does by writing into the environment.
    int rc = o7s_irm_bind_program(prog.c_str(), name.c_str(), opts, static_cast<int>(argv.size()),
                                  args.data());
    return rc == -1 ? irmd_failure() : from_library(rc);
}

template <class Unbind> int system_backend::unbind_everywhere(Unbind&& unbind)
{
    // The C API unbinds from one name at a time: try every name there is
    // (the IRMd logs the names it was not bound to).
    std::vector<name_info> names;
    ssize_t n = read_names(names);
    if (n < 0)
        return n == -1 ? irmd_failure() : from_library(static_cast<int>(n));
    for (const auto& info : names)
        unbind(info.name);
    return 0;
}

int system_backend::unbind_program(const std::string& prog, const std::string& name)
{
    // The IRMd keys programs by their base name.
    const std::string key = base_name(prog);
    if (name.empty())
        return unbind_everywhere([&](const std::string& n) {
            o7s_irm_unbind_program(key.c_str(), n.c_str());
        });
    return name_result(o7s_irm_unbind_program(key.c_str(), name.c_str()), name);
}

bool system_backend::bound_to_self(const std::string& name) const
{
    std::lock_guard<std::mutex> lock(self_names_m_);
    return self_names_.count(name) > 0;
}

int system_backend::bind_process(pid_t pid, const std::string& name)
{
    int rc = o7s_irm_bind_process(pid, name.c_str());
    if (rc == 0 && pid == ::getpid()) {
        std::lock_guard<std::mutex> lock(self_names_m_);
        self_names_.insert(name);
    }
    if (rc != -1)
        return from_library(rc);
    if (::kill(pid, 0) != 0 && errno == ESRCH) {
        set_error_detail("no process with pid " + std::to_string(pid));
        return -ESRCH;
    }
    set_error_detail("process " + std::to_string(pid) + " is not known to the IRMd: only "
                     "processes that use Ouroboros (libouroboros-dev) can be bound");
    return -ESRCH;
}

int system_backend::unbind_process(pid_t pid, const std::string& name)
{
    const bool self = pid == ::getpid();
    if (name.empty()) {
        if (self) {
            std::lock_guard<std::mutex> lock(self_names_m_);
            self_names_.clear();
        }
        return unbind_everywhere(
            [&](const std::string& n) { o7s_irm_unbind_process(pid, n.c_str()); });
    }
    int rc = name_result(o7s_irm_unbind_process(pid, name.c_str()), name);
    if (rc == 0 && self) {
        std::lock_guard<std::mutex> lock(self_names_m_);
        self_names_.erase(name);
    }
    return rc;
}

int system_backend::create_name(const name_info& info)
{
    const o7s_irm_sec_paths server{info.server_sec.enc.c_str(), info.server_sec.key.c_str(),
                                   info.server_sec.crt.c_str()};
    const o7s_irm_sec_paths client{info.client_sec.enc.c_str(), info.client_sec.key.c_str(),
                                   info.client_sec.crt.c_str()};
    const int policy = static_cast<int>(info.policy);
    int rc = o7s_irm_create_name(info.name.c_str(), policy, &server, &client);
    if (rc == -ENOTSUP)
        set_error_detail("Ouroboros " O7S_OUROBOROS_VERSION_STRING " has no security settings "
                         "per name (encryption is asked per flow there, with QoSSpec.cypher_s)");
    return rc == -1 ? irmd_failure() : from_library(rc);
}

int system_backend::destroy_name(const std::string& name)
{
    int rc = name_result(o7s_irm_destroy_name(name.c_str()), name);
    if (rc == 0) {
        std::lock_guard<std::mutex> lock(self_names_m_);
        self_names_.erase(name); // its bindings went with it
    }
    return rc;
}

int system_backend::list_names(std::vector<name_info>& out)
{
    ssize_t n = read_names(out);
    return n >= 0 ? 0 : n == -1 ? irmd_failure() : from_library(static_cast<int>(n));
}

int system_backend::reg_name(const std::string& name, pid_t ipcp_pid)
{
    int rc = o7s_irm_reg_name(name.c_str(), ipcp_pid);
    return rc == -1 ? name_result(rc, name) : from_library(rc);
}

int system_backend::unreg_name(const std::string& name, pid_t ipcp_pid)
{
    int rc = o7s_irm_unreg_name(name.c_str(), ipcp_pid);
    return rc == -1 ? name_result(rc, name) : from_library(rc);
}

} // namespace ouroboros::system
