// registry.hpp - the daemon's model of IPCPs, names and bindings.
//
// Pure bookkeeping, no I/O. Every mutator returns 0 or -errno and leaves a
// sentence for the user in `why` on failure.
#pragma once

#include <o7s/irm.hpp>

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace ouroboros::daemon {

// Embedded IPCPs are not processes; their ids start above the largest pid
// Linux can hand out (PID_MAX_LIMIT), so they never collide with one.
inline constexpr pid_t first_ipcp_id = 4194304 + 1;

// The records list their fields (runtime/codec.hpp) for the state file
// (state_file.hpp), which keeps them across a daemon crash.
struct ipcp_record {
    pid_t id = 0;
    std::string name;
    ipcp_type type = ipcp_type::local;
    std::string layer; // empty until bootstrapped
    ipcp_config conf;  // as bootstrapped; only type and layer are used
    template <class S, class V> static void fields(S& s, V&& v)
    {
        v("id", s.id);
        v("name", s.name);
        v("type", s.type);
        v("layer", s.layer);
        v("conf", s.conf);
    }
};

struct name_record {
    std::string name;
    load_balance policy = load_balance::round_robin;
    name_sec_paths server_sec, client_sec;  // kept, unused
    std::set<pid_t> registered_in;          // IPCP ids
    std::vector<process_binding> processes; // in binding order
    std::vector<program_binding> programs;  // in binding order
    std::size_t next = 0;                   // round-robin position (not kept)

    template <class S, class V> static void fields(S& s, V&& v)
    {
        v("name", s.name);
        v("policy", s.policy);
        v("server_sec", s.server_sec);
        v("client_sec", s.client_sec);
        v("registered_in", s.registered_in);
        v("processes", s.processes);
        v("programs", s.programs);
    }

    name_info info() const
    {
        name_info i{name, policy};
        i.server_sec = server_sec;
        i.client_sec = client_sec;
        return i;
    }
};

// Everything a registry holds but round-robin positions: what the state
// file keeps.
struct registry_image {
    std::uint64_t generation = 0;
    pid_t next_ipcp_id = 0;
    std::vector<ipcp_record> ipcps;
    std::vector<name_record> names;
    template <class S, class V> static void fields(S& s, V&& v)
    {
        v("generation", s.generation);
        v("next_ipcp_id", s.next_ipcp_id);
        v("ipcps", s.ipcps);
        v("names", s.names);
    }
};

class registry {
public:
    // Starts with one local IPCP bootstrapped into the layer "local", so a
    // fresh runtime can register names without set-up.
    registry();

    int create_ipcp(const std::string& name, ipcp_type type, pid_t& id, std::string& why);
    // Also unregisters every name from it.
    int destroy_ipcp(pid_t id, std::string& why);
    // Bootstrapping an IPCP again into the layer it is in succeeds, so
    // set-up scripts also run against the default "local" IPCP. The IPCP
    // keeps the configuration of its first bootstrap.
    int bootstrap_ipcp(pid_t id, const ipcp_config& conf, std::string& why);
    const std::map<pid_t, ipcp_record>& ipcps() const { return ipcps_; }
    // The bootstrapped IPCP of `layer`, or nullptr.
    const ipcp_record* ipcp_of_layer(const std::string& layer) const;

    int create_name(const name_info& info, std::string& why);
    int destroy_name(const std::string& name, std::string& why);
    int reg_name(const std::string& name, pid_t ipcp, std::string& why);
    int unreg_name(const std::string& name, pid_t ipcp, std::string& why);
    const std::map<std::string, name_record>& names() const { return names_; }

    // Like the IRMd, binding a process or program to a name that does not
    // exist yet creates the name (with the spill policy). `program` is the
    // program binding that bound the process, empty for bind_process.
    int bind_process(pid_t pid, const std::string& name, std::string& why,
                     const std::string& program = {});
    // An empty name unbinds the process from every name.
    int unbind_process(pid_t pid, const std::string& name, std::string& why);
    int bind_program(const program_binding& prog, const std::string& name, std::string& why);
    // An empty name unbinds the program from every name. Processes bound
    // because they run the program lose those bindings too.
    int unbind_program(const std::string& path, const std::string& name, std::string& why);
    // The names the program at `path` is bound to.
    std::vector<std::string> names_of_program(const std::string& path) const;
    // The first auto-start program bound to `name`, or nullptr.
    const program_binding* auto_program(const std::string& name) const;

    // Drops every binding of a process that exited.
    void forget_process(pid_t pid);
    bool has_bindings(pid_t pid) const;
    bool serves(pid_t pid, const std::string& name) const;

    // The processes a flow to `name` may reach, in the order the name's
    // load-balancing policy prefers; fails with the missing step. Empty
    // (and 0) when only an auto-start program serves the name.
    int servers_for(const std::string& name, std::vector<pid_t>& out, std::string& why) const;
    // Tells the policy that `pid` got a flow for `name`.
    void served(const std::string& name, pid_t pid);

    // Changes with every change of names, registrations or bindings, so a
    // listing in several parts can tell whether it is consistent.
    std::uint64_t generation() const { return generation_; }

    registry_image image() const;
    // Replaces this registry with `img`, made again through the mutators,
    // so it holds only what requests could have made. Fails (and changes
    // nothing) on anything else: -EINVAL with the reason in `why`.
    int restore(const registry_image& img, std::string& why);

private:
    // The record of `name`, created (spill policy) when missing.
    name_record* name_for_binding(const std::string& name, std::string& why, int& rc);

    std::map<pid_t, ipcp_record> ipcps_;
    std::map<std::string, name_record> names_;
    pid_t next_ipcp_id_ = first_ipcp_id;
    std::uint64_t generation_ = 1;
};

} // namespace ouroboros::daemon
