// bind_flow_request.cpp - _core.FlowRequest: flow allocation, accept and
// join that never block, for ouroboros.asyncio and ouroboros.anyio.
#include "bindings.hpp"
#include "conversions.hpp"
#include "py_flow.hpp"
#include "python_errors.hpp"

#include <o7s/flow_request.hpp>

namespace ouroboros::python {

void bind_flow_request(py::module_& m)
{
    py::class_<flow_request>(
        m, "FlowRequest",
        "A flow request in progress that never blocks: wait until fileno() polls readable, "
        "then poll(). Its timeout is the request's own; cancel() gives it up.")
        .def_static(
            "alloc",
            [](py::handle dst, const py::object& qos, const py::object& timeo) {
                auto name = to_text(dst, "dst");
                auto q = to_qos(qos);
                auto t = to_timeout(timeo, "timeo");
                // Connecting may start the runtime daemon.
                return blocking([&] { return flow_request::alloc(name, q, t); });
            },
            py::arg("dst"), py::arg("qos") = py::none(), py::arg("timeo") = py::none(),
            "Starts allocating a flow to the process serving `dst`.")
        .def_static(
            "accept",
            [](const py::object& timeo) {
                auto t = to_timeout(timeo, "timeo");
                return blocking([&] { return flow_request::accept(t); });
            },
            py::arg("timeo") = py::none(), "Starts accepting the next flow for this process.")
        .def_static(
            "join",
            [](py::handle dst, const py::object& qos, const py::object& timeo) {
                auto name = to_text(dst, "dst");
                auto q = to_qos(qos);
                auto t = to_timeout(timeo, "timeo");
                return blocking([&] { return flow_request::join(name, q, t); });
            },
            py::arg("dst"), py::arg("qos") = py::none(), py::arg("timeo") = py::none(),
            "Starts joining the broadcast layer `dst`.")
        .def("fileno", &flow_request::fd,
             "A descriptor that polls readable when poll() can make progress (it may change "
             "after each poll()).")
        .def(
            "poll",
            [](flow_request& r, py::handle obj) {
                if (!py::isinstance<py_flow>(obj))
                    throw py::type_error("FlowRequest.poll() needs a Flow to fill");
                py_flow& f = obj.cast<py_flow&>();
                f.check_unallocated();
                auto got = blocking([&] { return r.poll(); });
                if (!got)
                    return false;
                f.replace(std::move(*got));
                return true;
            },
            py::arg("flow"),
            "Makes progress without blocking: True once the flow is allocated (into `flow`, "
            "an unallocated Flow), False while it is not yet. Raises what the blocking call "
            "would raise.")
        .def("cancel", &flow_request::cancel,
             "Gives the request up: an allocation given up before poll() returned True leaves "
             "no flow at either end.")
        .def_property_readonly("pending", &flow_request::pending,
                               "True while the request waits for an answer.");
}

} // namespace ouroboros::python
