// registry.hpp - the daemon's model of IPCPs, names and bindings.
//
// Pure bookkeeping, no I/O. Every mutator returns 0 or -errno and leaves a
// sentence for the user in `why` on failure.
#pragma once

#include <o7s/irm.hpp>

#include <sys/types.h>

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace ouroboros::daemon {

// Embedded IPCPs are not processes; their ids start above the largest pid
// Linux can hand out (PID_MAX_LIMIT), so they never collide with one.
inline constexpr pid_t first_ipcp_id = 4194304 + 1;
inline constexpr std::size_t max_name_length = 255;

struct ipcp_record {
    pid_t id = 0;
    std::string name;
    ipcp_type type = ipcp_type::local;
    std::string layer; // empty until bootstrapped
};

struct name_record {
    std::string name;
    load_balance policy = load_balance::round_robin;
    std::set<pid_t> registered_in; // IPCP ids
    std::vector<pid_t> processes;   // bound processes, in binding order
    std::size_t next = 0;           // round-robin position
};

class registry {
public:
    // Starts with one local IPCP bootstrapped into the layer "local", so a
    // fresh runtime can register names without set-up.
    registry();

    int create_ipcp(const std::string& name, ipcp_type type, pid_t& id, std::string& why);
    int destroy_ipcp(pid_t id, std::string& why);
    int bootstrap_ipcp(pid_t id, ipcp_type type, const std::string& layer, std::string& why);
    const std::map<pid_t, ipcp_record>& ipcps() const { return ipcps_; }

    int create_name(const std::string& name, load_balance policy, std::string& why);
    int destroy_name(const std::string& name, std::string& why);
    int reg_name(const std::string& name, pid_t ipcp, std::string& why);
    int unreg_name(const std::string& name, pid_t ipcp, std::string& why);
    const std::map<std::string, name_record>& names() const { return names_; }

    // Like the IRMd, binding a process to a name that does not exist yet
    // creates the name (with the spill policy).
    int bind_process(pid_t pid, const std::string& name, std::string& why);
    int unbind_process(pid_t pid, const std::string& name, std::string& why);
    // Drops every binding of a process that exited.
    void forget_process(pid_t pid);
    bool has_bindings(pid_t pid) const;
    bool serves(pid_t pid, const std::string& name) const;

    // The processes a flow to `name` may reach, in the order the name's
    // load-balancing policy prefers; fails with the missing step.
    int servers_for(const std::string& name, std::vector<pid_t>& out, std::string& why) const;
    // Tells the policy that `pid` got a flow for `name`.
    void served(const std::string& name, pid_t pid);

    static int check_name(const std::string& name, std::string& why);

private:
    std::map<pid_t, ipcp_record> ipcps_;
    std::map<std::string, name_record> names_;
    pid_t next_ipcp_id_ = first_ipcp_id;
};

} // namespace ouroboros::daemon
