// system_irm.hpp - the IRM half of the backend over the real Ouroboros:
// detail::irm_backend over libouroboros-irm, through irm_shim.c because
// irm.h does not compile as C++ (irm_calls.cpp).
#pragma once

#include <o7s/detail/irm_backend.hpp>

#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace ouroboros::system {

class system_irm final : public detail::irm_backend {
public:
    int create_ipcp(const std::string& name, ipcp_type type, pid_t& pid) override;
    int destroy_ipcp(pid_t pid) override;
    int list_ipcps(std::vector<ipcp_info>& out) override;
    int bootstrap_ipcp(pid_t pid, const ipcp_config& conf) override;
    int enroll_ipcp(pid_t pid, const std::string& dst) override;
    int connect_ipcp(pid_t pid, const std::string& dst, const std::string& component,
                     const qos_spec& qos) override;
    int disconnect_ipcp(pid_t pid, const std::string& dst, const std::string& component) override;
    int bind_program(const std::string& prog, const std::string& name, std::uint16_t opts,
                     const std::vector<std::string>& argv) override;
    int unbind_program(const std::string& prog, const std::string& name) override;
    int bind_process(pid_t pid, const std::string& name) override;
    int unbind_process(pid_t pid, const std::string& name) override;
    int create_name(const name_info& info) override;
    int destroy_name(const std::string& name) override;
    int list_names(std::vector<name_info>& out) override;
    int reg_name(const std::string& name, pid_t ipcp_pid) override;
    int unreg_name(const std::string& name, pid_t ipcp_pid) override;

    // True when this process bound itself to `name` (Ouroboros 0.23 cannot
    // allocate a flow from a process to itself: see system_flows).
    bool bound_to_self(const std::string& name) const;
    // True when the IRMd lists a name called `name`.
    bool knows_name(const std::string& name) const;

private:
    // Runs unbind(name) for every name the IRMd has (an empty name in the
    // unbind calls means all of them; the C API knows no such thing).
    template <class Unbind> int unbind_everywhere(Unbind&& unbind);

    mutable std::mutex self_names_m_;
    std::set<std::string> self_names_; // names bound to this process's pid
};

} // namespace ouroboros::system
