// bind_irm.cpp - the IRM API; ouroboros.irm wraps it. Configurations and
// listings cross as the model's own objects (model.hpp): the Python classes
// of ouroboros.irm and ouroboros.ipcp_config, validated there.
#include "bindings.hpp"
#include "conversions.hpp"
#include "model.hpp"
#include "python_errors.hpp"

#include <o7s/irm.hpp>

#include <pybind11/stl.h>

#include <optional>

namespace ouroboros::python {

void bind_irm(py::module_& m)
{
    auto irm = m.def_submodule("irm", "IPC Resource Manager calls (see ouroboros.irm).");
    using py::arg;

    irm.def(
        "create_ipcp",
        [](const std::string& name, int type) {
            return irm_call([&] { return irm::create_ipcp(name, static_cast<ipcp_type>(type)); });
        },
        arg("name"), arg("ipcp_type"));
    irm.def(
        "destroy_ipcp", [](pid_t pid) { irm_call([&] { irm::destroy_ipcp(pid); }); }, arg("pid"));
    irm.def("list_ipcps", [] { return to_python(irm_call([] { return irm::list_ipcps(); })); });
    irm.def(
        "bootstrap_ipcp",
        [](pid_t pid, const py::object& conf) {
            ipcp_config c = from_python<ipcp_config>(conf, "conf");
            irm_call([&] { irm::bootstrap_ipcp(pid, c); });
        },
        arg("pid"), arg("conf"));
    irm.def(
        "enroll_ipcp",
        [](pid_t pid, const std::string& dst) { irm_call([&] { irm::enroll_ipcp(pid, dst); }); },
        arg("pid"), arg("dst"));
    irm.def(
        "connect_ipcp",
        [](pid_t pid, const std::string& dst, const std::string& component,
           const py::object& qos) {
            qos_spec q = to_qos(qos).value_or(qos::raw);
            irm_call([&] { irm::connect_ipcp(pid, dst, component, q); });
        },
        arg("pid"), arg("dst"), arg("component"), arg("qos") = py::none());
    irm.def(
        "disconnect_ipcp",
        [](pid_t pid, const std::string& dst, const std::string& component) {
            irm_call([&] { irm::disconnect_ipcp(pid, dst, component); });
        },
        arg("pid"), arg("dst"), arg("component"));
    irm.def(
        "bind_program",
        [](const std::string& prog, const std::string& name, int opts,
           const std::vector<std::string>& argv, const std::string& interpreter) {
            if (opts < 0 || opts > 0xffff)
                throw py::value_error("bind options must fit 16 bits");
            irm_call([&] {
                irm::bind_program(prog, name, static_cast<std::uint16_t>(opts), argv, interpreter);
            });
        },
        arg("prog"), arg("name"), arg("opts"), arg("argv"), arg("interpreter"));
    irm.def(
        "unbind_program",
        [](const std::string& prog, const std::optional<std::string>& name) {
            irm_call([&] { irm::unbind_program(prog, name.value_or("")); });
        },
        arg("prog"), arg("name"));
    irm.def(
        "bind_process",
        [](pid_t pid, const std::string& name) { irm_call([&] { irm::bind_process(pid, name); }); },
        arg("pid"), arg("name"));
    irm.def(
        "unbind_process",
        [](pid_t pid, const std::optional<std::string>& name) {
            irm_call([&] { irm::unbind_process(pid, name.value_or("")); });
        },
        arg("pid"), arg("name"));
    irm.def(
        "create_name",
        [](const py::object& info) {
            name_info i = from_python<name_info>(info, "info");
            irm_call([&] { irm::create_name(i); });
        },
        arg("info"));
    irm.def(
        "destroy_name",
        [](const std::string& name) { irm_call([&] { irm::destroy_name(name); }); }, arg("name"));
    irm.def("list_names", [] { return to_python(irm_call([] { return irm::list_names(); })); });
    irm.def(
        "reg_name",
        [](const std::string& name, pid_t pid) { irm_call([&] { irm::reg_name(name, pid); }); },
        arg("name"), arg("pid"));
    irm.def(
        "unreg_name",
        [](const std::string& name, pid_t pid) { irm_call([&] { irm::unreg_name(name, pid); }); },
        arg("name"), arg("pid"));
    irm.def("list_bindings",
            [] { return to_python(irm_call([] { return irm::list_bindings(); })); });
    irm.def(
        "defaults", [] { return to_python(ipcp_config{}); },
        "An IpcpConfig with every part at the C++ API's defaults (what a part left None gets).");
}

} // namespace ouroboros::python
