// irm.cpp - the IRM API over the active backend.
#include <o7s/detail/backend.hpp>
#include <o7s/error.hpp>
#include <o7s/irm.hpp>

namespace ouroboros::irm {
namespace {

detail::backend& be()
{
    return detail::active_backend();
}

void check(int rc, const std::string& what)
{
    if (rc >= 0)
        return;
    std::string detail = detail::take_error_detail();
    throw error(-rc, detail.empty() ? what : what + ": " + detail);
}

std::string quoted(const std::string& s)
{
    return "'" + s + "'";
}

} // namespace

pid_t create_ipcp(const std::string& name, ipcp_type type)
{
    pid_t pid = -1;
    check(be().create_ipcp(name, type, pid), "creating IPCP " + quoted(name));
    return pid;
}

void destroy_ipcp(pid_t pid)
{
    check(be().destroy_ipcp(pid), "destroying IPCP " + std::to_string(pid));
}

std::vector<ipcp_info> list_ipcps()
{
    std::vector<ipcp_info> out;
    check(be().list_ipcps(out), "listing IPCPs");
    return out;
}

void bootstrap_ipcp(pid_t pid, const ipcp_config& conf)
{
    check(be().bootstrap_ipcp(pid, conf),
          "bootstrapping IPCP " + std::to_string(pid) + " into layer " + quoted(conf.layer));
}

void enroll_ipcp(pid_t pid, const std::string& dst)
{
    check(be().enroll_ipcp(pid, dst), "enrolling IPCP " + std::to_string(pid) + " with " + quoted(dst));
}

void connect_ipcp(pid_t pid, const std::string& dst, const std::string& component,
                  const qos_spec& qos)
{
    check(be().connect_ipcp(pid, dst, component, qos),
          "connecting IPCP " + std::to_string(pid) + " to " + quoted(dst));
}

void disconnect_ipcp(pid_t pid, const std::string& dst, const std::string& component)
{
    check(be().disconnect_ipcp(pid, dst, component),
          "disconnecting IPCP " + std::to_string(pid) + " from " + quoted(dst));
}

void bind_program(const std::string& program, const std::string& name, std::uint16_t opts,
                  const std::vector<std::string>& argv)
{
    check(be().bind_program(program, name, opts, argv),
          "binding program " + quoted(program) + " to name " + quoted(name));
}

void unbind_program(const std::string& program, const std::string& name)
{
    check(be().unbind_program(program, name),
          "unbinding program " + quoted(program) + " from name " + quoted(name));
}

void bind_process(pid_t pid, const std::string& name)
{
    check(be().bind_process(pid, name),
          "binding process " + std::to_string(pid) + " to name " + quoted(name));
}

void unbind_process(pid_t pid, const std::string& name)
{
    check(be().unbind_process(pid, name),
          "unbinding process " + std::to_string(pid) + " from name " + quoted(name));
}

void create_name(const name_info& info)
{
    check(be().create_name(info), "creating name " + quoted(info.name));
}

void destroy_name(const std::string& name)
{
    check(be().destroy_name(name), "destroying name " + quoted(name));
}

std::vector<name_info> list_names()
{
    std::vector<name_info> out;
    check(be().list_names(out), "listing names");
    return out;
}

void reg_name(const std::string& name, pid_t ipcp_pid)
{
    check(be().reg_name(name, ipcp_pid),
          "registering name " + quoted(name) + " with IPCP " + std::to_string(ipcp_pid));
}

void unreg_name(const std::string& name, pid_t ipcp_pid)
{
    check(be().unreg_name(name, ipcp_pid),
          "unregistering name " + quoted(name) + " from IPCP " + std::to_string(ipcp_pid));
}

} // namespace ouroboros::irm
