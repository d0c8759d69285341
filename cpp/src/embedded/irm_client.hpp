// irm_client.hpp - the IRM half of the embedded backend: every call is a
// request to the daemon, which keeps the IPCPs, names and bindings
// (irm_client.cpp; the listing of bindings, which comes in parts, is
// binding_list.cpp).
#pragma once

#include <o7s/detail/irm_backend.hpp>

namespace ouroboros::embedded {

class embedded_irm final : public detail::irm_backend {
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
    int bind_script(const std::string& prog, const std::string& name, std::uint16_t opts,
                    const std::vector<std::string>& argv, const std::string& interpreter) override;
    int unbind_program(const std::string& prog, const std::string& name) override;
    int bind_process(pid_t pid, const std::string& name) override;
    int unbind_process(pid_t pid, const std::string& name) override;
    int create_name(const name_info& info) override;
    int destroy_name(const std::string& name) override;
    int list_names(std::vector<name_info>& out) override;
    int reg_name(const std::string& name, pid_t ipcp_pid) override;
    int unreg_name(const std::string& name, pid_t ipcp_pid) override;
    int list_bindings(std::vector<name_bindings>& out) override; // binding_list.cpp
};

} // namespace ouroboros::embedded
