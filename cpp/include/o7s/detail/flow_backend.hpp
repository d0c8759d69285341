// o7s/detail/flow_backend.hpp - the flow half of the seam between the C++
// API and an Ouroboros implementation: dev.h, fccntl.h and fqueue.h.
//
// The RAII wrappers (flow, flow_set) are written once against this
// interface; the embedded runtime and the real Ouroboros (a plugin loaded
// with dlopen) implement it. It deliberately keeps the shape of the C API:
// integer flow descriptors and negative errno return values, so the system
// backend is a thin translation. Wrappers never pass a descriptor that did
// not come from the backend, nor one that was deallocated. The IRM half is
// irm_backend.hpp; backend.hpp joins the two.
#pragma once

#include <o7s/detail/services.hpp>
#include <o7s/flags.hpp>
#include <o7s/qos.hpp>
#include <o7s/sdu.hpp>
#include <o7s/timeout.hpp>

#include <sys/types.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ouroboros::detail {

struct event {
    int fd;
    event_type type;
    std::uint64_t tag; // the tag the flow was added with
};

// A set of flows to wait on (fset_t). Owned by a flow_set wrapper, which
// removes a flow before the flow is deallocated. Thread-safe: wait() may
// run while other threads add, remove or cancel.
class event_set {
public:
    virtual ~event_set() = default;
    // Adds fd; its events carry `tag`. 0 (also when fd is in the set
    // already) or -errno.
    virtual int add(int fd, std::uint64_t tag) = 0;
    virtual void remove(int fd) noexcept = 0;
    virtual bool has(int fd) const noexcept = 0;
    virtual void zero() noexcept = 0;
    // Waits for events on the set and appends them to `out`. Returns the
    // number appended (> 0; 0 only after wake()), -ETIMEDOUT, -EINTR,
    // -ECANCELED (see cancel()) or another -errno.
    virtual int wait(std::vector<event>& out, timeout t) = 0;
    // Makes waits in progress and to come return -ECANCELED: the set is
    // being destroyed.
    virtual void cancel() noexcept = 0;
    // Makes a wait in progress (or the next one) return, with or without
    // events: the wrapper has events of its own to deliver.
    virtual void wake() noexcept = 0;
    // A kernel fd that polls readable when wait() would return at once
    // (for event loops, which then wait() with a zero timeout), or
    // -ENOTSUP where the backend has none.
    virtual int pollable_fd() const noexcept { return -ENOTSUP; }
};

enum class request_kind { alloc, accept, join };

// A flow request (alloc, accept, join) in progress that never blocks, for
// event loops: watch fd() for readability, then call poll(). Destroying
// it gives the request up; an allocation given up before poll() returned
// its flow leaves no flow at either end.
class pending_flow {
public:
    virtual ~pending_flow() = default;
    // Polls readable when poll() can make progress. It may change after a
    // poll() that returned -EAGAIN.
    virtual int fd() const noexcept = 0;
    // The flow descriptor once the flow is allocated (`qos` as for
    // flow_alloc: the flow's QoS, may be nullptr), -EAGAIN while it is not
    // yet, or -errno. Called again after it returned a flow or an error,
    // it returns -EALREADY.
    virtual int poll(qos_spec* qos) = 0;
};

enum class direction { rcv, snd };

class flow_backend {
public:
    virtual ~flow_backend() = default;

    // --- flows (dev.h) ------------------------------------------------------
    // Return a flow descriptor >= 0 or -errno. `qos` is in/out for alloc and
    // join (nullptr: the default spec), out for accept (may be nullptr).
    virtual int flow_alloc(const std::string& dst, qos_spec* qos, timeout t) = 0;
    virtual int flow_accept(qos_spec* qos, timeout t) = 0;
    virtual int flow_join(const std::string& dst, qos_spec* qos, timeout t) = 0;
    virtual int flow_dealloc(int fd) = 0;
    // Wakes threads blocked in I/O on fd so that it can be deallocated.
    virtual void flow_interrupt(int fd) noexcept = 0;

    virtual ssize_t flow_read(int fd, void* buf, std::size_t count) = 0;
    virtual ssize_t flow_write(int fd, const void* buf, std::size_t count) = 0;

    // --- flow control (fccntl.h); 0 or -errno ----------------------------
    virtual int set_timeout(int fd, direction d, timeout t) = 0;
    virtual int get_timeout(int fd, direction d, timeout& t) = 0;
    virtual int set_flags(int fd, flow_flags f) = 0;
    virtual int get_flags(int fd, flow_flags& f) = 0;
    virtual int get_qos(int fd, qos_spec& q) = 0;
    virtual int queue_len(int fd, direction d, std::size_t& n) = 0;
    virtual int set_frct_flags(int fd, frct_flags f) = 0;
    virtual int get_frct_flags(int fd, frct_flags& f) = 0;
    // A kernel fd that polls readable when the flow has something to read,
    // or -ENOTSUP where the backend cannot offer one.
    virtual int pollable_fd(int fd) = 0;
    // The largest SDU a single write may carry on any flow, and on fd (less
    // where the flow adds overhead, e.g. encryption).
    virtual std::size_t max_sdu() const noexcept = 0;
    virtual std::size_t flow_max_sdu(int /*fd*/) { return max_sdu(); }

    // --- events (fqueue.h) ------------------------------------------------
    // nullptr with errno-style detail on failure (no more sets available).
    virtual std::unique_ptr<event_set> create_event_set(int& err) = 0;

    // --- extensions beyond the C API (defaults below) ---------------------
    // Batches: many SDUs per call. The defaults loop over the calls above,
    // so every backend has them; a backend overrides them when it can do
    // better (one system call for many SDUs).
    //
    // Reads up to n SDUs as consecutive flow_read() calls would, but only
    // the first may wait. The batch goes on past the first only while an
    // SDU is queued, the first ended its SDU (did not fill its buffer), and
    // the next buffer is larger than max_sdu() (so it takes a whole SDU).
    // Sets v[i].size to the bytes read. Returns the number of buffers read
    // (>= 1 when n > 0) or, when the first read fails, -errno.
    virtual ssize_t flow_read_many(int fd, sdu_buffer* v, std::size_t n);
    // Reads up to `max` SDUs into the one buffer `buf` of `size` bytes,
    // packed one after another: SDU i occupies buf[ends[i-1] .. ends[i])
    // (ends[-1] taken as 0), so a caller gets many SDUs without a buffer or
    // an object per SDU. Only the first read may wait, and it follows
    // flow_read()'s rules (flags and timeouts apply; an SDU larger than
    // `size` is read in part, the rest left for the next read, or with
    // NoPartialRead fails). Later SDUs are taken only while one is queued
    // and fits whole in what is left of the buffer (is shorter than it: a
    // read that fills its buffer exactly does not end its SDU); the batch
    // stops before one that does not fit, which stays queued. Returns
    // the count (>= 1 when max > 0) or, when the first read fails, -errno.
    // The default takes a later SDU only while the room left is larger
    // than flow_max_sdu(fd), the one bound it knows that every SDU meets;
    // a backend that sees the next SDU's size before reading it can pack
    // tighter.
    virtual ssize_t flow_read_many_into(int fd, void* buf, std::size_t size, std::size_t* ends,
                                        std::size_t max);
    // Writes up to n SDUs as consecutive flow_write() calls would. Returns
    // how many were written: n, or fewer when a write after the first
    // failed or would block (that write's error comes back from the next
    // call), or -errno when the first failed.
    virtual ssize_t flow_write_many(int fd, const sdu_view* v, std::size_t n);
    // Busy polling: a read that finds nothing spins for up to `budget`
    // (bounded by the read timeout) before it sleeps. Zero turns it off.
    virtual int set_busy_poll(int fd, std::chrono::nanoseconds budget);
    virtual int get_busy_poll(int fd, std::chrono::nanoseconds& budget);
    // Starts a flow request that never blocks (`dst` and `qos` as for
    // flow_alloc/flow_join; accept ignores them). nullptr with -errno in
    // `err` on failure; -ENOTSUP (the default) where the backend has no
    // such requests, and callers run the blocking calls on a thread.
    virtual std::unique_ptr<pending_flow> start_flow_request(request_kind kind,
                                                             const std::string& dst,
                                                             const qos_spec* qos, timeout t,
                                                             int& err);
};

// --- default implementations of the extensions -------------------------

inline ssize_t flow_backend::flow_read_many(int fd, sdu_buffer* v, std::size_t n)
{
    if (n == 0)
        return 0;
    const std::size_t first_room = v[0].size;
    ssize_t got = flow_read(fd, v[0].data, first_room);
    if (got < 0)
        return got;
    v[0].size = static_cast<std::size_t>(got);
    if (static_cast<std::size_t>(got) == first_room)
        return 1; // the SDU may go on: the next read belongs to it
    const std::size_t whole = max_sdu();
    std::size_t i = 1;
    for (; i < n && v[i].size > whole; ++i) {
        std::size_t queued = 0;
        if (queue_len(fd, direction::rcv, queued) < 0 || queued == 0)
            break;
        got = flow_read(fd, v[i].data, v[i].size);
        if (got <= 0)
            break; // a failure shows again on the next call
        v[i].size = static_cast<std::size_t>(got);
    }
    return static_cast<ssize_t>(i);
}

inline ssize_t flow_backend::flow_read_many_into(int fd, void* buf, std::size_t size,
                                                 std::size_t* ends, std::size_t max)
{
    if (max == 0)
        return 0;
    char* const base = static_cast<char*>(buf);
    ssize_t got = flow_read(fd, base, size);
    if (got < 0)
        return got;
    std::size_t end = static_cast<std::size_t>(got);
    ends[0] = end;
    if (end == size)
        return 1; // the SDU may go on: the next read belongs to it
    // Room larger than any SDU means the read ends its SDU (no exact fill).
    const std::size_t whole = flow_max_sdu(fd);
    std::size_t i = 1;
    for (; i < max && size - end > whole; ++i) {
        std::size_t queued = 0;
        if (queue_len(fd, direction::rcv, queued) < 0 || queued == 0)
            break;
        got = flow_read(fd, base + end, size - end);
        if (got <= 0)
            break; // a failure shows again on the next call
        end += static_cast<std::size_t>(got);
        ends[i] = end;
    }
    return static_cast<ssize_t>(i);
}

inline ssize_t flow_backend::flow_write_many(int fd, const sdu_view* v, std::size_t n)
{
    for (std::size_t i = 0; i < n; ++i) {
        ssize_t rc = flow_write(fd, v[i].data, v[i].size);
        if (rc < 0)
            return i > 0 ? static_cast<ssize_t>(i) : rc;
    }
    return static_cast<ssize_t>(n);
}

inline int flow_backend::set_busy_poll(int, std::chrono::nanoseconds)
{
    set_error_detail("this backend has no busy-poll mode");
    return -ENOTSUP;
}

inline int flow_backend::get_busy_poll(int, std::chrono::nanoseconds& budget)
{
    budget = std::chrono::nanoseconds(0);
    return 0;
}

inline std::unique_ptr<pending_flow> flow_backend::start_flow_request(request_kind,
                                                                      const std::string&,
                                                                      const qos_spec*, timeout,
                                                                      int& err)
{
    set_error_detail("this backend has no non-blocking flow requests");
    err = -ENOTSUP;
    return nullptr;
}

} // namespace ouroboros::detail
