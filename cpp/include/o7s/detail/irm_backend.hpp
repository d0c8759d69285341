// o7s/detail/irm_backend.hpp - the IRM half of the seam between the C++
// API and an Ouroboros implementation: irm.h (IPCPs, names, bindings).
//
// The irm:: wrappers (cpp/src/irm.cpp) are written once against it; both
// backends implement it. As the flow half (flow_backend.hpp), it keeps the
// shape of the C API: results are 0 or -errno, with a detail for the user
// left by set_error_detail(). The configurations are the API's own structs
// (o7s/irm.hpp), passed whole: a backend uses the fields it models.
#pragma once

#include <o7s/detail/services.hpp>
#include <o7s/irm.hpp>
#include <o7s/qos.hpp>

#include <sys/types.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>

namespace ouroboros::detail {

class irm_backend {
public:
    virtual ~irm_backend() = default;

    virtual int create_ipcp(const std::string& name, ipcp_type type, pid_t& pid) = 0;
    virtual int destroy_ipcp(pid_t pid) = 0;
    virtual int list_ipcps(std::vector<ipcp_info>& out) = 0;
    virtual int bootstrap_ipcp(pid_t pid, const ipcp_config& conf) = 0;
    virtual int enroll_ipcp(pid_t pid, const std::string& dst) = 0;
    virtual int connect_ipcp(pid_t pid, const std::string& dst,
                             const std::string& component, const qos_spec& qos) = 0;
    virtual int disconnect_ipcp(pid_t pid, const std::string& dst,
                                const std::string& component) = 0;
    // `prog` is absolute (the wrappers resolve it). An empty `name` in the
    // unbind calls means every name (NULL in the C API).
    virtual int bind_program(const std::string& prog, const std::string& name,
                             std::uint16_t opts, const std::vector<std::string>& argv) = 0;
    virtual int unbind_program(const std::string& prog, const std::string& name) = 0;
    // bind_program for a script that is run as `interpreter prog argv...`
    // (absolute paths). Not in the C API.
    virtual int bind_script(const std::string& prog, const std::string& name, std::uint16_t opts,
                            const std::vector<std::string>& argv, const std::string& interpreter)
    {
        static_cast<void>(prog), static_cast<void>(name), static_cast<void>(opts);
        static_cast<void>(argv), static_cast<void>(interpreter);
        set_error_detail("this backend starts programs only directly: make the script "
                         "executable, with a #! line");
        return -ENOTSUP;
    }
    virtual int bind_process(pid_t pid, const std::string& name) = 0;
    virtual int unbind_process(pid_t pid, const std::string& name) = 0;
    virtual int create_name(const name_info& info) = 0;
    virtual int destroy_name(const std::string& name) = 0;
    virtual int list_names(std::vector<name_info>& out) = 0;
    virtual int reg_name(const std::string& name, pid_t ipcp_pid) = 0;
    virtual int unreg_name(const std::string& name, pid_t ipcp_pid) = 0;
    // Names with registrations and bindings; the C API has no such call,
    // so a backend may not know them.
    virtual int list_bindings(std::vector<name_bindings>& out)
    {
        static_cast<void>(out);
        set_error_detail("this backend cannot list bindings");
        return -ENOTSUP;
    }
};

} // namespace ouroboros::detail
