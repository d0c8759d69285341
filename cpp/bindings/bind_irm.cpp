// bind_irm.cpp - the IRM API; ouroboros.irm wraps it. Configurations and
// listings cross as the model's own objects (model.hpp): the Python classes
// of ouroboros.irm and ouroboros.ipcp_config, validated there.
#include "bindings.hpp"
#include "conversions.hpp"
#include "model.hpp"
#include "python_errors.hpp"

#include <o7s/irm.hpp>

#include <optional>

namespace ouroboros::python {

void bind_irm(py::module_& m)
{
    auto irm = m.def_submodule("irm", "IPC Resource Manager calls (see ouroboros.irm).");
    using py::arg;
    // Every argument is converted by conversions.hpp, so a bad one raises
    // TypeError, OverflowError or ValueError naming it.
    auto pid_of = [](py::handle pid) { return to_int<pid_t>(pid, "pid"); };

    irm.def(
        "create_ipcp",
        [](py::handle name, py::handle type) {
            auto n = to_text(name, "name");
            auto t = static_cast<ipcp_type>(to_int<int>(type, "ipcp_type"));
            return irm_call([&] { return irm::create_ipcp(n, t); });
        },
        arg("name"), arg("ipcp_type"));
    irm.def(
        "destroy_ipcp",
        [pid_of](py::handle pid) {
            auto p = pid_of(pid);
            irm_call([&] { irm::destroy_ipcp(p); });
        },
        arg("pid"));
    irm.def("list_ipcps", [] { return to_python(irm_call([] { return irm::list_ipcps(); })); });
    irm.def(
        "bootstrap_ipcp",
        [pid_of](py::handle pid, const py::object& conf) {
            auto p = pid_of(pid);
            ipcp_config c = from_python<ipcp_config>(conf, "conf");
            irm_call([&] { irm::bootstrap_ipcp(p, c); });
        },
        arg("pid"), arg("conf"));
    irm.def(
        "enroll_ipcp",
        [pid_of](py::handle pid, py::handle dst) {
            auto p = pid_of(pid);
            auto d = to_text(dst, "dst");
            irm_call([&] { irm::enroll_ipcp(p, d); });
        },
        arg("pid"), arg("dst"));
    irm.def(
        "connect_ipcp",
        [pid_of](py::handle pid, py::handle dst, py::handle component, const py::object& qos) {
            auto p = pid_of(pid);
            auto d = to_text(dst, "dst");
            auto c = to_text(component, "component");
            qos_spec q = to_qos(qos).value_or(qos::raw);
            irm_call([&] { irm::connect_ipcp(p, d, c, q); });
        },
        arg("pid"), arg("dst"), arg("component"), arg("qos") = py::none());
    irm.def(
        "disconnect_ipcp",
        [pid_of](py::handle pid, py::handle dst, py::handle component) {
            auto p = pid_of(pid);
            auto d = to_text(dst, "dst");
            auto c = to_text(component, "component");
            irm_call([&] { irm::disconnect_ipcp(p, d, c); });
        },
        arg("pid"), arg("dst"), arg("component"));
    irm.def(
        "bind_program",
        [](py::handle prog, py::handle name, py::handle opts, py::handle argv,
           py::handle interpreter) {
            auto p = to_text(prog, "prog");
            auto n = to_text(name, "name");
            auto o = to_int<std::uint16_t>(opts, "opts");
            auto args = from_python<std::vector<std::string>>(argv, "argv");
            auto i = to_text(interpreter, "interpreter");
            irm_call([&] { irm::bind_program(p, n, o, args, i); });
        },
        arg("prog"), arg("name"), arg("opts"), arg("argv"), arg("interpreter"));
    irm.def(
        "unbind_program",
        [](py::handle prog, py::handle name) {
            auto p = to_text(prog, "prog");
            auto n = to_optional_text(name, "name");
            irm_call([&] { irm::unbind_program(p, n.value_or("")); });
        },
        arg("prog"), arg("name"));
    irm.def(
        "bind_process",
        [pid_of](py::handle pid, py::handle name) {
            auto p = pid_of(pid);
            auto n = to_text(name, "name");
            irm_call([&] { irm::bind_process(p, n); });
        },
        arg("pid"), arg("name"));
    irm.def(
        "unbind_process",
        [pid_of](py::handle pid, py::handle name) {
            auto p = pid_of(pid);
            auto n = to_optional_text(name, "name");
            irm_call([&] { irm::unbind_process(p, n.value_or("")); });
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
        [](py::handle name) {
            auto n = to_text(name, "name");
            irm_call([&] { irm::destroy_name(n); });
        },
        arg("name"));
    irm.def("list_names", [] { return to_python(irm_call([] { return irm::list_names(); })); });
    irm.def(
        "reg_name",
        [pid_of](py::handle name, py::handle pid) {
            auto n = to_text(name, "name");
            auto p = pid_of(pid);
            irm_call([&] { irm::reg_name(n, p); });
        },
        arg("name"), arg("pid"));
    irm.def(
        "unreg_name",
        [pid_of](py::handle name, py::handle pid) {
            auto n = to_text(name, "name");
            auto p = pid_of(pid);
            irm_call([&] { irm::unreg_name(n, p); });
        },
        arg("name"), arg("pid"));
    irm.def("list_bindings",
            [] { return to_python(irm_call([] { return irm::list_bindings(); })); });
    irm.def(
        "defaults", [] { return to_python(ipcp_config{}); },
        "An IpcpConfig with every part at the C++ API's defaults (what a part left None gets).");
}

} // namespace ouroboros::python
