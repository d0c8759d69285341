// o7s/irm.hpp - the IPC Resource Manager API: IPCPs, layers, names and
// bindings. Mirrors Ouroboros' irm.h; errors throw ouroboros::error.
#pragma once

#include <o7s/qos.hpp>

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace ouroboros {

// IPCP types, values of Ouroboros' enum ipcp_type.
enum class ipcp_type : int {
    local = 0,
    unicast = 1,
    broadcast = 2,
    eth_llc = 3,
    eth_dix = 4,
    udp4 = 5,
    udp6 = 6,
};

// Load-balancing policy of a name (enum pol_balance).
enum class load_balance : int {
    round_robin = 0,
    spill = 1,
};

// bind_program() option: start the program when a flow arrives for the name.
inline constexpr std::uint16_t bind_auto = 0x01;

// What bootstrap_ipcp() needs. Fields beyond `type` and `layer` only matter
// for the IPCP types that use them; the embedded runtime models local and
// broadcast layers.
struct ipcp_config {
    ipcp_type type = ipcp_type::local;
    std::string layer;
};

struct ipcp_info {
    pid_t pid = -1;
    ipcp_type type = ipcp_type::local;
    std::string name;
    std::string layer;
};

struct name_info {
    std::string name;
    load_balance policy = load_balance::round_robin;
};

namespace irm {

pid_t create_ipcp(const std::string& name, ipcp_type type);
void destroy_ipcp(pid_t pid);
std::vector<ipcp_info> list_ipcps();
void bootstrap_ipcp(pid_t pid, const ipcp_config& conf);
void enroll_ipcp(pid_t pid, const std::string& dst);
void connect_ipcp(pid_t pid, const std::string& dst, const std::string& component,
                  const qos_spec& qos);
void disconnect_ipcp(pid_t pid, const std::string& dst, const std::string& component);

void bind_program(const std::string& program, const std::string& name,
                  std::uint16_t opts = 0, const std::vector<std::string>& argv = {});
void unbind_program(const std::string& program, const std::string& name);
void bind_process(pid_t pid, const std::string& name);
void unbind_process(pid_t pid, const std::string& name);

void create_name(const name_info& info);
void destroy_name(const std::string& name);
std::vector<name_info> list_names();
void reg_name(const std::string& name, pid_t ipcp_pid);
void unreg_name(const std::string& name, pid_t ipcp_pid);

} // namespace irm
} // namespace ouroboros
