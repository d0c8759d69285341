// flow_io.cpp - reading and writing SDUs, in slices that Ctrl-C and
// close() can cut short, with partial reads done right.
#include "system_flows.hpp"

#include "errno_map.hpp"
#include "exit_gate.hpp"

#include <o7s/error.hpp>

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

namespace ouroboros::system {
namespace {

using detail::direction;

// Every SDU fits whole: a full buffer means one longer than max_sdu().
constexpr std::size_t scratch_size = max_sdu_size + 1;
// A flow's transmit ring holds 1023 SDUs (Ouroboros' default ring of 1024
// slots keeps one free).
constexpr std::size_t tx_ring_capacity = 1023;
constexpr auto ring_poll = std::chrono::milliseconds(1);

// A per-thread read buffer, mapped on first use; only the pages an SDU
// reaches ever get memory.
struct scratch_buffer {
    void* base = nullptr;
    ~scratch_buffer()
    {
        if (base != nullptr)
            ::munmap(base, scratch_size);
    }
    unsigned char* get()
    {
        if (base == nullptr) {
            void* p = ::mmap(nullptr, scratch_size, PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
            if (p == MAP_FAILED)
                return nullptr;
            base = p;
        }
        return static_cast<unsigned char*>(base);
    }
};
thread_local scratch_buffer scratch;

// What ends a wait between two slices: close() from another thread
// (the wrappers then report the flow deallocated) or a signal handler
// that raised (Ctrl-C). 0 to go on.
int cut_short(const flow_state& f)
{
    if (f.interrupt.load(std::memory_order_relaxed))
        return -errc::not_allocated;
    if (detail::interrupted())
        return -EINTR;
    return 0;
}

// Locks m in slices, so a thread waiting behind another reader or writer
// still answers Ctrl-C and close().
int lock_sliced(std::unique_lock<std::timed_mutex>& lock, const flow_state& f)
{
    while (!lock.try_lock_for(io_slice))
        if (int rc = cut_short(f); rc < 0)
            return rc;
    return 0;
}

// What reads and writes check first: a buffer, and an access mode that
// allows them (the library checks writes, not reads). 0 or -errno; the
// flow's flags in `flags`.
int check_io(const flow_state& f, const void* buf, std::size_t count, std::uint32_t refused_mode,
             const char* why, std::uint32_t& flags)
{
    if (buf == nullptr && count != 0)
        return -EINVAL;
    flags = f.flags.load(std::memory_order_relaxed);
    if ((flags & FLOWFACCMODE) == refused_mode) {
        detail::set_error_detail(why);
        return -EPERM;
    }
    return 0;
}

// Hands out the rest of an SDU that an earlier read did not take.
ssize_t read_rest(flow_state& f, void* buf, std::size_t count, bool partial)
{
    const std::size_t left = f.rest.size() - f.rest_off;
    const std::size_t n = std::min(left, count);
    std::memcpy(buf, f.rest.data() + f.rest_off, n);
    f.rest_off += n;
    if (f.rest_off == f.rest.size()) {
        f.rest.clear();
        f.rest_off = 0;
        f.zero_pending = partial && n == count;
    }
    return static_cast<ssize_t>(n);
}

} // namespace

int system_flows::ensure_slice(int fd, flow_state& f, direction d, std::chrono::nanoseconds slice)
{
    auto& current = d == direction::rcv ? f.lib_rcv_ns : f.lib_snd_ns;
    if (current.load(std::memory_order_relaxed) == slice.count())
        return 0;
    timespec ts = to_timespec(slice);
    int rc = fccntl(fd, d == direction::rcv ? FLOWSRCVTIMEO : FLOWSSNDTIMEO, &ts);
    if (rc < 0)
        return from_library(rc);
    current.store(slice.count(), std::memory_order_relaxed);
    return 0;
}

ssize_t system_flows::read_sliced(int fd, flow_state& f, void* buf, std::size_t count)
{
    const deadline end(f.rcv_timeo_ns.load(std::memory_order_relaxed));
    for (;;) {
        if (f.interrupt.load(std::memory_order_relaxed))
            return -errc::not_allocated;
        if (int rc = ensure_slice(fd, f, direction::rcv, end.slice(io_slice)); rc < 0)
            return rc;
        ssize_t n = 0;
        {
            library_call in;
            if (!in)
                return exiting();
            n = ::flow_read(fd, buf, count);
        }
        if (n != -ETIMEDOUT) {
            n = from_library(static_cast<int>(n));
            if (n == -errc::flow_down || n == -errc::flow_peer)
                f.down.store(static_cast<int>(n));
            return n;
        }
        if (end.passed())
            return -ETIMEDOUT;
        if (int rc = cut_short(f); rc < 0)
            return rc;
    }
}

ssize_t system_flows::flow_read(int fd, void* buf, std::size_t count)
{
    ssize_t n = read_sdu(fd, buf, count);
    // A flow with a descriptor: clear it, then look once more for what came
    // meanwhile (its event sets the descriptor again).
    if (n == -EAGAIN && pollable_.clear(fd))
        n = read_sdu(fd, buf, count);
    return n;
}

ssize_t system_flows::read_sdu(int fd, void* buf, std::size_t count)
{
    flow_state* f = state(fd);
    if (f == nullptr)
        return missing(fd);
    std::uint32_t flags = 0;
    if (int rc = check_io(*f, buf, count, FLOWFWRONLY, "the flow is write-only", flags); rc < 0)
        return rc;
    std::unique_lock<std::timed_mutex> lock(f->reading, std::defer_lock);
    if (int rc = lock_sliced(lock, *f); rc < 0)
        return rc;

    const bool partial = !(flags & FLOWFRNOPART);
    if (f->zero_pending) {
        f->zero_pending = false;
        return 0;
    }
    if (!f->rest.empty())
        return read_rest(*f, buf, count, partial);
    if (count >= scratch_size)
        return read_sliced(fd, *f, buf, count); // any SDU fits whole

    // The library drops what does not fit the buffer, so read into one
    // that takes any SDU and keep the rest for the next reads.
    unsigned char* whole = scratch.get();
    if (whole == nullptr)
        return -ENOMEM;
    ssize_t n = read_sliced(fd, *f, whole, scratch_size);
    if (n < 0)
        return n;
    const auto size = static_cast<std::size_t>(n);
    if (size == scratch_size) {
        // Longer than any SDU this backend sends: the library cut it and
        // answers the next read with 0. Take that 0 and report the loss.
        ::flow_read(fd, whole, scratch_size);
        detail::set_error_detail("an SDU longer than the maximum of " +
                                 std::to_string(max_sdu_size) + " bytes arrived and was cut");
        return -EMSGSIZE;
    }
    if (size <= count) {
        std::memcpy(buf, whole, size);
        f->zero_pending = partial && size == count;
        return n;
    }
    if (!partial) {
        detail::set_error_detail("SDU of " + std::to_string(size) + " bytes does not fit the " +
                                 std::to_string(count) + "-byte buffer (partial reads are off)");
        return -EMSGSIZE; // the SDU is dropped, as in Ouroboros
    }
    std::memcpy(buf, whole, count);
    f->rest.assign(whole + count, whole + size);
    f->rest_off = 0;
    return static_cast<ssize_t>(count);
}

ssize_t system_flows::flow_write(int fd, const void* buf, std::size_t count)
{
    flow_state* f = state(fd);
    if (f == nullptr)
        return missing(fd);
    std::uint32_t flags = 0;
    if (int rc = check_io(*f, buf, count, FLOWFRDONLY, "the flow is read-only", flags); rc < 0)
        return rc;
    // The library takes SDUs for a peer that is gone and drops them; once
    // a read has seen the flow down, say so.
    if (int down = f->down.load(std::memory_order_relaxed); down < 0)
        return down;
    if (count == 0)
        return 0; // an empty SDU carries nothing; the library's reader drops it
    if (count > max_sdu_size) {
        detail::set_error_detail("SDU of " + std::to_string(count) +
                                 " bytes exceeds the maximum of " + std::to_string(max_sdu_size) +
                                 " bytes");
        return -EMSGSIZE;
    }
    std::unique_lock<std::timed_mutex> lock(f->writing, std::defer_lock);
    if (int rc = lock_sliced(lock, *f); rc < 0)
        return rc;

    const bool nonblocking = flags & FLOWFWNOBLOCK;
    const deadline end(f->snd_timeo_ns.load(std::memory_order_relaxed));
    for (;;) {
        if (f->interrupt.load(std::memory_order_relaxed))
            return -errc::not_allocated;
        // A write that times out on a full ring is dropped and reported as
        // sent, so wait for room here, where a timeout loses nothing.
        std::size_t queued = 0;
        if (fccntl(fd, FLOWGTXQLEN, &queued) == 0 && queued >= tx_ring_capacity) {
            if (nonblocking)
                return -EAGAIN;
            if (end.passed())
                return -ETIMEDOUT;
            if (int rc = cut_short(*f); rc < 0)
                return rc;
            std::this_thread::sleep_for(end.slice(ring_poll));
            continue;
        }
        if (int rc = ensure_slice(fd, *f, direction::snd, end.slice(io_slice)); rc < 0)
            return rc;
        ssize_t n = 0;
        {
            library_call in;
            if (!in)
                return exiting();
            n = ::flow_write(fd, buf, count);
        }
        if (n != -ETIMEDOUT)
            return from_library(static_cast<int>(n));
        if (end.passed())
            return -ETIMEDOUT;
        if (int rc = cut_short(*f); rc < 0)
            return rc;
    }
}

} // namespace ouroboros::system
