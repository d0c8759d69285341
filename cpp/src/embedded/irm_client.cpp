// irm_client.cpp - the IRM calls of the embedded backend as requests to the
// daemon (irm_client.hpp).
#include "irm_client.hpp"

#include "daemon_link.hpp"

#include <o7s/error.hpp>

namespace ouroboros::embedded {

using proto::msg;

namespace {

constexpr auto irm_wait = std::chrono::seconds(30);

// Runs a request whose reply is a plain "ok".
int simple_call(proto::writer& w)
{
    proto::message reply;
    return call_daemon(w, reply, irm_wait);
}

// A listing whose reply is a count and that many items of one kind.
template <class T, class ReadItem>
int list_call(msg type, std::vector<T>& out, ReadItem&& read_item)
{
    proto::writer w(type);
    proto::message reply;
    if (int rc = call_daemon(w, reply, irm_wait); rc < 0)
        return rc;
    return parse_reply(reply, [&](proto::reader& r) {
        out.clear();
        for (std::uint32_t n = r.u32(); n > 0; --n)
            out.push_back(read_item(r));
    });
}

} // namespace

int embedded_irm::create_ipcp(const std::string& name, ipcp_type type, pid_t& pid)
{
    proto::writer w(msg::ipcp_create);
    w.str(name).i32(static_cast<int>(type));
    proto::message reply;
    int rc = call_daemon(w, reply, irm_wait);
    if (rc < 0)
        return rc;
    return parse_reply(reply, [&](proto::reader& r) { pid = r.i32(); });
}

int embedded_irm::destroy_ipcp(pid_t pid)
{
    proto::writer w(msg::ipcp_destroy);
    w.i32(pid);
    return simple_call(w);
}

int embedded_irm::list_ipcps(std::vector<ipcp_info>& out)
{
    return list_call(msg::ipcp_list, out, [](proto::reader& r) {
        ipcp_info info;
        info.pid = r.i32();
        info.type = static_cast<ipcp_type>(r.i32());
        info.name = r.str();
        info.layer = r.str();
        return info;
    });
}

int embedded_irm::bootstrap_ipcp(pid_t pid, const ipcp_config& conf)
{
    proto::writer w(msg::ipcp_bootstrap);
    w.i32(pid).i32(static_cast<int>(conf.type)).str(conf.layer);
    return simple_call(w);
}

int embedded_irm::enroll_ipcp(pid_t pid, const std::string& dst)
{
    proto::writer w(msg::ipcp_enroll);
    w.i32(pid).str(dst);
    return simple_call(w);
}

int embedded_irm::connect_ipcp(pid_t pid, const std::string& dst, const std::string& component,
                 const qos_spec& qos)
{
    proto::writer w(msg::ipcp_connect);
    w.i32(pid).str(dst).str(component).qos(qos);
    return simple_call(w);
}

int embedded_irm::disconnect_ipcp(pid_t pid, const std::string& dst, const std::string& component)
{
    proto::writer w(msg::ipcp_disconnect);
    w.i32(pid).str(dst).str(component);
    return simple_call(w);
}

int embedded_irm::bind_program(const std::string& prog, const std::string& name, std::uint16_t opts,
                 const std::vector<std::string>& argv)
{
    proto::writer w(msg::bind_program);
    w.str(prog).str(name).u16(opts).u32(static_cast<std::uint32_t>(argv.size()));
    for (const auto& a : argv)
        w.str(a);
    return simple_call(w);
}

int embedded_irm::bind_script(const std::string& prog, const std::string& name, std::uint16_t opts,
                const std::vector<std::string>& argv, const std::string& interpreter)
{
    proto::writer w(msg::bind_script);
    w.str(prog).str(name).u16(opts).str(interpreter).u32(static_cast<std::uint32_t>(argv.size()));
    for (const auto& a : argv)
        w.str(a);
    return simple_call(w);
}

int embedded_irm::unbind_program(const std::string& prog, const std::string& name)
{
    proto::writer w(msg::unbind_program);
    w.str(prog).str(name);
    return simple_call(w);
}

int embedded_irm::bind_process(pid_t pid, const std::string& name)
{
    proto::writer w(msg::bind_process);
    w.i32(pid).str(name);
    return simple_call(w);
}

int embedded_irm::unbind_process(pid_t pid, const std::string& name)
{
    proto::writer w(msg::unbind_process);
    w.i32(pid).str(name);
    return simple_call(w);
}

int embedded_irm::create_name(const name_info& info)
{
    proto::writer w(msg::name_create);
    w.str(info.name).i32(static_cast<int>(info.policy));
    return simple_call(w);
}

int embedded_irm::destroy_name(const std::string& name)
{
    proto::writer w(msg::name_destroy);
    w.str(name);
    return simple_call(w);
}

int embedded_irm::list_names(std::vector<name_info>& out)
{
    return list_call(msg::name_list, out, [](proto::reader& r) {
        name_info info;
        info.name = r.str();
        info.policy = static_cast<load_balance>(r.i32());
        return info;
    });
}

int embedded_irm::reg_name(const std::string& name, pid_t ipcp_pid)
{
    proto::writer w(msg::name_reg);
    w.str(name).i32(ipcp_pid);
    return simple_call(w);
}

int embedded_irm::unreg_name(const std::string& name, pid_t ipcp_pid)
{
    proto::writer w(msg::name_unreg);
    w.str(name).i32(ipcp_pid);
    return simple_call(w);
}

} // namespace ouroboros::embedded
