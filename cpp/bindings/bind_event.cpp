// bind_event.cpp - _core.FlowSet: a flow set for ouroboros.event.
//
// ouroboros.event.FlowSet subclasses it and keeps the policy: the map from
// events back to the very Flow objects that were added, the event queue,
// pending flows. This layer holds no Python objects: a member is known by
// its Flow object's serial (py_flow.hpp), which _wait() reports.
#include "bindings.hpp"
#include "conversions.hpp"
#include "py_flow.hpp"
#include "python_errors.hpp"

#include <o7s/event.hpp>

#include <cstdint>
#include <unordered_map>

namespace ouroboros::python {
namespace {

struct py_flow_set {
    flow_set set;
    std::unordered_map<flow_ref, std::uint64_t> serials; // member -> its Flow's serial

    // Flows deallocated while in the set left it in C++; forget them here.
    void prune()
    {
        if (serials.size() <= set.size())
            return;
        for (auto it = serials.begin(); it != serials.end();)
            it = set.has(it->first) ? std::next(it) : serials.erase(it);
    }
};

py_flow& as_flow(const py::handle& obj, const char* what)
{
    if (!py::isinstance<py_flow>(obj))
        throw py::type_error(std::string(what) + " needs a Flow, not " +
                             std::string(py::str(py::type::of(obj).attr("__name__"))));
    return obj.cast<py_flow&>();
}

// The flow a Flow object holds now, as a reference for the set.
flow_ref current_ref(py_flow& f)
{
    return static_cast<const flow_ref&>(f.current);
}

void add(py_flow_set& self, const py::handle& obj)
{
    py_flow& f = as_flow(obj, "FlowSet.add()");
    self.set.add(f.open_flow());
    self.serials[current_ref(f)] = f.serial;
}

// The events of one wait as (serial, FEventType) pairs.
py::list wait(py_flow_set& self, const py::object& timeo)
{
    timeout t = to_timeout(timeo, "timeo");
    event_queue q;
    blocking([&] { self.set.wait(q, t); });
    py::list out;
    while (auto ev = q.next()) {
        auto it = self.serials.find(ev->flow);
        if (it != self.serials.end())
            out.append(py::make_tuple(it->second, ev->type));
    }
    self.prune();
    return out;
}

} // namespace

void bind_event(py::module_& m)
{
    // No dynamic_attr: the Python subclass brings its own __dict__, which
    // the cyclic GC then sees once (with dynamic_attr, CPython 3.11 visits
    // a subclass's managed dict twice and never collects a cycle).
    py::class_<py_flow_set>(m, "FlowSet", "A set of flows to wait on for events.")
        .def(py::init<>(), "A new, empty set.")
        .def("add", &add, py::arg("flow"), "Adds an allocated flow (again: no effect).")
        .def(
            "_add_allocated",
            [](py_flow_set& self, const py::object& obj) {
                py_flow& f = as_flow(obj, "FlowSet._add_allocated()");
                self.set.add(f.open_flow(), event_type::alloc); // before the flow's SDUs
                self.serials[current_ref(f)] = f.serial;
            },
            py::arg("flow"),
            "Adds a flow that was just allocated and posts FlowAlloc for it (a Flow object "
            "that waited in the set unallocated; see ouroboros.event).")
        .def(
            "remove",
            [](py_flow_set& self, const py::object& obj) {
                py_flow& f = as_flow(obj, "FlowSet.remove()");
                self.set.remove(current_ref(f));
                self.serials.erase(current_ref(f));
            },
            py::arg("flow"), "Removes a flow; no effect when it is not in the set.")
        .def(
            "zero",
            [](py_flow_set& self) {
                self.set.zero();
                self.serials.clear();
            },
            "Removes all flows.")
        .def(
            "has",
            [](py_flow_set& self, const py::object& obj) {
                if (!py::isinstance<py_flow>(obj))
                    return false;
                return self.set.has(current_ref(obj.cast<py_flow&>()));
            },
            py::arg("flow"), "True when the flow is in the set.")
        .def("__len__", [](const py_flow_set& self) { return self.set.size(); },
             "Number of flows in the set.")
        .def("fileno", [](const py_flow_set& self) { return self.set.pollable_fd(); },
             "A descriptor that polls readable when _wait() has events to return (for event "
             "loops; NotSupported on the system backend).")
        .def("_wait", &wait, py::arg("timeo") = py::none(),
             "Waits at most `timeo` seconds (None: no limit) for events; returns them as "
             "(serial of the member's Flow object, FEventType) pairs.")
        .def(
            "destroy",
            [](py_flow_set& self) {
                self.set.close();
                self.serials.clear();
            },
            "Frees the set; a second call does nothing.")
        .def_property_readonly(
            "closed", [](const py_flow_set& self) { return !self.set.is_open(); },
            "True once the set was destroyed.");
}

} // namespace ouroboros::python
