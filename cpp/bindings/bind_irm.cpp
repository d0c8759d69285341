// bind_irm.cpp - the IRM API; ouroboros.irm wraps it with Python types.
#include "bindings.hpp"
#include "python_errors.hpp"

#include <o7s/irm.hpp>

#include <pybind11/stl.h>

namespace ouroboros::python {

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
    irm.def("bootstrap_ipcp", [](pid_t pid, int type, const std::string& layer) {
        ipcp_config conf;
        conf.type = static_cast<ipcp_type>(type);
        conf.layer = layer;
        irm_call([&] { irm::bootstrap_ipcp(pid, conf); });
    });
    irm.def("enroll_ipcp", [](pid_t pid, const std::string& dst) {
        irm_call([&] { irm::enroll_ipcp(pid, dst); });
    });
    irm.def("connect_ipcp", [](pid_t pid, const std::string& dst, const std::string& comp) {
        irm_call([&] { irm::connect_ipcp(pid, dst, comp, qos_spec{}); });
    });
    irm.def("disconnect_ipcp", [](pid_t pid, const std::string& dst, const std::string& comp) {
        irm_call([&] { irm::disconnect_ipcp(pid, dst, comp); });
    });
    irm.def("bind_program", [](const std::string& prog, const std::string& name, int opts,
                               const std::vector<std::string>& argv) {
        irm_call([&] { irm::bind_program(prog, name, static_cast<std::uint16_t>(opts), argv); });
    });
    irm.def("unbind_program", [](const std::string& prog, const std::string& name) {
        irm_call([&] { irm::unbind_program(prog, name); });
    });
    irm.def("bind_process", [](pid_t pid, const std::string& name) {
        irm_call([&] { irm::bind_process(pid, name); });
    });
    irm.def("unbind_process", [](pid_t pid, const std::string& name) {
        irm_call([&] { irm::unbind_process(pid, name); });
    });
    irm.def("create_name", [](const std::string& name, int policy) {
        irm_call([&] { irm::create_name(name_info{name, static_cast<load_balance>(policy)}); });
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
}

} // namespace ouroboros::python
