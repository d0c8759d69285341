// flows.cpp - allocation, deallocation and flow control over
// libouroboros-dev.
#include "system_flows.hpp"
#include "system_irm.hpp"

#include "errno_map.hpp"
#include "exit_gate.hpp"
#include "qos_map.hpp"

#include <o7s/error.hpp>

#include <cerrno>
#include <memory>
#include <mutex>
#include <thread>

namespace ouroboros::system {
namespace {

using detail::direction;
using detail::set_error_detail;

// The IRMd bounds an allocation requested without a timeout by its own
// FLOW_ALLOC_TIMEOUT (20 s in every release), then answers -EPERM.
constexpr auto irmd_alloc_timeout = std::chrono::seconds(20);
constexpr auto linger_poll = std::chrono::milliseconds(10);

const timespec* timespec_of(timeout t, timespec& ts) noexcept
{
    if (!t)
        return nullptr;
    ts = to_timespec(*t);
    return &ts;
}

// Maps and explains a failed flow_alloc() (or flow_join(), `join`) to `dst`.
int allocation_failed(int rc, const system_irm& irm, const std::string& dst, timeout t,
                      clock::time_point start, bool join = false)
{
    if (rc == -1) {
        if (!t && clock::now() - start >= irmd_alloc_timeout - std::chrono::seconds(1)) {
            set_error_detail("the IRMd gave up after its own allocation timeout (20 s)");
            return -ETIMEDOUT;
        }
        return irmd_failure();
    }
    rc = from_library(rc);
    // 0.21 reports a refused allocation as ENOTALLOC, 0.23 as EIPCP.
    if (rc == -errc::not_allocated)
        rc = -errc::ipcp;
    // 0.22 reports a name it does not know as EAUTH (it finds no security
    // settings for it).
    if (rc == -errc::auth && !join && !irm.knows_name(dst))
        rc = -errc::name;
    if (rc == -errc::ipcp && join)
        set_error_detail("no broadcast layer of that name answered");
    else if (rc == -errc::ipcp)
        set_error_detail("no process took the flow: none is bound to the name and waiting in "
                         "flow_accept(), or the name is not registered in a layer");
    else if (rc == -errc::name)
        set_error_detail("the IRMd knows no such name");
    return rc;
}

// Ouroboros 0.23's flow_alloc() fails (ECRYPT, or it times out) when
// threads of one process allocate at once, so allocations and joins take
// turns. Waits for the turn in slices (Ctrl-C) and within `t`, which it
// shortens by the wait. 0 or -errno.
int take_turn(std::unique_lock<std::timed_mutex>& turn, timeout& t)
{
    const deadline end(t);
    while (!turn.try_lock_for(io_slice)) {
        if (end.passed())
            return -ETIMEDOUT;
        if (detail::interrupted())
            return -EINTR;
    }
    if (t)
        t = end.slice(*t);
    return 0;
}

std::timed_mutex allocating;

// The library's form of an optional QoS spec: 0, or -errno.
int library_qos(const qos_spec* qos, qosspec_t& out)
{
    out = qos_raw;
    return qos != nullptr ? to_library(*qos, out) : 0;
}

} // namespace

timespec to_timespec(std::chrono::nanoseconds d) noexcept
{
    if (d.count() < 0)
        d = std::chrono::nanoseconds(0);
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(d.count() / 1000000000);
    ts.tv_nsec = static_cast<long>(d.count() % 1000000000);
    return ts;
}

system_flows::~system_flows() = default;

int system_flows::missing(int fd) noexcept
{
    return fd < 0 ? -EBADF : -errc::not_allocated;
}

int system_flows::adopt(int fd)
{
    auto f = std::make_unique<flow_state>();
    if (!flows_.put(fd, f.get())) {
        ::flow_dealloc(fd);
        set_error_detail("the library handed out flow descriptor " + std::to_string(fd) +
                         ", beyond what this backend can track");
        return -EMFILE;
    }
    f.release(); // owned by the table until flow_dealloc()
    return fd;
}

int system_flows::flow_alloc(const std::string& dst, qos_spec* qos, timeout t)
{
    if (OUROBOROS_VERSION_MINOR >= 23 && irm_.bound_to_self(dst)) {
        // The IRMd would connect this process to itself directly, which
        // fails on both ends and can leave the layer's IPCP stuck.
        set_error_detail("this process is bound to '" + dst + "' itself, and Ouroboros " +
                         O7S_OUROBOROS_VERSION_STRING " cannot allocate a flow from a process to "
                         "itself: serve the name from another process");
        return -ENOTSUP;
    }
    qosspec_t q;
    if (int rc = library_qos(qos, q); rc < 0)
        return rc;
    if (int gone = irmd_gone(); gone < 0)
        return gone;
    std::unique_lock<std::timed_mutex> turn(allocating, std::defer_lock);
    if (int rc = take_turn(turn, t); rc < 0)
        return rc;
    timespec ts;
    const auto start = clock::now();
    // Not sliced: each slice would be a new allocation. The IRMd bounds the
    // wait (see irmd_alloc_timeout), and Ctrl-C takes effect when it ends.
    int fd = ::flow_alloc(dst.c_str(), qos ? &q : nullptr, timespec_of(t, ts));
    if (fd < 0)
        return allocation_failed(fd, irm_, dst, t, start);
    if (qos != nullptr)
        *qos = from_library(q);
    return adopt(fd);
}

int system_flows::flow_accept(qos_spec* qos, timeout t)
{
    const deadline end(t);
    for (;;) {
        if (int gone = irmd_gone(); gone < 0)
            return gone;
        qosspec_t q = qos_raw;
        timespec ts = to_timespec(end.slice(accept_slice));
        int fd = 0;
        {
            library_call in;
            if (!in)
                return exiting();
            fd = ::flow_accept(&q, &ts);
        }
        if (fd >= 0) {
            if (qos != nullptr)
                *qos = from_library(q);
            return adopt(fd);
        }
        if (fd != -ETIMEDOUT)
            return fd == -1 ? irmd_failure() : from_library(fd);
        if (end.passed())
            return -ETIMEDOUT;
        if (detail::interrupted())
            return -EINTR;
    }
}

int system_flows::flow_join(const std::string& dst, qos_spec* qos, timeout t)
{
    qosspec_t q;
    if (int rc = library_qos(qos, q); rc < 0)
        return rc;
    if (int gone = irmd_gone(); gone < 0)
        return gone;
    std::unique_lock<std::timed_mutex> turn(allocating, std::defer_lock);
    if (int rc = take_turn(turn, t); rc < 0)
        return rc;
    timespec ts;
    const auto start = clock::now();
#if O7S_FLOW_JOIN_TAKES_QOS
    int fd = ::flow_join(dst.c_str(), qos ? &q : nullptr, timespec_of(t, ts));
#else
    // From 0.22 a broadcast flow gets the layer's QoS; `qos` only reports it.
    int fd = ::flow_join(dst.c_str(), timespec_of(t, ts));
#endif
    if (fd < 0)
        return allocation_failed(fd, irm_, dst, t, start, /*join=*/true);
    if (qos != nullptr && fccntl(fd, FLOWGQOSSPEC, &q) == 0)
        *qos = from_library(q);
    return adopt(fd);
}

int system_flows::flow_dealloc(int fd)
{
    std::unique_ptr<flow_state> f(flows_.take(fd));
    if (!f)
        return missing(fd);
    pollable_.forget(fd);
    // The library waits, without end, until the peer has read everything
    // we sent, and on a reliable flow until the peer acknowledged it: give
    // a live peer until the deadline, then leave it to parked_flows.
    const auto until = clock::now() + dealloc_linger;
    std::size_t queued = 0;
    if (fccntl(fd, FLOWGTXQLEN, &queued) < 0)
        queued = 0;
    if (queued > 0 && f->down.load() == 0) {
        while (queued > 0 && clock::now() < until) {
            std::this_thread::sleep_for(linger_poll);
            if (fccntl(fd, FLOWGTXQLEN, &queued) < 0)
                queued = 0;
        }
    }
    if (queued == 0) {
        int rc = parked_.dealloc(fd, until);
        return rc == -1 ? irmd_failure() : from_library(rc);
    }
    parked_.park(fd);
    return 0;
}

void system_flows::flow_interrupt(int fd) noexcept
{
    if (flow_state* f = state(fd))
        f->interrupt.store(true);
}

int system_flows::set_timeout(int fd, direction d, timeout t)
{
    flow_state* f = state(fd);
    if (f == nullptr)
        return missing(fd);
    if (t && t->count() < 0)
        return -EINVAL;
    (d == direction::rcv ? f->rcv_timeo_ns : f->snd_timeo_ns).store(t ? t->count() : -1);
    return 0;
}

int system_flows::get_timeout(int fd, direction d, timeout& t)
{
    flow_state* f = state(fd);
    if (f == nullptr)
        return missing(fd);
    std::int64_t ns = (d == direction::rcv ? f->rcv_timeo_ns : f->snd_timeo_ns).load();
    t = ns < 0 ? timeout() : timeout(std::chrono::nanoseconds(ns));
    return 0;
}

int system_flows::set_flags(int fd, flow_flags fl)
{
    flow_state* f = state(fd);
    if (f == nullptr)
        return missing(fd);
    const auto raw = static_cast<std::uint32_t>(fl);
    int rc = from_library(fccntl(fd, FLOWSFLAGS, raw));
    if (rc == 0)
        f->flags.store(raw);
    return rc;
}

int system_flows::get_flags(int fd, flow_flags& fl)
{
    if (state(fd) == nullptr)
        return missing(fd);
    std::uint32_t raw = 0;
    int rc = from_library(fccntl(fd, FLOWGFLAGS, &raw));
    fl = static_cast<flow_flags>(raw);
    return rc;
}

int system_flows::get_qos(int fd, qos_spec& q)
{
    if (state(fd) == nullptr)
        return missing(fd);
    qosspec_t qs{};
    int rc = from_library(fccntl(fd, FLOWGQOSSPEC, &qs));
    if (rc == 0)
        q = from_library(qs);
    return rc;
}

int system_flows::queue_len(int fd, direction d, std::size_t& n)
{
    if (state(fd) == nullptr)
        return missing(fd);
    return from_library(fccntl(fd, d == direction::rcv ? FLOWGRXQLEN : FLOWGTXQLEN, &n));
}

int system_flows::set_frct_flags(int fd, frct_flags fl)
{
    if (state(fd) == nullptr)
        return missing(fd);
    // FRCTSFLAGS takes the flags by value, promoted to int.
    int rc = fccntl(fd, FRCTSFLAGS, static_cast<std::uint32_t>(fl) & 0xffffu);
    if (rc == -EPERM)
        set_error_detail("the flow has no FRCT (it was allocated without in_order)");
    return from_library(rc);
}

int system_flows::get_frct_flags(int fd, frct_flags& fl)
{
    if (state(fd) == nullptr)
        return missing(fd);
    std::uint16_t raw = 0;
    int rc = fccntl(fd, FRCTGFLAGS, &raw);
    if (rc == -EPERM)
        set_error_detail("the flow has no FRCT (it was allocated without in_order)");
    fl = static_cast<frct_flags>(raw);
    return from_library(rc);
}

int system_flows::pollable_fd(int fd)
{
    if (state(fd) == nullptr)
        return missing(fd);
    return pollable_.descriptor_of(fd); // pollable_flows.hpp
}

} // namespace ouroboros::system
