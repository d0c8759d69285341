// flow_io.cpp - reading and writing SDUs on an embedded flow.
#include "flow_busy_poll.hpp"
#include "flow_state.hpp"

#include <o7s/detail/backend.hpp>
#include <o7s/error.hpp>

#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace ouroboros::embedded {
namespace {

using clock = std::chrono::steady_clock;

// Receives the part of an SDU that does not fit the caller's buffer, so one
// recvmsg() takes the whole record. Mapped lazily, never touched by the
// kernel unless an SDU overflows.
struct overflow_area {
    void* base = nullptr;
    std::size_t size = 0;
    ~overflow_area()
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
thread_local overflow_area overflow;

int check_ready(flow_flags flags, flow_flags forbidden_mode)
{
    if (access_mode(flags) == forbidden_mode)
        return -EPERM;
    if (any(flags, flow_flags::down))
        return -errc::flow_down;
    return 0;
}

// Waits for `events` on sock until deadline. 0, -ETIMEDOUT or -EINTR.
int wait_for(int sock, short events, clock::time_point deadline)
{
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
        int ms = left.count() <= 0 ? 0 : static_cast<int>(std::min<long long>(left.count() + 1, 1 << 30));
        pollfd p{sock, events, 0};
        int rc = ::poll(&p, 1, ms);
        if (rc > 0)
            return 0;
        if (rc == 0)
            return -ETIMEDOUT;
        if (errno != EINTR)
            return -errno;
        if (detail::interrupted())
            return -EINTR;
    }
}

clock::time_point deadline_of(const std::atomic<std::int64_t>& timeo_ns)
{
    std::int64_t ns = timeo_ns.load(std::memory_order_relaxed);
    return ns < 0 ? clock::time_point::max() : clock::now() + std::chrono::nanoseconds(ns);
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
        f.end_of_sdu_pending = partial && n == count;
    }
    return static_cast<ssize_t>(n);
}

// One recvmsg() of a whole record: `count` bytes into buf, the rest into the
// overflow area. Returns the SDU size or -errno.
ssize_t receive(flow_state& f, void* buf, std::size_t count, void*& spill)
{
    const std::size_t limit = max_sdu();
    iovec iov[2] = {{buf, count}, {nullptr, 0}};
    msghdr mh{};
    mh.msg_iov = iov;
    mh.msg_iovlen = 1;
    if (count < limit) {
        spill = overflow.get(limit);
        if (spill == nullptr)
            return -ENOMEM;
        iov[1] = {spill, limit - count};
        mh.msg_iovlen = 2;
    }

    const flow_flags flags = f.current_flags();
    const bool nonblocking = any(flags, flow_flags::nonblocking_read);
    const bool timed = f.rcv_timeo_ns.load(std::memory_order_relaxed) >= 0;
    const auto deadline = timed ? deadline_of(f.rcv_timeo_ns) : clock::time_point::max();
    busy_poll spin(f); // flow_busy_poll.hpp
    const int mode = (nonblocking || timed || spin.enabled()) ? MSG_DONTWAIT : 0;

    for (;;) {
        // Without an overflow area, recv() spares the kernel a msghdr (0.1 us
        // a call here); with MSG_TRUNC it returns the record's whole length.
        const bool one = mh.msg_iovlen == 1;
        ssize_t n = one ? ::recv(f.sock, buf, count, mode | MSG_TRUNC)
                        : ::recvmsg(f.sock, &mh, mode);
        if (n > 0) {
            bool cut = one ? static_cast<std::size_t>(n) > count : (mh.msg_flags & MSG_TRUNC);
            return cut ? -EMSGSIZE : n;
        }
        if (n == 0)
            return -errc::flow_down; // the peer is gone (or we were shut down)
        switch (errno) {
        case EINTR:
            if (detail::interrupted())
                return -EINTR;
            continue;
        case EAGAIN:
            if (nonblocking)
                return -EAGAIN;
            if (spin.wait(deadline))
                continue;
            if (int rc = wait_for(f.sock, POLLIN, deadline); rc < 0)
                return rc;
            continue;
        case ECONNRESET:
        case EPIPE:
            return -errc::flow_down;
        default:
            return -errno;
        }
    }
}

} // namespace

ssize_t read_sdu(flow_state& f, void* buf, std::size_t count)
{
    if (buf == nullptr && count != 0)
        return -EINVAL;
    const flow_flags flags = f.current_flags();
    if (int rc = check_ready(flags, flow_flags::write_only); rc < 0)
        return rc;
    const bool partial = !any(flags, flow_flags::no_partial_read);

    std::lock_guard<std::mutex> lock(f.reading);
    if (f.end_of_sdu_pending) {
        f.end_of_sdu_pending = false;
        return 0;
    }
    if (!f.rest.empty())
        return read_rest(f, buf, count, partial);

    void* spill = nullptr;
    ssize_t n = receive(f, buf, count, spill);
    if (n < 0)
        return n;
    f.mine().consumed.fetch_add(1, std::memory_order_relaxed);
    std::size_t size = static_cast<std::size_t>(n);
    if (size <= count) {
        f.end_of_sdu_pending = partial && size == count;
        return n;
    }
    if (!partial) {
        detail::set_error_detail("SDU of " + std::to_string(size) + " bytes does not fit the " +
                                 std::to_string(count) + "-byte buffer (partial reads are off)");
        return -EMSGSIZE; // the SDU is dropped, as in Ouroboros
    }
    auto* extra = static_cast<const std::uint8_t*>(spill);
    f.rest.assign(extra, extra + (size - count));
    f.rest_off = 0;
    return static_cast<ssize_t>(count);
}

ssize_t write_sdu(flow_state& f, const void* buf, std::size_t count)
{
    if (buf == nullptr && count != 0)
        return -EINVAL;
    const flow_flags flags = f.current_flags();
    if (int rc = check_ready(flags, flow_flags::read_only); rc < 0)
        return rc;
    if (count == 0)
        return 0; // an empty SDU carries nothing; Ouroboros drops it too
    const std::size_t limit = max_sdu();
    if (count > limit) {
        if (any(flags, flow_flags::no_partial_write)) {
            detail::set_error_detail("SDU of " + std::to_string(count) +
                                     " bytes exceeds the maximum of " + std::to_string(limit) +
                                     " bytes");
            return -EMSGSIZE;
        }
        count = limit; // partial write: the first max_sdu() bytes
    }

    const bool nonblocking = any(flags, flow_flags::nonblocking_write);
    const bool timed = f.snd_timeo_ns.load(std::memory_order_relaxed) >= 0;
    const auto deadline = timed ? deadline_of(f.snd_timeo_ns) : clock::time_point::max();
    const int mode = MSG_NOSIGNAL | ((nonblocking || timed) ? MSG_DONTWAIT : 0);

    for (;;) {
        ssize_t n = ::send(f.sock, buf, count, mode);
        if (n >= 0)
            break;
        switch (errno) {
        case EINTR:
            if (detail::interrupted())
                return -EINTR;
            continue;
        case EAGAIN:
            if (nonblocking)
                return -EAGAIN;
            if (int rc = wait_for(f.sock, POLLOUT, deadline); rc < 0)
                return rc;
            continue;
        case ECONNRESET:
        case EPIPE:
        case ENOTCONN:
            return -errc::flow_down;
        default:
            return -errno;
        }
    }
    f.mine().sent.fetch_add(1, std::memory_order_relaxed);
    return static_cast<ssize_t>(count);
}

} // namespace ouroboros::embedded
