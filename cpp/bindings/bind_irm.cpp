// bind_irm.cpp - the IRM API; ouroboros.irm wraps it with Python types
// (and validates configurations before they get here).
#include "bindings.hpp"
#include "conversions.hpp"
#include "python_errors.hpp"

#include <o7s/irm.hpp>

#include <pybind11/stl.h>

#include <optional>

namespace ouroboros::python {
namespace {

// A field of the flat dictionary IpcpConfig._to_core() builds.
template <class T> T item(const py::dict& d, const char* key)
{
    if (!d.contains(key))
        throw py::key_error(std::string("IPCP configuration lacks '") + key + "'");
    return d[key].cast<T>();
}

template <class E> E enum_item(const py::dict& d, const char* key)
{
    return static_cast<E>(item<int>(d, key));
}

ipcp_config to_config(const py::dict& d)
{
    ipcp_config c;
    c.type = enum_item<ipcp_type>(d, "type");
    c.layer = item<std::string>(d, "layer");
    c.dir_hash = enum_item<dir_hash_algo>(d, "dir_hash_algo");
    auto& u = c.unicast;
    u.dt.addr_size = item<std::uint8_t>(d, "addr_size");
    u.dt.eid_size = item<std::uint8_t>(d, "eid_size");
    u.dt.max_ttl = item<std::uint8_t>(d, "max_ttl");
    u.dt.routing.pol = enum_item<routing_policy>(d, "routing_pol");
    u.dt.routing.ls.pol = enum_item<link_state_policy>(d, "ls_pol");
    u.dt.routing.ls.t_recalc = item<std::uint32_t>(d, "ls_t_recalc");
    u.dt.routing.ls.t_update = item<std::uint32_t>(d, "ls_t_update");
    u.dt.routing.ls.t_timeo = item<std::uint32_t>(d, "ls_t_timeo");
    u.dir.pol = enum_item<dir_policy>(d, "dir_pol");
    u.dir.dht.alpha = item<std::uint32_t>(d, "dht_alpha");
    u.dir.dht.k = item<std::uint32_t>(d, "dht_k");
    u.dir.dht.t_expire = item<std::uint32_t>(d, "dht_t_expire");
    u.dir.dht.t_refresh = item<std::uint32_t>(d, "dht_t_refresh");
    u.dir.dht.t_replicate = item<std::uint32_t>(d, "dht_t_replicate");
    u.addr_auth = enum_item<addr_auth_policy>(d, "addr_auth");
    u.cong_avoid = enum_item<cong_avoid_policy>(d, "cong_avoid");
    c.eth.dev = item<std::string>(d, "eth_dev");
    c.eth.ethertype = item<std::uint16_t>(d, "ethertype");
    c.udp4.ip_addr = item<std::string>(d, "udp4_ip");
    c.udp4.dns_addr = item<std::string>(d, "udp4_dns");
    c.udp4.port = item<std::uint16_t>(d, "udp4_port");
    c.udp6.ip_addr = item<std::string>(d, "udp6_ip");
    c.udp6.dns_addr = item<std::string>(d, "udp6_dns");
    c.udp6.port = item<std::uint16_t>(d, "udp6_port");
    return c;
}

using sec_tuple = std::tuple<std::string, std::string, std::string>; // enc, key, crt

name_sec_paths to_sec(const sec_tuple& t)
{
    return name_sec_paths{std::get<0>(t), std::get<1>(t), std::get<2>(t)};
}

py::tuple from_bindings(const name_bindings& nb)
{
    py::list procs, progs;
    for (const auto& p : nb.processes)
        procs.append(py::make_tuple(p.pid, p.program));
    for (const auto& p : nb.programs)
        progs.append(py::make_tuple(p.path, p.opts, p.argv, p.interpreter));
    return py::make_tuple(nb.info.name, static_cast<int>(nb.info.policy), nb.ipcps, procs, progs);
}

} // namespace

void bind_irm(py::module_& m)
{
    auto irm = m.def_submodule("irm", "IPC Resource Manager calls (see ouroboros.irm).");

    irm.def("create_ipcp", [](const std::string& name, int type) {
        return irm_call([&] { return irm::create_ipcp(name, static_cast<ipcp_type>(type)); });
    });
    irm.def("destroy_ipcp", [](pid_t pid) { irm_call([&] { irm::destroy_ipcp(pid); }); });
    irm.def("list_ipcps", [] {
        auto ipcps = irm_call([] { return irm::list_ipcps(); });
        py::list out;
        for (const auto& i : ipcps)
            out.append(py::make_tuple(i.pid, static_cast<int>(i.type), i.name, i.layer));
        return out;
    });
    irm.def("bootstrap_ipcp", [](pid_t pid, const py::dict& conf) {
        ipcp_config c = to_config(conf);
        irm_call([&] { irm::bootstrap_ipcp(pid, c); });
    });
    irm.def("enroll_ipcp", [](pid_t pid, const std::string& dst) {
        irm_call([&] { irm::enroll_ipcp(pid, dst); });
    });
    irm.def("connect_ipcp", [](pid_t pid, const std::string& dst, const std::string& comp,
                               const py::object& qos) {
        qos_spec q = to_qos(qos).value_or(qos::raw);
        irm_call([&] { irm::connect_ipcp(pid, dst, comp, q); });
    });
    irm.def("disconnect_ipcp", [](pid_t pid, const std::string& dst, const std::string& comp) {
        irm_call([&] { irm::disconnect_ipcp(pid, dst, comp); });
    });
    irm.def("bind_program", [](const std::string& prog, const std::string& name, int opts,
                               const std::vector<std::string>& argv,
                               const std::string& interpreter) {
        if (opts < 0 || opts > 0xffff)
            throw py::value_error("bind options must fit 16 bits");
        irm_call([&] {
            irm::bind_program(prog, name, static_cast<std::uint16_t>(opts), argv, interpreter);
        });
    });
    irm.def("unbind_program", [](const std::string& prog, const std::optional<std::string>& name) {
        irm_call([&] { irm::unbind_program(prog, name.value_or("")); });
    });
    irm.def("bind_process", [](pid_t pid, const std::string& name) {
        irm_call([&] { irm::bind_process(pid, name); });
    });
    irm.def("unbind_process", [](pid_t pid, const std::optional<std::string>& name) {
        irm_call([&] { irm::unbind_process(pid, name.value_or("")); });
    });
    irm.def("create_name", [](const std::string& name, int policy, const sec_tuple& server,
                              const sec_tuple& client) {
        name_info info{name, static_cast<load_balance>(policy)};
        info.server_sec = to_sec(server);
        info.client_sec = to_sec(client);
        irm_call([&] { irm::create_name(info); });
    });
    irm.def("destroy_name", [](const std::string& name) { irm_call([&] { irm::destroy_name(name); }); });
    irm.def("list_names", [] {
        auto names = irm_call([] { return irm::list_names(); });
        py::list out;
        for (const auto& n : names)
            out.append(py::make_tuple(n.name, static_cast<int>(n.policy)));
        return out;
    });
    irm.def("reg_name", [](const std::string& name, pid_t pid) {
        irm_call([&] { irm::reg_name(name, pid); });
    });
    irm.def("unreg_name", [](const std::string& name, pid_t pid) {
        irm_call([&] { irm::unreg_name(name, pid); });
    });
    irm.def("list_bindings", [] {
        auto names = irm_call([] { return irm::list_bindings(); });
        py::list out;
        for (const auto& nb : names)
            out.append(from_bindings(nb));
        return out;
    });
}

} // namespace ouroboros::python
