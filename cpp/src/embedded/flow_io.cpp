// flow_io.cpp - reading and writing SDUs on an embedded flow.
//
// With rings, a plain SDU costs a copy into shared memory and a few atomic
// loads, and a system call only to wake a sleeping reader
// (flow_ring_io.hpp); without, one recvmsg()/send() per SDU. Encrypted
// flows add the AEAD and a lock that keeps nonces in send order.
#include "flow_busy_poll.hpp"
#include "flow_ring_io.hpp"
#include "flow_state.hpp"
#include "runtime/deadline.hpp"
#include "wait_fd.hpp"

#include <o7s/detail/backend.hpp>
#include <o7s/error.hpp>

#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace ouroboros::embedded {
namespace {

using clock = std::chrono::steady_clock;

// A per-thread scratch area of max_sdu() bytes: the part of an SDU that
// does not fit the caller's buffer, or a whole sealed record. Mapped
// lazily; pages are touched only as far as they are used.
struct scratch_area {
    void* base = nullptr;
    std::size_t size = 0;
    ~scratch_area()
    {
        if (base)
            ::munmap(base, size);
    }
    void* get(std::size_t n)
    {
        if (base == nullptr) {
            void* p = ::mmap(nullptr, n, PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
            if (p == MAP_FAILED)
                return nullptr;
            base = p;
            size = n;
        }
        return base;
    }
};
thread_local scratch_area overflow;
thread_local scratch_area sealing;

} // namespace

// Why the socket hung up: our peer-timeout ticker shut it down, or the
// peer deallocated the flow or died.
int hangup(const flow_state& f) noexcept
{
    if (f.peer_timed_out.load(std::memory_order_acquire))
        return -errc::flow_peer;
    if (f.my_state().load(std::memory_order_acquire) & end_deallocated)
        return -errc::flow_down; // we are closing it ourselves
    try {
        detail::set_error_detail(f.peer_state().load(std::memory_order_acquire) & end_deallocated
                                     ? "the peer deallocated the flow"
                                     : "the peer's process ended without deallocating the flow");
    } catch (...) {
        // Without memory for the text the error still says the flow is down.
    }
    return -errc::flow_down;
}

namespace {

clock::time_point deadline_of(const std::atomic<std::int64_t>& timeo_ns)
{
    return runtime::deadline_after_ns(timeo_ns.load(std::memory_order_relaxed));
}

// Serves a read from the rest of an SDU kept from an earlier partial read.
ssize_t read_rest(flow_state& f, void* buf, std::size_t count, bool partial)
{
    std::size_t left = f.rest.size() - f.rest_off;
    std::size_t n = left < count ? left : count;
    std::memcpy(buf, f.rest.data() + f.rest_off, n);
    f.rest_off += n;
    if (f.rest_off == f.rest.size()) {
        f.rest.clear();
        f.rest_off = 0;
        f.has_rest.store(false, std::memory_order_relaxed);
        f.end_of_sdu_pending = partial && n == count;
    }
    return static_cast<ssize_t>(n);
}

// Keeps the part of an SDU beyond what the caller's buffer took.
void keep_rest(flow_state& f, const void* extra, std::size_t n)
{
    auto* p = static_cast<const std::uint8_t*>(extra);
    f.rest.assign(p, p + n);
    f.rest_off = 0;
    f.has_rest.store(true, std::memory_order_relaxed);
}

// One recvmsg() of a whole record. Returns its size or -errno. A flow
// marked down still delivers what is queued, then -EFLOWDOWN (as an
// Ouroboros ring buffer with ACL_FLOWDOWN).
ssize_t receive(flow_state& f, msghdr& mh)
{
    const flow_flags flags = f.current_flags();
    const bool down = f.marked_down();
    const bool nonblocking = down || any(flags, flow_flags::nonblocking_read);
    const bool timed = f.rcv_timeo_ns.load(std::memory_order_relaxed) >= 0;
    const auto deadline = timed ? deadline_of(f.rcv_timeo_ns) : clock::time_point::max();
    busy_poll spin(f); // flow_busy_poll.hpp
    const int mode = (nonblocking || timed || spin.enabled()) ? MSG_DONTWAIT : 0;
    // Into one buffer, recv() spares the kernel the msghdr (0.1 us a call
    // here); with MSG_TRUNC it returns the record's whole length.
    const bool one = mh.msg_iovlen == 1;
    const iovec only = mh.msg_iov[0];

    for (;;) {
        ssize_t n = one ? ::recv(f.sock, only.iov_base, only.iov_len, mode | MSG_TRUNC)
                        : ::recvmsg(f.sock, &mh, mode);
        if (n > 0) {
            bool cut = one ? static_cast<std::size_t>(n) > only.iov_len
                           : (mh.msg_flags & MSG_TRUNC) != 0;
            return cut ? -EMSGSIZE : n;
        }
        if (n == 0)
            return hangup(f); // the peer is gone (or we were shut down)
        switch (errno) {
        case EINTR:
            if (detail::interrupted())
                return -EINTR;
            continue;
        case EAGAIN:
            if (down)
                return -errc::flow_down;
            if (nonblocking)
                return -EAGAIN;
            if (spin.wait(deadline))
                continue;
            if (int rc = wait_fd(f.sock, POLLIN, deadline); rc < 0)
                return rc;
            continue;
        case ECONNRESET:
        case EPIPE:
            return hangup(f);
        default:
            return -errno;
        }
    }
}

// What a read gets from an SDU of `size` bytes in a `count`-byte buffer:
// all of it, its first part (the rest kept), or EMSGSIZE without partial
// reads.
ssize_t deliver(flow_state& f, std::size_t size, std::size_t count, bool partial,
                const void* extra)
{
    if (size <= count) {
        f.end_of_sdu_pending = partial && size == count;
        return static_cast<ssize_t>(size);
    }
    if (!partial) {
        detail::set_error_detail("SDU of " + std::to_string(size) + " bytes does not fit the " +
                                 std::to_string(count) + "-byte buffer (partial reads are off)");
        return -EMSGSIZE; // the SDU is dropped, as in Ouroboros
    }
    keep_rest(f, extra, size - count);
    return static_cast<ssize_t>(count);
}

// The next SDU of a flow with rings, whole, into `buf` (the first `count`
// bytes) and `spill` (the rest, `spill_size` bytes at most). Its size or
// -errno.
ssize_t take_from_ring(flow_state& f, void* buf, std::size_t count, void* spill,
                       std::size_t spill_size)
{
    runtime::ring_reader::record rec;
    if (int rc = ring_next(f, rec); rc < 0)
        return rc;
    const std::size_t size = rec.length;
    if (rec.kind == runtime::ring_data) {
        const std::size_t now = size < count ? size : count;
        std::memcpy(buf, rec.payload, now);
        if (size > now) {
            if (size - now > spill_size)
                return ring_fault(f); // cannot happen: ring records are smaller
            std::memcpy(spill, rec.payload + now, size - now);
        }
    } else {
        iovec iov[2] = {{buf, count}, {spill, spill_size}};
        msghdr mh{};
        mh.msg_iov = iov;
        mh.msg_iovlen = spill_size > 0 ? 2 : 1;
        if (ssize_t n = ring_socket_sdu(f, mh, rec.length); n < 0)
            return n;
    }
    ring_done(f);
    return static_cast<ssize_t>(size);
}

// A plaintext SDU: `count` bytes straight into buf, any rest into the
// overflow area, in one copy (or one recvmsg()).
ssize_t read_plain(flow_state& f, void* buf, std::size_t count, bool partial)
{
    const std::size_t limit = max_sdu();
    if (f.has_rings()) {
        void* spill = count < limit ? overflow.get(limit) : nullptr;
        if (count < limit && spill == nullptr)
            return -ENOMEM;
        ssize_t n = take_from_ring(f, buf, count, spill, spill ? limit - count : 0);
        return n < 0 ? n : deliver(f, static_cast<std::size_t>(n), count, partial, spill);
    }
    iovec iov[2] = {{buf, count}, {nullptr, 0}};
    msghdr mh{};
    mh.msg_iov = iov;
    mh.msg_iovlen = 1;
    void* spill = nullptr;
    if (count < limit) {
        spill = overflow.get(limit);
        if (spill == nullptr)
            return -ENOMEM;
        iov[1] = {spill, limit - count};
        mh.msg_iovlen = 2;
    }
    ssize_t n = receive(f, mh);
    if (n < 0)
        return n;
    f.mine().consumed.fetch_add(1, std::memory_order_relaxed);
    return deliver(f, static_cast<std::size_t>(n), count, partial, spill);
}

// A sealed SDU: the whole record into the scratch area, opened in place.
ssize_t read_sealed(flow_state& f, void* buf, std::size_t count, bool partial)
{
    const std::size_t limit = max_sdu();
    void* area = overflow.get(limit);
    if (area == nullptr)
        return -ENOMEM;
    ssize_t n;
    if (f.has_rings()) {
        n = take_from_ring(f, area, limit, nullptr, 0);
    } else {
        iovec iov{area, limit};
        msghdr mh{};
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        n = receive(f, mh);
        if (n >= 0)
            f.mine().consumed.fetch_add(1, std::memory_order_relaxed);
    }
    if (n < 0)
        return n;
    long plain = f.cipher->open(area, static_cast<std::size_t>(n));
    if (plain < 0)
        return plain;
    const char* sdu = static_cast<const char*>(area) + seal_header_size;
    std::size_t size = static_cast<std::size_t>(plain);
    if (size > count && !partial) {
        detail::set_error_detail("SDU of " + std::to_string(size) + " bytes does not fit the " +
                                 std::to_string(count) + "-byte buffer (partial reads are off)");
        return -EMSGSIZE;
    }
    std::size_t now = size <= count ? size : count;
    std::memcpy(buf, sdu, now);
    if (size > count)
        keep_rest(f, sdu + count, size - count);
    else
        f.end_of_sdu_pending = partial && size == count;
    return static_cast<ssize_t>(now);
}

} // namespace

int send_to_socket(flow_state& f, const void* buf, std::size_t count, flow_flags flags)
{
    const bool nonblocking = any(flags, flow_flags::nonblocking_write);
    const bool timed = f.snd_timeo_ns.load(std::memory_order_relaxed) >= 0;
    const auto deadline = timed ? deadline_of(f.snd_timeo_ns) : clock::time_point::max();
    const int mode = MSG_NOSIGNAL | ((nonblocking || timed) ? MSG_DONTWAIT : 0);

    for (;;) {
        if (::send(f.sock, buf, count, mode) >= 0)
            return 0;
        switch (errno) {
        case EINTR:
            if (detail::interrupted())
                return -EINTR;
            continue;
        case EAGAIN:
            if (nonblocking)
                return -EAGAIN;
            if (int rc = wait_fd(f.sock, POLLOUT, deadline); rc < 0)
                return rc;
            continue;
        case ECONNRESET:
        case EPIPE:
        case ENOTCONN:
            return hangup(f);
        default:
            return -errno;
        }
    }
}

namespace {

// Sends one record: into the ring when the flow has rings, else on the
// socket. Returns 0 or -errno.
int send_record(flow_state& f, const void* buf, std::size_t count, flow_flags flags)
{
    if (!f.has_rings())
        return send_to_socket(f, buf, count, flags);
    std::lock_guard<std::mutex> lock(f.writing);
    return ring_send(f, buf, count, flags);
}

int send_sealed(flow_state& f, const void* buf, std::size_t count, flow_flags flags)
{
    void* out = sealing.get(max_sdu());
    if (out == nullptr)
        return -ENOMEM;
    std::lock_guard<std::mutex> lock(f.cipher->sending);
    if (int rc = f.cipher->seal(buf, count, out); rc < 0)
        return rc;
    int rc = send_record(f, out, count + seal_overhead, flags);
    if (rc == 0)
        f.cipher->commit_send();
    return rc;
}

} // namespace

std::size_t flow_state::max_payload() const noexcept
{
    return cipher ? max_sdu() - seal_overhead : max_sdu();
}

ssize_t read_sdu(flow_state& f, void* buf, std::size_t count)
{
    if (buf == nullptr && count != 0)
        return -EINVAL;
    const flow_flags flags = f.current_flags();
    if (access_mode(flags) == flow_flags::write_only) {
        detail::set_error_detail("the flow is write-only");
        return -EPERM;
    }
    const bool partial = !any(flags, flow_flags::no_partial_read);

    std::lock_guard<std::mutex> lock(f.reading);
    if (f.end_of_sdu_pending) {
        f.end_of_sdu_pending = false;
        return 0;
    }
    if (!f.rest.empty())
        return read_rest(f, buf, count, partial);
    return f.cipher ? read_sealed(f, buf, count, partial) : read_plain(f, buf, count, partial);
}

ssize_t write_sdu(flow_state& f, const void* buf, std::size_t count)
{
    if (buf == nullptr && count != 0)
        return -EINVAL;
    const flow_flags flags = f.current_flags();
    if (access_mode(flags) == flow_flags::read_only) {
        detail::set_error_detail("the flow is read-only");
        return -EPERM;
    }
    if (f.marked_down())
        return -errc::flow_down;
    if (count == 0)
        return 0; // an empty SDU carries nothing; Ouroboros drops it too
    const std::size_t limit = f.max_payload();
    if (count > limit) {
        if (any(flags, flow_flags::no_partial_write)) {
            detail::set_error_detail("SDU of " + std::to_string(count) +
                                     " bytes exceeds the maximum of " + std::to_string(limit) +
                                     " bytes");
            return -EMSGSIZE;
        }
        count = limit; // partial write: the first max_payload() bytes
    }
    int rc = f.cipher ? send_sealed(f, buf, count, flags) : send_record(f, buf, count, flags);
    if (rc < 0)
        return rc;
    f.mine().sent.fetch_add(1, std::memory_order_relaxed);
    return static_cast<ssize_t>(count);
}

void notify_peer(const flow_state& f) noexcept
{
    if (f.notify >= 0) {
        std::uint64_t one = 1;
        ssize_t rc = ::write(f.notify, &one, sizeof one);
        static_cast<void>(rc); // EAGAIN only at 2^64-2 pending wake-ups
    }
}

} // namespace ouroboros::embedded
