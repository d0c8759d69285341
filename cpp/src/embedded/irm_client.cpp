// irm_client.cpp - the IRM calls of the embedded backend as requests to the
// daemon (irm_client.hpp); each is one message of runtime/messages.hpp.
#include "irm_client.hpp"

#include "daemon_link.hpp"

namespace ouroboros::embedded {
namespace {

// A listing: the request's reply holds the items in `items`.
template <class Request, class T>
int fetch(const Request& request, std::vector<T> Request::reply::*items, std::vector<T>& out)
{
    typename Request::reply reply;
    int rc = call(request, reply);
    if (rc == 0)
        out = std::move(reply.*items);
    return rc;
}

} // namespace

int embedded_irm::create_ipcp(const std::string& name, ipcp_type type, pid_t& pid)
{
    proto::ipcp_created created;
    int rc = call(proto::ipcp_create{name, type}, created);
    if (rc == 0)
        pid = created.pid;
    return rc;
}

int embedded_irm::destroy_ipcp(pid_t pid)
{
    return call(proto::ipcp_destroy{pid});
}

int embedded_irm::list_ipcps(std::vector<ipcp_info>& out)
{
    return fetch(proto::ipcp_list{}, &proto::ipcp_listing::ipcps, out);
}

int embedded_irm::bootstrap_ipcp(pid_t pid, const ipcp_config& conf)
{
    return call(proto::ipcp_bootstrap{pid, conf});
}

int embedded_irm::enroll_ipcp(pid_t pid, const std::string& dst)
{
    return call(proto::ipcp_enroll{pid, dst});
}

int embedded_irm::connect_ipcp(pid_t pid, const std::string& dst, const std::string& component,
                               const qos_spec& qos)
{
    return call(proto::ipcp_connect{pid, dst, component, qos});
}

int embedded_irm::disconnect_ipcp(pid_t pid, const std::string& dst, const std::string& component)
{
    return call(proto::ipcp_disconnect{pid, dst, component});
}

int embedded_irm::bind_program(const std::string& prog, const std::string& name,
                               std::uint16_t opts, const std::vector<std::string>& argv)
{
    return bind_script(prog, name, opts, argv, {});
}

int embedded_irm::bind_script(const std::string& prog, const std::string& name, std::uint16_t opts,
                              const std::vector<std::string>& argv, const std::string& interpreter)
{
    return call(proto::bind_program{name, program_binding{prog, opts, argv, interpreter}});
}

int embedded_irm::unbind_program(const std::string& prog, const std::string& name)
{
    return call(proto::unbind_program{prog, name});
}

int embedded_irm::bind_process(pid_t pid, const std::string& name)
{
    return call(proto::bind_process{pid, name});
}

int embedded_irm::unbind_process(pid_t pid, const std::string& name)
{
    return call(proto::unbind_process{pid, name});
}

int embedded_irm::create_name(const name_info& info)
{
    return call(proto::name_create{info});
}

int embedded_irm::destroy_name(const std::string& name)
{
    return call(proto::name_destroy{name});
}

int embedded_irm::list_names(std::vector<name_info>& out)
{
    return fetch(proto::name_list{}, &proto::name_listing::names, out);
}

int embedded_irm::reg_name(const std::string& name, pid_t ipcp_pid)
{
    return call(proto::name_reg{name, ipcp_pid});
}

int embedded_irm::unreg_name(const std::string& name, pid_t ipcp_pid)
{
    return call(proto::name_unreg{name, ipcp_pid});
}

} // namespace ouroboros::embedded
