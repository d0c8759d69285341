// bind_flow.cpp - _core.Flow: the owning flow as a Python object.
//
// ouroboros.dev.Flow subclasses it and adds the pure-Python conveniences
// (readline/writeline, context manager, ResourceWarning, repr).
#include "bindings.hpp"
#include "buffer_view.hpp"
#include "conversions.hpp"
#include "fast_method.hpp"
#include "py_flow.hpp"
#include "python_errors.hpp"

#include <o7s/flow.hpp>

#include <algorithm>
#include <atomic>
#include <limits>
#include <vector>

namespace ouroboros::python {
namespace {

py::bytes new_bytes(std::size_t n)
{
    PyObject* b = PyBytes_FromStringAndSize(nullptr, static_cast<Py_ssize_t>(n));
    if (b == nullptr)
        throw py::error_already_set();
    return py::reinterpret_steal<py::bytes>(b);
}

void shrink(py::bytes& b, std::size_t n)
{
    PyObject* p = b.release().ptr();
    if (_PyBytes_Resize(&p, static_cast<Py_ssize_t>(n)) != 0)
        throw py::error_already_set();
    b = py::reinterpret_steal<py::bytes>(p);
}

// The first buffer a whole-SDU read tries, in bytes: Python's choice
// (ouroboros.dev sets it with _core._set_first_read_size()); until then
// the largest SDU.
std::atomic<std::size_t> first_read_size{std::numeric_limits<std::size_t>::max()};

// Reads one whole SDU (or the rest of one that a sized read started);
// nullopt: would block.
std::optional<py::bytes> read_sdu(flow_ref& f)
{
    const std::size_t limit = f.max_sdu();
    // Without partial reads a too-small buffer drops the SDU: go big at once.
    std::size_t cap = any(f.flags(), flow_flags::no_partial_read)
                          ? limit
                          : std::min(first_read_size.load(std::memory_order_relaxed), limit);
    py::bytes out = new_bytes(cap);
    std::size_t total = 0;
    for (;;) {
        char* buf = PyBytes_AS_STRING(out.ptr()) + total;
        std::size_t room = cap - total;
        auto got = blocking([&] { return f.read(buf, room); });
        if (!got) {
            if (total == 0)
                return std::nullopt;
            raise(EAGAIN, "read would block in the middle of an SDU");
        }
        std::size_t n = *got;
        total += n;
        if (n < room)
            break;
        // Filled the buffer: the SDU may go on. Grow and read the rest; a
        // 0-byte read says it ended exactly at the buffer's end.
        std::size_t grown = std::max(cap * 2, cap + 1);
        PyObject* p = out.release().ptr();
        if (_PyBytes_Resize(&p, static_cast<Py_ssize_t>(grown)) != 0)
            throw py::error_already_set();
        out = py::reinterpret_steal<py::bytes>(p);
        cap = grown;
    }
    shrink(out, total);
    return out;
}

std::optional<py::bytes> read_count(flow_ref& f, std::size_t count)
{
    // No SDU is larger than max_sdu, so a larger buffer only costs memory:
    // max_sdu + 1 bytes read as much and, like any buffer larger than the
    // SDU, never ends it with the 0-byte read that an exact fill would.
    constexpr std::size_t small = 64 * 1024;
    if (count > small)
        count = std::min(count, f.max_sdu() + 1);
    py::bytes out = new_bytes(count);
    char* buf = PyBytes_AS_STRING(out.ptr());
    auto n = blocking([&] { return f.read(buf, count); });
    if (!n)
        return std::nullopt;
    if (*n != count)
        shrink(out, *n);
    return out;
}

std::optional<py::bytes> read_any(flow_ref& f, py::handle count)
{
    if (count.is_none())
        return read_sdu(f);
    return read_count(f, static_cast<std::size_t>(to_int<py::ssize_t>(count, "read() count", 0)));
}

std::size_t checked_count(py::handle count, std::size_t available, const char* what)
{
    if (count.is_none())
        return available;
    auto n = to_int<py::ssize_t>(count, (std::string(what) + " count").c_str());
    if (n < 0 || static_cast<std::size_t>(n) > available)
        throw py::value_error(std::string(what) + " count " + std::to_string(n) +
                              " is outside the buffer of " + std::to_string(available) + " bytes");
    return static_cast<std::size_t>(n);
}

} // namespace

void bind_flow(py::module_& m)
{
    // No dynamic_attr, as _core.FlowSet (bind_event.cpp): ouroboros.dev.Flow
    // brings the __dict__.
    py::class_<py_flow> cls(m, "Flow",
                            "A flow: a connection to another process that carries SDUs.");
    cls.def(py::init<>())
        .def(
            "alloc",
            [](py_flow& self, py::handle dst, const py::object& qos, const py::object& timeo) {
                self.check_unallocated();
                auto name = to_text(dst, "dst");
                auto q = to_qos(qos);
                auto t = to_timeout(timeo, "timeo");
                self.replace(blocking([&] { return flow::alloc(name, q, t); }));
                return from_qos(self.current.qos());
            },
            py::arg("dst"), py::arg("qos") = py::none(), py::arg("timeo") = py::none(),
            "Allocates this flow to the process serving the name `dst`; returns its QoSSpec.")
        .def(
            "accept",
            [](py_flow& self, const py::object& timeo) {
                self.check_unallocated();
                auto t = to_timeout(timeo, "timeo");
                self.replace(blocking([&] { return flow::accept(t); }));
                return from_qos(self.current.qos());
            },
            py::arg("timeo") = py::none(),
            "Accepts the next flow allocated to a name this process is bound to; returns its "
            "QoSSpec.")
        .def(
            "join",
            [](py_flow& self, py::handle dst, const py::object& timeo, const py::object& qos) {
                self.check_unallocated();
                auto layer = to_text(dst, "dst");
                auto q = to_qos(qos);
                auto t = to_timeout(timeo, "timeo");
                self.replace(blocking([&] { return flow::join(layer, q, t); }));
                return from_qos(self.current.qos());
            },
            // The timeout second, as upstream pyOuroboros' Flow.join(dst, timeo).
            py::arg("dst"), py::arg("timeo") = py::none(), py::arg("qos") = py::none(),
            "Joins the broadcast layer `dst`; returns the flow's QoSSpec.")
        .def(
            "dealloc",
            [](py_flow& self) {
                self.open_flow();
                flow doomed = self.take();
                try {
                    blocking([&] { doomed.close(); });
                } catch (...) {
                    self.retire(std::move(doomed));
                    throw;
                }
                self.retire(std::move(doomed));
            },
            "Deallocates the flow. Raises FlowNotAllocatedException if it is not allocated.")
        .def(
            "set_snd_timeout",
            [](py_flow& self, const py::object& t) {
                self.open_flow().set_snd_timeout(to_timeout(t, "timeout"));
            },
            py::arg("timeo"), "Sets the write timeout in seconds (None: block).")
        .def("get_snd_timeout",
             [](py_flow& self) { return from_timeout(self.open_flow().snd_timeout()); },
             "The write timeout in seconds, or None when writes block.")
        .def(
            "set_rcv_timeout",
            [](py_flow& self, const py::object& t) {
                self.open_flow().set_rcv_timeout(to_timeout(t, "timeout"));
            },
            py::arg("timeo"), "Sets the read timeout in seconds (None: block).")
        .def("get_rcv_timeout",
             [](py_flow& self) { return from_timeout(self.open_flow().rcv_timeout()); },
             "The read timeout in seconds, or None when reads block.")
        .def(
            "set_flags",
            [](py_flow& self, py::handle flags) {
                auto& f = self.open_flow();
                f.set_flags(static_cast<flow_flags>(to_int<std::uint32_t>(flags, "flags")));
            },
            py::arg("flags"), "Replaces all flags of the flow (FlowProperties).")
        .def("get_flags", [](py_flow& self) { return self.open_flow().flags(); },
             "The flags of the flow (FlowProperties).")
        .def(
            "set_frct_flags",
            [](py_flow& self, py::handle flags) {
                auto& f = self.open_flow();
                f.set_frct_flags(static_cast<frct_flags>(to_int<std::uint32_t>(flags, "flags")));
            },
            py::arg("flags"), "Replaces the FRCT flags (FRCTFlags).")
        .def("get_frct_flags", [](py_flow& self) { return self.open_flow().frct(); },
             "The FRCT flags (FRCTFlags).")
        .def("get_qos", [](py_flow& self) { return from_qos(self.open_flow().qos()); },
             "The QoSSpec the flow got.")
        .def("get_rx_queue_len", [](py_flow& self) { return self.open_flow().rx_queue_len(); },
             "Number of SDUs received and not read yet.")
        .def("get_tx_queue_len", [](py_flow& self) { return self.open_flow().tx_queue_len(); },
             "Number of SDUs written and not yet read by the peer.")
        .def("fileno", [](py_flow& self) { return self.open_flow().pollable_fd(); },
             "A kernel descriptor that polls readable when an SDU arrives.")
        .def_property_readonly(
            "fd", [](py_flow& self) { return self.current.is_open() ? self.current.descriptor() : -1; },
            "The flow descriptor, -1 when not allocated.")
        .def_property_readonly(
            "closed", [](py_flow& self) { return !self.current.is_open(); },
            "True when the flow is not allocated.")
        .def_property_readonly(
            "max_sdu", [](py_flow& self) { return self.open_flow().max_sdu(); },
            "The largest SDU one write() may carry, in bytes.")
        .def_property_readonly(
            "_serial", [](const py_flow& self) { return self.serial; },
            "Tells the flows this object held apart (for ouroboros.event).")
        .def_property_readonly(
            "_retained", [](const py_flow& self) { return self.retired.size(); },
            "Flows this object held before, still kept for operations in flight.");

    m.def(
        "_set_first_read_size",
        [](py::handle bytes) {
            first_read_size.store(to_int<std::size_t>(bytes, "bytes", 1),
                                  std::memory_order_relaxed);
        },
        py::arg("bytes"),
        "Sets the buffer (bytes) a whole-SDU read() tries first (ouroboros.dev's policy).");

    // The per-SDU calls skip pybind11's dispatcher (fast_method.hpp).
    auto read = [](py_flow& self, const fast_args<1>& a) {
        flow_op f(self);
        return read_any(*f, a[0]);
    };
    auto read_into = [](py_flow& self, const fast_args<1>& a) {
        flow_op f(self);
        buffer_view view(a[0], PyBUF_WRITABLE, "read_into()");
        return blocking([&] { return f->read(view.data(), view.size()); });
    };
    auto write = [](py_flow& self, const fast_args<2>& a) {
        flow_op f(self);
        buffer_view view(a[0], PyBUF_SIMPLE, "write()");
        std::size_t n = checked_count(a[1], view.size(), "write()");
        return blocking([&] { return f->write(view.data(), n); });
    };
    def_fast<1>(
        cls, "read", {{{"count", false}}},
        [read](py_flow& self, const fast_args<1>& a) {
            return or_would_block(read(self, a), "read");
        },
        "read($self, count=None)\n--\n\n"
        "Reads one SDU as bytes; with `count`, at most `count` bytes of it.");
    def_fast<1>(
        cls, "read_into", {{{"buffer", true}}},
        [read_into](py_flow& self, const fast_args<1>& a) {
            return or_would_block(read_into(self, a), "read");
        },
        "read_into($self, buffer)\n--\n\n"
        "Reads into a writable buffer; returns the number of bytes read.");
    def_fast<2>(
        cls, "write", {{{"buf", true}, {"count", false}}},
        [write](py_flow& self, const fast_args<2>& a) {
            return or_would_block(write(self, a), "write");
        },
        "write($self, buf, count=None)\n--\n\n"
        "Writes `buf` (or its first `count` bytes) as one SDU; returns the bytes written.");
    // For event loops (ouroboros.asyncio): the same on a non-blocking flow,
    // with None where those raise BlockingIOError (an exception costs more
    // than the read).
    def_fast<1>(
        cls, "_try_read", {{{"count", false}}},
        [read](py_flow& self, const fast_args<1>& a) { return or_none(read(self, a)); },
        "_try_read($self, count=None)\n--\n\nread(), or None when it would block.");
    def_fast<1>(
        cls, "_try_read_into", {{{"buffer", true}}},
        [read_into](py_flow& self, const fast_args<1>& a) { return or_none(read_into(self, a)); },
        "_try_read_into($self, buffer)\n--\n\nread_into(), or None when it would block.");
    def_fast<2>(
        cls, "_try_write", {{{"buf", true}, {"count", false}}},
        [write](py_flow& self, const fast_args<2>& a) { return or_none(write(self, a)); },
        "_try_write($self, buf, count=None)\n--\n\nwrite(), or None when it would block.");
}

} // namespace ouroboros::python
