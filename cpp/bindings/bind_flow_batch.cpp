// bind_flow_batch.cpp - _core.Flow's batch calls (read_many, read_many_into,
// write_many) and busy polling, added to the class that bind_flow() creates.
#include "bindings.hpp"
#include "buffer_view.hpp"
#include "conversions.hpp"
#include "fast_method.hpp"
#include "py_flow.hpp"
#include "python_errors.hpp"

#include <o7s/flow.hpp>

#include <sys/mman.h>

#include <cstdint>
#include <new>
#include <string>
#include <string_view>
#include <vector>

namespace ouroboros::python {
namespace {

// Most SDUs one read_many() returns (recvmmsg takes at most UIO_MAXIOV).
constexpr py::ssize_t max_batch = 1024;
constexpr py::ssize_t default_batch = 64;

// Receive buffers for read_many(): slots larger than the largest SDU, so
// every SDU arrives whole, in one anonymous mapping. The kernel only
// touches the pages an SDU lands in, so the mapping costs address space,
// not memory, beyond the SDUs actually received.
class batch_arena {
public:
    batch_arena() = default;
    ~batch_arena()
    {
        if (base_ != nullptr)
            ::munmap(base_, bytes_);
    }
    batch_arena(const batch_arena&) = delete;
    batch_arena& operator=(const batch_arena&) = delete;

    // `count` buffers, each larger than max_sdu bytes.
    std::vector<sdu_buffer>& buffers(std::size_t count, std::size_t max_sdu)
    {
        constexpr std::size_t page = 4096;
        const std::size_t slot = (max_sdu / page + 1) * page;
        if (base_ == nullptr || slot != slot_ || count > slots_) {
            std::size_t bytes = slot * count;
            void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
            if (p == MAP_FAILED)
                throw std::bad_alloc();
            if (base_ != nullptr)
                ::munmap(base_, bytes_);
            base_ = static_cast<char*>(p);
            bytes_ = bytes;
            slot_ = slot;
            slots_ = count;
        }
        bufs_.resize(count);
        for (std::size_t i = 0; i < count; ++i)
            bufs_[i] = {base_ + i * slot_, slot_};
        return bufs_;
    }

private:
    char* base_ = nullptr;
    std::size_t bytes_ = 0;
    std::size_t slot_ = 0;
    std::size_t slots_ = 0;
    std::vector<sdu_buffer> bufs_;
};

// One arena per thread, reused by every read_many() of the thread. A signal
// handler may run Python code (another read_many) while a read waits; that
// nested call gets an arena of its own.
thread_local batch_arena thread_arena;
thread_local bool thread_arena_busy = false;

class arena_lease {
public:
    arena_lease() : leased_(!thread_arena_busy)
    {
        thread_arena_busy = true;
    }
    ~arena_lease()
    {
        if (leased_)
            thread_arena_busy = false;
    }
    arena_lease(const arena_lease&) = delete;
    arena_lease& operator=(const arena_lease&) = delete;

    batch_arena& get() { return leased_ ? thread_arena : own_; }

private:
    bool leased_;
    batch_arena own_;
};

std::optional<py::list> read_many(flow_ref& f, py::ssize_t max_count)
{
    arena_lease lease;
    auto& bufs = lease.get().buffers(static_cast<std::size_t>(max_count), f.max_sdu());
    auto n = blocking([&] { return f.read_many(bufs.data(), bufs.size()); });
    if (!n)
        return std::nullopt;
    py::list out(*n);
    for (std::size_t i = 0; i < *n; ++i) {
        PyObject* b = PyBytes_FromStringAndSize(static_cast<const char*>(bufs[i].data),
                                                static_cast<Py_ssize_t>(bufs[i].size));
        if (b == nullptr)
            throw py::error_already_set();
        PyList_SET_ITEM(out.ptr(), static_cast<Py_ssize_t>(i), b);
    }
    return out;
}

// The buffers of many bytes-like objects, held for the length of a call.
class buffer_list {
public:
    explicit buffer_list(py::handle items)
    {
        if (PyUnicode_Check(items.ptr()) || PyBytes_Check(items.ptr()) ||
            PyByteArray_Check(items.ptr()))
            throw py::type_error("write_many() needs a sequence of bytes-like objects, "
                                 "not one object; wrap it in a list");
        py::object seq = py::reinterpret_steal<py::object>(
            PySequence_Fast(items.ptr(), "write_many() needs a sequence of bytes-like objects"));
        if (!seq)
            throw py::error_already_set();
        const Py_ssize_t n = PySequence_Fast_GET_SIZE(seq.ptr());
        PyObject** item = PySequence_Fast_ITEMS(seq.ptr());
        views_.reserve(static_cast<std::size_t>(n));
        sdus_.reserve(static_cast<std::size_t>(n));
        for (Py_ssize_t i = 0; i < n; ++i) {
            if (PyUnicode_Check(item[i]))
                throw py::type_error("write_many() item " + std::to_string(i) +
                                     " is a str; encode the text (e.g. text.encode())");
            Py_buffer view;
            if (PyObject_GetBuffer(item[i], &view, PyBUF_SIMPLE) != 0)
                throw py::error_already_set();
            views_.push_back(view);
            sdus_.push_back({view.buf, static_cast<std::size_t>(view.len)});
        }
    }
    ~buffer_list()
    {
        for (auto& v : views_)
            PyBuffer_Release(&v);
    }
    buffer_list(const buffer_list&) = delete;
    buffer_list& operator=(const buffer_list&) = delete;

    const sdu_view* data() const { return sdus_.data(); }
    std::size_t size() const { return sdus_.size(); }

private:
    std::vector<Py_buffer> views_;
    std::vector<sdu_view> sdus_;
};

// read_many_into()'s arguments: the caller's memory, checked so that a
// wrong object is a TypeError/ValueError that says what to pass, never
// bytes written where they should not go.
class packed_reception {
public:
    packed_reception(py::handle buffer, py::handle ends)
        : buffer_(exporter(buffer, buffer_what, buffer_wanted), PyBUF_RECORDS_RO, buffer_what),
          ends_(exporter(ends, ends_what, ends_wanted), PyBUF_RECORDS_RO, ends_what)
    {
        check_writable(buffer_, buffer, buffer_what, buffer_wanted);
        check_writable(ends_, ends, ends_what, ends_wanted);
        check_contiguous(buffer_, 'A', buffer_what);
        check_contiguous(ends_, 'C', ends_what);
        if (buffer_.size() == 0)
            throw py::value_error("read_many_into() buffer is empty: it needs room for the "
                                  "SDUs");
        const Py_buffer& e = ends_.info();
        if (!holds_u64(e))
            throw py::type_error(std::string("read_many_into() ends must hold unsigned 64-bit "
                                             "integers (array('Q'), numpy.uint64), not items "
                                             "of format '") +
                                 (e.format != nullptr ? e.format : "B") + "' and " +
                                 std::to_string(e.itemsize) + " bytes");
        if (ends_.size() == 0)
            throw py::value_error("read_many_into() ends is empty: its length is the most "
                                  "SDUs to read");
        if (reinterpret_cast<std::uintptr_t>(ends_.data()) % alignof(std::size_t) != 0)
            throw py::value_error("read_many_into() ends must be aligned to 8 bytes (an "
                                  "array('Q') or numpy array is; a view at an odd offset "
                                  "is not)");
        const char* b = buffer_.data();
        const char* n = ends_.data();
        if (b < n + ends_.size() && n < b + buffer_.size())
            throw py::value_error("read_many_into() buffer and ends overlap: give them memory "
                                  "of their own");
    }

    void* data() const { return buffer_.data(); }
    std::size_t size() const { return buffer_.size(); }
    std::size_t* ends() const { return reinterpret_cast<std::size_t*>(ends_.data()); }
    std::size_t max() const { return ends_.size() / sizeof(std::uint64_t); }

private:
    // The ends are handed to C++ as size_t.
    static_assert(sizeof(std::size_t) == sizeof(std::uint64_t), "size_t must be 64 bits");

    static constexpr const char* buffer_what = "read_many_into() buffer";
    static constexpr const char* buffer_wanted =
        "a writable bytes-like object (bytearray, memoryview, numpy array)";
    static constexpr const char* ends_what = "read_many_into() ends";
    static constexpr const char* ends_wanted =
        "a writable array of unsigned 64-bit integers (array('Q'), numpy.uint64 array)";

    // The buffers are asked for with their format and strides, so that the
    // checks can say what is wrong (a plain writable request fails with
    // the exporter's BufferError instead).
    static py::handle exporter(py::handle obj, const char* what, const char* wanted)
    {
        if (!PyObject_CheckBuffer(obj.ptr()))
            throw py::type_error(std::string(what) + " must be " + wanted + ", not " +
                                 Py_TYPE(obj.ptr())->tp_name);
        return obj;
    }

    static void check_writable(const buffer_view& view, py::handle obj, const char* what,
                               const char* wanted)
    {
        if (view.info().readonly)
            throw py::type_error(std::string(what) + " must be " + wanted + ", not a read-only " +
                                 Py_TYPE(obj.ptr())->tp_name);
    }

    static void check_contiguous(const buffer_view& view, char order, const char* what)
    {
        if (!PyBuffer_IsContiguous(&view.info(), order))
            throw py::value_error(std::string(what) + " must be contiguous memory, not a "
                                                      "strided view (copy it, or slice with "
                                                      "step 1)");
    }

    // Native-order unsigned 64-bit items, in the struct module's notation
    // (numpy.uint64 is 'L' on LP64 systems, array('Q') is 'Q').
    static bool holds_u64(const Py_buffer& v)
    {
        if (v.itemsize != 8 || v.format == nullptr)
            return false;
        std::string_view f(v.format);
        const char native = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? '<' : '>';
        if (!f.empty() && (f[0] == '@' || f[0] == '=' || f[0] == native))
            f.remove_prefix(1);
        return f == "Q" || f == "L";
    }

    buffer_view buffer_;
    buffer_view ends_;
};

} // namespace

void bind_flow_batch(py::module_& m)
{
    auto cls = py::reinterpret_borrow<py::class_<py_flow>>(m.attr("Flow"));
    // Per-SDU calls skip pybind11's dispatcher (fast_method.hpp).
    auto read_batch = [](py_flow& self, const fast_args<1>& a) {
        flow_op f(self);
        return read_many(*f, a[0].is_none() ? default_batch
                                            : to_int<py::ssize_t>(a[0], "read_many() max_count",
                                                                  1, max_batch));
    };
    auto write_batch = [](py_flow& self, const fast_args<1>& a) {
        flow_op f(self);
        buffer_list bufs(a[0]);
        return blocking([&] { return f->write_many(bufs.data(), bufs.size()); });
    };
    auto read_packed = [](py_flow& self, const fast_args<2>& a) {
        flow_op f(self);
        packed_reception into(a[0], a[1]);
        return blocking(
            [&] { return f->read_many_into(into.data(), into.size(), into.ends(), into.max()); });
    };
    def_fast<1>(
        cls, "read_many", {{{"max_count", false}}},
        [read_batch](py_flow& self, const fast_args<1>& a) {
            return or_would_block(read_batch(self, a), "read_many");
        },
        "read_many($self, max_count=64)\n--\n\n"
        "Reads up to `max_count` SDUs (at most 1024) as a list of bytes, all those already "
        "queued with one system call. Waits (as read() does) only for the first. Like "
        "consecutive read() calls: if a sized read() left part of an SDU, the list starts "
        "with the rest of it.");
    def_fast<2>(
        cls, "read_many_into", {{{"buffer", true}, {"ends", true}}},
        [read_packed](py_flow& self, const fast_args<2>& a) {
            return or_would_block(read_packed(self, a), "read_many_into");
        },
        "read_many_into($self, buffer, ends)\n--\n\n"
        "Reads SDUs into the writable `buffer`, packed one after another, with no object per "
        "SDU; returns their count n (at least 1). SDU i is buffer[ends[i-1]:ends[i]], offsets "
        "in bytes (ends[-1] taken as 0). `ends` is a writable array of unsigned 64-bit "
        "integers (array('Q'), numpy.uint64); its length is the most SDUs one call reads. "
        "Waits (as read() does) only for the first SDU, read as read_into() would: one "
        "larger than the buffer fills it and the rest comes with the next read (with "
        "NoPartialRead: FlowSizeException). Then takes the SDUs already queued while each "
        "fits whole in the room left, and stops before one that does not (it stays queued). "
        "How tightly it packs depends on the backend: at worst it takes another SDU only "
        "while more than max_sdu bytes are left.");
    def_fast<1>(
        cls, "write_many", {{{"sdus", true}}},
        [write_batch](py_flow& self, const fast_args<1>& a) {
            return or_would_block(write_batch(self, a), "write_many");
        },
        "write_many($self, sdus)\n--\n\n"
        "Writes each bytes-like object of the iterable `sdus` as one SDU, many per system "
        "call. Returns how many were written: all, or fewer when one after the first would "
        "block, timed out or failed (the next call reports that).");
    // For event loops (ouroboros.asyncio): None where those raise
    // BlockingIOError.
    def_fast<1>(
        cls, "_try_read_many", {{{"max_count", false}}},
        [read_batch](py_flow& self, const fast_args<1>& a) {
            return or_none(read_batch(self, a));
        },
        "_try_read_many($self, max_count=64)\n--\n\nread_many(), or None when it would block.");
    def_fast<2>(
        cls, "_try_read_many_into", {{{"buffer", true}, {"ends", true}}},
        [read_packed](py_flow& self, const fast_args<2>& a) {
            return or_none(read_packed(self, a));
        },
        "_try_read_many_into($self, buffer, ends)\n--\n\n"
        "read_many_into(), or None when it would block.");
    def_fast<1>(
        cls, "_try_write_many", {{{"sdus", true}}},
        [write_batch](py_flow& self, const fast_args<1>& a) {
            return or_none(write_batch(self, a));
        },
        "_try_write_many($self, sdus)\n--\n\nwrite_many(), or None when it would block.");
    cls.def(
           "set_busy_poll",
           [](py_flow& self, const py::object& seconds) {
               if (seconds.is_none())
                   throw py::type_error("busy-poll budget must be a number of seconds (0: off)");
               auto t = to_timeout(seconds, "busy-poll budget");
               if (!t || *t > std::chrono::seconds(1))
                   throw py::value_error("busy-poll budget must be at most 1 second, not " +
                                         std::string(py::repr(seconds)));
               self.open_flow().set_busy_poll(*t);
           },
           py::arg("seconds"),
           "Busy polling: a read that finds nothing spins on the flow for up to `seconds` "
           "(at most 1) before it sleeps, spending a CPU to cut the wake-up latency. 0 "
           "turns it off.")
        .def(
            "get_busy_poll",
            [](py_flow& self) {
                return std::chrono::duration<double>(self.open_flow().busy_poll()).count();
            },
            "The busy-poll budget in seconds (0: off).");
}

} // namespace ouroboros::python
