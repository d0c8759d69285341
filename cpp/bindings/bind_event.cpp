// bind_event.cpp - _core.FlowSet and _core.FEventQueue: the event API.
//
// ouroboros.event subclasses both (context manager, iteration, typing).
// A FlowSet keeps the Python Flow objects it was given, so an event hands
// back the very object that was added, not a copy that aliases it.
#include "bindings.hpp"

#include "conversions.hpp"
#include "py_flow.hpp"
#include "python_errors.hpp"

#include <o7s/event.hpp>

#include <deque>
#include <optional>
#include <unordered_map>

namespace ouroboros::python {
namespace {

struct py_event {
    py::object flow; // the Python Flow that was added to the set
    flow_ref ref;    // the flow it had then (it may have been re-allocated since)
    event_type type;
};

struct py_event_queue {
    std::deque<py_event> events;
};

struct py_flow_set {
    flow_set set;
    std::unordered_map<flow_ref, py::object> members;

    // Flows deallocated while in the set left it in C++; let go of their
    // Python objects too.
    void prune()
    {
        if (members.size() <= set.size())
            return;
        for (auto it = members.begin(); it != members.end();)
            it = set.has(it->first) ? std::next(it) : members.erase(it);
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

// With `posted`, posts that event for the flow as it joins (flow_set::add).
void add(py_flow_set& self, const py::object& obj,
         std::optional<event_type> posted = std::nullopt)
{
    py_flow& f = as_flow(obj, "FlowSet.add()");
    if (posted)
        self.set.add(f.open_flow(), *posted);
    else
        self.set.add(f.open_flow());
    self.members[current_ref(f)] = obj;
}

py::object next_event(py_event_queue& q)
{
    while (!q.events.empty()) {
        py_event e = std::move(q.events.front());
        q.events.pop_front();
        py_flow& f = e.flow.cast<py_flow&>();
        // Skip events of flows deallocated (or re-allocated) since the wait.
        if (current_ref(f) == e.ref && e.ref.is_open())
            return py::make_tuple(e.flow, e.type);
    }
    return py::none();
}

void wait(py_flow_set& self, py_event_queue& fq, const py::object& timeo)
{
    timeout t = to_timeout(timeo, "timeo");
    if (!fq.events.empty())
        return; // as fevent(): events are still waiting to be handled
    event_queue q;
    blocking([&] { self.set.wait(q, t); });
    while (auto ev = q.next()) {
        auto it = self.members.find(ev->flow);
        if (it != self.members.end())
            fq.events.push_back(py_event{it->second, ev->flow, ev->type});
    }
    self.prune();
}

} // namespace

void bind_event(py::module_& m)
{
    py::class_<py_event_queue>(m, "FEventQueue", py::dynamic_attr(),
                               "The events of the last FlowSet.wait(), taken with next().")
        .def(py::init<>())
        .def("next", &next_event,
             "The next event as (flow, FEventType), or None when none is left.")
        .def("__len__", [](const py_event_queue& q) { return q.events.size(); },
             "Events not taken yet.");

    py::class_<py_flow_set>(m, "FlowSet", py::dynamic_attr(),
                            "A set of flows to wait on for events.")
        .def(py::init([](const py::object& flows) {
                 auto self = std::make_unique<py_flow_set>();
                 if (!flows.is_none())
                     for (const py::handle& f : flows)
                         add(*self, py::reinterpret_borrow<py::object>(f));
                 return self;
             }),
             py::arg("flows") = py::none(), "A new set, holding the given flows.")
        .def(
            "add", [](py_flow_set& self, const py::object& obj) { add(self, obj); },
            py::arg("flow"), "Adds an allocated flow (again: no effect).")
        .def(
            "_add_allocated",
            [](py_flow_set& self, const py::object& obj) {
                add(self, obj, event_type::alloc);
            },
            py::arg("flow"),
            "Adds a flow that was just allocated and posts FlowAlloc for it (a Flow object "
            "that waited in the set unallocated; see ouroboros.event).")
        .def(
            "remove",
            [](py_flow_set& self, const py::object& obj) {
                py_flow& f = as_flow(obj, "FlowSet.remove()");
                self.set.remove(current_ref(f));
                self.members.erase(current_ref(f));
            },
            py::arg("flow"), "Removes a flow; no effect when it is not in the set.")
        .def(
            "zero",
            [](py_flow_set& self) {
                self.set.zero();
                self.members.clear();
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
        .def("wait", &wait, py::arg("fq"), py::arg("timeo") = py::none(),
             "Waits at most `timeo` seconds (None: no limit) for events and puts them in "
             "`fq`. Returns at once while `fq` holds events not taken yet.")
        .def(
            "destroy",
            [](py_flow_set& self) {
                self.set.close();
                self.members.clear();
            },
            "Frees the set; a second call does nothing.")
        .def_property_readonly(
            "closed", [](const py_flow_set& self) { return !self.set.is_open(); },
            "True once the set was destroyed.");
}

} // namespace ouroboros::python
