// flow_ring_io.cpp - SDUs through a flow's shared-memory rings (see the
// header for the wake-up and hang-up rules).
#include "flow_ring_io.hpp"

#include "flow_busy_poll.hpp"
#include "runtime/deadline.hpp"
#include "runtime/unique_fd.hpp"

#include <o7s/detail/backend.hpp>
#include <o7s/error.hpp>

#include <poll.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

namespace ouroboros::embedded {
namespace {

using clock = std::chrono::steady_clock;
using runtime::ring_status;

void write_bell(int bell) noexcept
{
    std::uint64_t one = 1;
    ssize_t rc = ::write(bell, &one, sizeof one);
    static_cast<void>(rc); // EAGAIN only at 2^64-2 pending rings
}

// Clears my_bell, then checks the ring again and sets the bell back if a
// record came meanwhile. A writer's bell that the read() swallowed was
// written after its record was published, so the check after it sees that
// record (the system call orders them; the fence says so for the compiler
// and the CPU): the bell is never left clear under a non-empty ring.
void settle_bell(flow_state& f) noexcept
{
    std::uint64_t count;
    ssize_t rc = ::read(f.my_bell, &count, sizeof count);
    static_cast<void>(rc); // EAGAIN: it was clear
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (f.rx.has_data())
        write_bell(f.my_bell);
}

// A blocking reader's arm is undone after its sleep, unless the flow became
// watched meanwhile (watch_ring() sets `watched` before it arms, all in one
// total order, so one of the two re-arms).
void disarm_unless_watched(flow_state& f) noexcept
{
    if (f.watched.load(std::memory_order_seq_cst))
        return;
    f.rx.disarm();
    if (f.watched.load(std::memory_order_seq_cst))
        f.rx.arm();
}

bool peer_hung_up(const flow_state& f) noexcept
{
    pollfd p{f.sock, POLLRDHUP, 0};
    return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

int broken_error()
{
    detail::set_error_detail("the peer corrupted the flow's shared-memory ring (the flow is "
                             "down at this end)");
    return -errc::flow_down;
}

// Sleeps until the peer rings my_bell, the socket hangs up or the deadline
// passes. 0 (woken: look again), 1 (hung up), -ETIMEDOUT, -EINTR or -errno.
int sleep_on_ring(flow_state& f, clock::time_point deadline)
{
    f.rx.arm();
    if (f.rx.has_data()) { // a record came before the writer could see us armed
        disarm_unless_watched(f);
        return 0;
    }
    // The socket only for its hang-up (POLLIN would wake us for an SDU whose
    // in_socket record is not published yet).
    pollfd p[2] = {{f.my_bell, POLLIN, 0}, {f.sock, POLLRDHUP, 0}};
    int rc;
    for (;;) {
        rc = ::poll(p, 2, runtime::poll_timeout_ms(deadline));
        if (rc > 0)
            break;
        if (rc == 0) {
            if (clock::now() < deadline)
                continue; // poll() may wake early on a very long timeout
            rc = -ETIMEDOUT;
            break;
        }
        if (errno != EINTR) {
            rc = -errno;
            break;
        }
        if (detail::interrupted()) {
            rc = -EINTR;
            break;
        }
    }
    disarm_unless_watched(f);
    if (rc < 0)
        return rc;
    if (p[0].revents & POLLIN) {
        if (f.watched.load(std::memory_order_relaxed)) {
            settle_bell(f);
        } else {
            std::uint64_t count;
            ssize_t n = ::read(f.my_bell, &count, sizeof count);
            static_cast<void>(n);
        }
    }
    return (p[1].revents & (POLLRDHUP | POLLHUP | POLLERR)) ? 1 : 0;
}

// Waits until the ring has room for a record of `payload` bytes, in slices
// of room_wait_slice_ns between which it looks for a hang-up and at the
// page's state words: a reader killed while we wait cannot wake us.
int wait_for_room(flow_state& f, std::size_t payload, clock::time_point deadline)
{
    for (;;) {
        const std::uint32_t seq = f.tx.begin_wait();
        const ring_status s = f.tx.room(payload);
        if (s != ring_status::full) {
            f.tx.end_wait();
            return s == ring_status::ok ? 0 : ring_fault(f);
        }
        int rc = ring_write_check(f, /*batch=*/true);
        if (rc == 0 && peer_hung_up(f))
            rc = hangup(f);
        if (rc < 0) {
            f.tx.end_wait();
            return rc;
        }
        if (f.marked_down()) {
            f.tx.end_wait();
            return -errc::flow_down;
        }
        const auto now = clock::now();
        if (now >= deadline) {
            f.tx.end_wait();
            return -ETIMEDOUT;
        }
        const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - now);
        const std::int64_t slice = std::min<std::int64_t>(room_wait_slice_ns, left.count());
        if (f.tx.wait_for_room(seq, slice) == -EINTR && detail::interrupted()) {
            f.tx.end_wait();
            return -EINTR;
        }
    }
}

} // namespace

int ring_fault(flow_state& f)
{
    // Shut down so that whoever watches the flow here sees it hang up, and
    // the peer sees the flow go.
    if (!f.ring_broken.exchange(true))
        ::shutdown(f.sock, SHUT_RDWR);
    return broken_error();
}

int ring_next(flow_state& f, runtime::ring_reader::record& rec)
{
    const flow_flags flags = f.current_flags();
    const bool down = f.marked_down();
    const bool nonblocking = down || any(flags, flow_flags::nonblocking_read);
    const std::int64_t timeo = f.rcv_timeo_ns.load(std::memory_order_relaxed);
    const auto deadline = timeo >= 0 ? runtime::deadline_after_ns(timeo) : clock::time_point::max();
    busy_poll spin(f); // spins on the ring's tail: no system call per try
    bool hung = false;
    for (;;) {
        if (f.ring_broken.load(std::memory_order_relaxed))
            return broken_error();
        switch (f.rx.peek(rec, max_sdu())) {
        case ring_status::ok:
            return 0;
        case ring_status::broken:
            return ring_fault(f);
        default:
            break;
        }
        // Empty. A watched flow's bell may be stale (see the header).
        if (f.watched.load(std::memory_order_relaxed))
            settle_bell(f);
        if (down)
            return -errc::flow_down;
        if (hung)
            return hangup(f);
        if (nonblocking) {
            if (!peer_hung_up(f))
                return -EAGAIN;
            hung = true; // what the peer published before it went comes first
            continue;
        }
        if (spin.wait(deadline))
            continue;
        int rc = sleep_on_ring(f, deadline);
        if (rc < 0)
            return rc;
        hung = rc == 1;
    }
}

ssize_t ring_socket_sdu(flow_state& f, msghdr& mh, std::uint32_t length)
{
    for (;;) {
        ssize_t n = ::recvmsg(f.sock, &mh, MSG_DONTWAIT);
        if (n >= 0) {
            // Sent before its record was published: anything else (nothing,
            // the end of the flow, another size) is a peer that lied.
            if (n != static_cast<ssize_t>(length) || (mh.msg_flags & MSG_TRUNC))
                return ring_fault(f);
            return n;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN)
            return ring_fault(f);
        return errno == ECONNRESET ? hangup(f) : -errno;
    }
}

void ring_done(flow_state& f, bool more)
{
    f.rx.consume();
    f.mine().consumed.fetch_add(1, std::memory_order_relaxed);
    if (!more)
        ring_done_batch(f);
}

void ring_done_batch(flow_state& f)
{
    f.rx.release();
    if (f.watched.load(std::memory_order_relaxed) && !f.rx.has_data())
        settle_bell(f);
}

int ring_write_check(flow_state& f, bool batch)
{
    if (f.ring_broken.load(std::memory_order_relaxed))
        return broken_error();
    if (f.peer_timed_out.load(std::memory_order_acquire) ||
        ((f.my_state().load(std::memory_order_relaxed) |
          f.peer_state().load(std::memory_order_relaxed)) &
         end_deallocated))
        return hangup(f);
    if (batch)
        return 0;
    // A reader that consumed since our last write was alive a moment ago;
    // otherwise ask the socket.
    const std::uint64_t head = f.tx.reader_head();
    const bool moved = f.head_checked && head != f.head_at_check;
    f.head_at_check = head;
    f.head_checked = true;
    if (moved)
        return 0;
    return peer_hung_up(f) ? hangup(f) : 0;
}

int ring_send(flow_state& f, const void* buf, std::size_t n, flow_flags flags)
{
    if (int rc = ring_write_check(f, /*batch=*/false); rc < 0)
        return rc;
    const bool big = n > f.tx.max_record();
    const std::size_t payload = big ? 0 : n;
    ring_status s = f.tx.room(payload);
    if (s == ring_status::broken)
        return ring_fault(f);
    if (s == ring_status::full) {
        if (any(flags, flow_flags::nonblocking_write))
            return -EAGAIN;
        const std::int64_t timeo = f.snd_timeo_ns.load(std::memory_order_relaxed);
        const auto deadline =
            timeo >= 0 ? runtime::deadline_after_ns(timeo) : clock::time_point::max();
        if (int rc = wait_for_room(f, payload, deadline); rc < 0)
            return rc;
    }
    if (big) {
        // The SDU first, its record after: the reader never finds a record
        // whose SDU is not queued. Room for the record is ours already
        // (one writer at a time), so a failed send leaves nothing behind.
        if (int rc = send_to_socket(f, buf, n, flags); rc < 0)
            return rc;
        f.tx.put(runtime::ring_in_socket, static_cast<std::uint32_t>(n), nullptr, 0);
    } else {
        f.tx.put(runtime::ring_data, static_cast<std::uint32_t>(n), buf, n);
    }
    if (f.tx.publish())
        ring_bell(f);
    return 0;
}

void ring_bell(const flow_state& f) noexcept
{
    write_bell(f.peer_bell);
}

void watch_ring(flow_state& f) noexcept
{
    f.watched.store(true, std::memory_order_seq_cst);
    f.rx.arm();
    if (f.rx.has_data())
        write_bell(f.my_bell);
}

int ring_pollable_fd(flow_state& f)
{
    std::lock_guard<std::mutex> lock(f.poll_fd_made);
    if (f.poll_fd < 0) {
        runtime::unique_fd ep(::epoll_create1(EPOLL_CLOEXEC));
        if (!ep)
            return -errno;
        epoll_event bell{};
        bell.events = EPOLLIN;
        epoll_event hang{};
        hang.events = EPOLLRDHUP; // EPOLLHUP and EPOLLERR come anyway
        hang.data.u64 = 1;
        if (::epoll_ctl(ep.get(), EPOLL_CTL_ADD, f.my_bell, &bell) != 0 ||
            ::epoll_ctl(ep.get(), EPOLL_CTL_ADD, f.sock, &hang) != 0)
            return -errno;
        f.poll_fd = ep.release();
    }
    watch_ring(f);
    return f.poll_fd;
}

bool ring_readable(flow_state& f) noexcept
{
    if (f.rx.has_data())
        return true;
    settle_bell(f);
    return f.rx.has_data();
}

} // namespace ouroboros::embedded
