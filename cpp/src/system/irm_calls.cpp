// irm_calls.cpp - the IRM part of the backend, over irm_shim.c.
//
// Each call asks first whether the IRMd answers (irmd_gone()): the library
// connects without a timeout, which waits forever once the IRMd died while
// its IPCPs, which inherit its listening socket, keep that socket open.
//
// libouroboros-irm answers many refusals with a bare -1, which reads as
// -EPERM; where a cheap look-up tells what went wrong, the backend reports
// the code the embedded runtime uses for the same mistake.
#include "system_irm.hpp"

#include "errno_map.hpp"
#include "irm_shim.h"

#include <o7s/error.hpp>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>

// The configuration irm_shim.c reads, by field path (irm_shim.h).
struct o7s_irm_conf {
    explicit o7s_irm_conf(const ouroboros::ipcp_config& conf) { add(conf, ""); }

    std::map<std::string, long long> numbers;
    std::map<std::string, std::string> strings;
    mutable std::string unknown; // the first path asked for that is no field

    template <class T> void add(const T& part, const std::string& prefix)
    {
        T::fields(part, [&](const char* name, const auto& m) {
            using M = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<M, std::string>)
                strings[prefix + name] = m;
            else if constexpr (std::is_integral_v<M> || std::is_enum_v<M>)
                numbers[prefix + name] = static_cast<long long>(m);
            else
                add(m, prefix + name + ".");
        });
    }

    void missing(const char* path) const
    {
        if (unknown.empty())
            unknown = path;
    }
};

extern "C" long long o7s_irm_conf_int(const o7s_irm_conf* conf, const char* path)
{
    auto it = conf->numbers.find(path);
    if (it != conf->numbers.end())
        return it->second;
    conf->missing(path);
    return 0;
}

extern "C" const char* o7s_irm_conf_str(const o7s_irm_conf* conf, const char* path)
{
    auto it = conf->strings.find(path);
    if (it != conf->strings.end())
        return it->second.c_str();
    conf->missing(path);
    return "";
}

extern "C" int o7s_irm_conf_failed(const o7s_irm_conf* conf)
{
    return conf->unknown.empty() ? 0 : 1;
}

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

bool name_exists(const std::string& name)
{
    std::vector<name_info> all;
    read_names(all);
    for (const auto& info : all)
        if (info.name == name)
            return true;
    return false;
}

// True when process pid has libouroboros-dev loaded (so the IRMd knows it).
bool uses_ouroboros(pid_t pid)
{
    std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
    for (std::string line; std::getline(maps, line);)
        if (line.find("libouroboros-dev") != std::string::npos)
            return true;
    return false;
}

// -errc::ipcp when the process of IPCP pid is gone though the IRMd still
// lists it (it crashed or was killed); 0 otherwise.
int dead_ipcp(pid_t pid)
{
    // A zombie (its IRMd has not reaped it yet) counts as gone.
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const std::size_t paren = text.rfind(')');
    const char state = paren != std::string::npos && paren + 2 < text.size() ? text[paren + 2] : 'X';
    if (state != 'Z' && state != 'X')
        return 0;
    set_error_detail("IPCP " + std::to_string(pid) + " is not running (it died; the IRMd still "
                     "lists it): destroy it and make a new one");
    return -errc::ipcp;
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
    if (!name_exists(name))
        return no_name(name);
    return irmd_failure();
}

// A result of enroll_ipcp() or connect_ipcp(): the IPCP reaches `dst` by
// allocating a flow to it, so -1 (the IRMd's "no") has a few likely causes
// the IRMd does not tell apart; say which one this is where we can.
int reach_result(int rc, pid_t pid, const std::string& dst, bool enroll)
{
    if (rc != -1 && rc != -EPERM)
        return from_library(rc);
    std::vector<ipcp_info> all;
    if (read_ipcps(all) < 0)
        return irmd_failure(); // the IRMd is gone
    auto info = std::find_if(all.begin(), all.end(),
                             [&](const ipcp_info& i) { return i.pid == pid; });
    if (info == all.end())
        return no_ipcp(pid);
    if (int dead = dead_ipcp(pid); dead < 0)
        return dead;
    const std::string ipcp = "IPCP " + std::to_string(pid);
    if (enroll && !info->layer.empty()) {
        set_error_detail(ipcp + " is in layer '" + info->layer + "' already");
        return -errc::ipcp_state;
    }
    if (!enroll && info->layer.empty()) {
        set_error_detail(ipcp + " is not in a layer: bootstrap or enroll it first");
        return -errc::ipcp_state;
    }
    // From 0.22 the IRMd allocates flows only to names it knows.
    if (OUROBOROS_VERSION_MINOR >= 22 && !name_exists(dst)) {
        set_error_detail("the IRMd does not know the name '" + dst + "': create it on this "
                         "node first (irm.create_name); the IPCP " +
                         (enroll ? "enrolls" : "connects") + " by allocating a flow to it");
        return -errc::name;
    }
    set_error_detail(ipcp + " could not reach '" + dst + "' through its lower layers (the "
                     "IRMd's log says more): is '" + dst + "' registered in a lower layer at "
                     "the other end, bound to its IPCP, and, over UDP, is the MD5 hash of '" +
                     dst + "' in this node's /etc/hosts? The first allocations over a new "
                     "lower layer also fail now and then: try again");
    return -EPERM;
}

std::string base_name(const std::string& path)
{
    std::size_t slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

} // namespace

int system_irm::create_ipcp(const std::string& name, ipcp_type type, pid_t& pid)
{
    if (int gone = irmd_gone(); gone < 0)
        return gone;
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

int system_irm::destroy_ipcp(pid_t pid)
{
    if (int gone = irmd_gone(); gone < 0)
        return gone;
    return ipcp_result(o7s_irm_destroy_ipcp(pid), pid);
}

int system_irm::list_ipcps(std::vector<ipcp_info>& out)
{
    if (int gone = irmd_gone(); gone < 0)
        return gone;
    ssize_t n = read_ipcps(out);
    return n >= 0 ? 0 : n == -1 ? irmd_failure() : from_library(static_cast<int>(n));
}

int system_irm::bootstrap_ipcp(pid_t pid, const ipcp_config& conf)
{
    if (int gone = irmd_gone(); gone < 0)
        return gone;
    const bool v6 = conf.type == ipcp_type::udp6;
    o7s_irm_conf c(conf);
    int rc = o7s_irm_bootstrap_ipcp(pid, &c);
    if (!c.unknown.empty()) {
        set_error_detail("the system backend asked for '" + c.unknown +
                         "', which is no field of the IPCP configuration");
        return rc;
    }
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

int system_irm::enroll_ipcp(pid_t pid, const std::string& dst)
{
    if (int gone = irmd_gone(); gone < 0)
        return gone;
    return reach_result(o7s_irm_enroll_ipcp(pid, dst.c_str()), pid, dst, true);
}

int system_irm::connect_ipcp(pid_t pid, const std::string& dst, const std::string& component,
                                 const qos_spec& qos)
{
    if (int gone = irmd_gone(); gone < 0)
        return gone;
    o7s_irm_qos q{qos.delay,   qos.bandwidth, qos.availability, qos.loss,   qos.ber,
                  qos.in_order, qos.max_gap,  qos.cypher_s,     qos.timeout};
    return reach_result(o7s_irm_connect_ipcp(pid, dst.c_str(), component.c_str(), &q), pid, dst,
                        false);
}

int system_irm::disconnect_ipcp(pid_t pid, const std::string& dst, const std::string& component)
{
    if (int gone = irmd_gone(); gone < 0)
        return gone;
    return ipcp_result(o7s_irm_disconnect_ipcp(pid, dst.c_str(), component.c_str()), pid);
}

int system_irm::bind_program(const std::string& prog, const std::string& name,
                                 std::uint16_t opts, const std::vector<std::string>& argv)
{
    if (int gone = irmd_gone(); gone < 0)
        return gone;
    std::vector<char*> args;
    for (const auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    // `prog` is absolute (the wrappers resolve it), so the library does not
    // search $PATH, which it does by writing into the environment.
    int rc = o7s_irm_bind_program(prog.c_str(), name.c_str(), opts, static_cast<int>(argv.size()),
                                  args.data());
    if (rc != -1)
        return from_library(rc);
    rc = irmd_failure();
    if (rc == -EPERM)
        set_error_detail("the IRMd refused to bind '" + prog + "' to '" + name + "': it refuses "
                         "a program bound to the name already (its log says why)");
    return rc;
}

template <class Unbind> int system_irm::unbind_everywhere(Unbind&& unbind)
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

int system_irm::unbind_program(const std::string& prog, const std::string& name)
{
    if (int gone = irmd_gone(); gone < 0)
        return gone;
    // The IRMd keys programs by their base name.
    const std::string key = base_name(prog);
    if (name.empty())
        return unbind_everywhere([&](const std::string& n) {
            o7s_irm_unbind_program(key.c_str(), n.c_str());
        });
    return name_result(o7s_irm_unbind_program(key.c_str(), name.c_str()), name);
}

bool system_irm::knows_name(const std::string& name) const
{
    return name_exists(name);
}

bool system_irm::bound_to_self(const std::string& name) const
{
    std::lock_guard<std::mutex> lock(self_names_m_);
    return self_names_.count(name) > 0;
}

int system_irm::bind_process(pid_t pid, const std::string& name)
{
    if (int gone = irmd_gone(); gone < 0)
        return gone;
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
    if (uses_ouroboros(pid)) {
        // Known to the IRMd, which refuses a second binding.
        set_error_detail("process " + std::to_string(pid) + " is bound to '" + name +
                         "' already");
        return -EEXIST;
    }
    set_error_detail("process " + std::to_string(pid) + " is not known to the IRMd: only "
                     "processes that use Ouroboros (libouroboros-dev) can be bound");
    return -ESRCH;
}

int system_irm::unbind_process(pid_t pid, const std::string& name)
{
    if (int gone = irmd_gone(); gone < 0)
        return gone;
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

int system_irm::create_name(const name_info& info)
{
    if (int gone = irmd_gone(); gone < 0)
        return gone;
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

int system_irm::destroy_name(const std::string& name)
{
    if (int gone = irmd_gone(); gone < 0)
        return gone;
    int rc = name_result(o7s_irm_destroy_name(name.c_str()), name);
    if (rc == 0) {
        std::lock_guard<std::mutex> lock(self_names_m_);
        self_names_.erase(name); // its bindings went with it
    }
    return rc;
}

int system_irm::list_names(std::vector<name_info>& out)
{
    if (int gone = irmd_gone(); gone < 0)
        return gone;
    ssize_t n = read_names(out);
    return n >= 0 ? 0 : n == -1 ? irmd_failure() : from_library(static_cast<int>(n));
}

int system_irm::reg_name(const std::string& name, pid_t ipcp_pid)
{
    if (int gone = irmd_gone(); gone < 0)
        return gone;
    int rc = o7s_irm_reg_name(name.c_str(), ipcp_pid);
    if (rc != -1)
        return from_library(rc);
    if (!name_exists(name))
        return no_name(name);
    if (!find_ipcp([&](const ipcp_info& i) { return i.pid == ipcp_pid; }))
        return no_ipcp(ipcp_pid);
    if (int dead = dead_ipcp(ipcp_pid); dead < 0)
        return dead;
    rc = irmd_failure();
    if (rc == -EPERM)
        set_error_detail("IPCP " + std::to_string(ipcp_pid) + " refused to register '" + name +
                         "' or did not answer in time (the IRMd's log says which; an IPCP "
                         "that is not in a layer cannot register names)");
    return rc;
}

int system_irm::unreg_name(const std::string& name, pid_t ipcp_pid)
{
    if (int gone = irmd_gone(); gone < 0)
        return gone;
    int rc = o7s_irm_unreg_name(name.c_str(), ipcp_pid);
    return rc == -1 ? name_result(rc, name) : from_library(rc);
}

} // namespace ouroboros::system
