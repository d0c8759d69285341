// system_flows.hpp - the flow half of the backend over the real Ouroboros.
//
// A thin translation of detail::flow_backend to libouroboros-dev, with three
// additions the C library needs to behave like the rest of the API:
//
// - Interruptible waits. The library waits on condition variables, which a
//   signal does not wake, so every blocking call runs in bounded slices
//   (a library timeout per slice) and asks detail::interrupted() and the
//   flow's own interrupt flag (close() from another thread) in between.
// - Whole-SDU reads. The library drops the rest of an SDU that does not fit
//   the read buffer; reads go through a buffer of max_sdu() + 1 bytes and
//   the backend serves partial reads itself (flow_io.cpp).
// - A deallocation that cannot hang. flow_dealloc() waits, without a
//   timeout and holding the library's lock, until the peer has read all we
//   sent, and on a reliable flow until the peer acknowledged it; past a
//   deadline the deallocation goes on in the background (parked_flows.hpp).
#pragma once

#include "ouroboros_c.hpp"
#include "parked_flows.hpp"
#include "pollable_flows.hpp"

#include "runtime/deadline.hpp"
#include "runtime/flow_table.hpp"

#include <o7s/detail/flow_backend.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <mutex>
#include <string>
#include <vector>

namespace ouroboros::system {

using clock = std::chrono::steady_clock;

// Longest wait inside the library before Ctrl-C and close() are looked at.
inline constexpr std::chrono::nanoseconds io_slice = std::chrono::milliseconds(100);
// flow_accept() slices are IRMd requests, and each one that times out
// leaves a line in the IRMd's log: fewer, longer ones.
inline constexpr std::chrono::nanoseconds accept_slice = std::chrono::milliseconds(500);
// How long close() waits for the peer to read (and, on a reliable flow,
// acknowledge) what is still queued before it leaves the deallocation to
// the background.
inline constexpr std::chrono::nanoseconds dealloc_linger = std::chrono::seconds(2);

// The largest SDU: the biggest block of 0.23's packet pool less its
// head- and tailroom; earlier releases chain pages, so this backend sets
// its own limit there.
inline constexpr std::size_t max_sdu_size =
    OUROBOROS_VERSION_MINOR >= 23 ? (std::size_t(1) << 20) - 316 : std::size_t(8) << 20;

// What the backend keeps per flow beside the library's own state.
struct flow_state {
    std::atomic<std::int64_t> rcv_timeo_ns{-1}; // the caller's, -1: block
    std::atomic<std::int64_t> snd_timeo_ns{-1};
    std::atomic<std::int64_t> lib_rcv_ns{-1};   // what the library has now
    std::atomic<std::int64_t> lib_snd_ns{-1};
    std::atomic<std::uint32_t> flags{FLOWFDEFAULT}; // as last set (FLOWSFLAGS)
    std::atomic<bool> interrupt{false};         // set by flow_interrupt()
    std::atomic<int> down{0};                   // -errno a read saw: flow down
    std::timed_mutex writing;                   // one writer at a time

    // Partial reads: the rest of an SDU, and a pending end-of-SDU read.
    std::timed_mutex reading;
    std::vector<unsigned char> rest;
    std::size_t rest_off = 0;
    bool zero_pending = false;
};

// A point in time to wait until; none: wait without end.
class deadline {
public:
    explicit deadline(std::int64_t ns) noexcept
        : none_(ns < 0),
          at_(runtime::deadline_after_ns(ns))
    {
    }
    explicit deadline(timeout t) noexcept : deadline(t ? t->count() : -1) {}

    bool passed() const noexcept { return !none_ && clock::now() >= at_; }
    // The next slice: at most `max`, never past the deadline.
    std::chrono::nanoseconds slice(std::chrono::nanoseconds max) const noexcept
    {
        if (none_)
            return max;
        auto left = at_ - clock::now();
        return left < max ? std::max(left, clock::duration::zero()) : max;
    }

private:
    bool none_;
    clock::time_point at_;
};

timespec to_timespec(std::chrono::nanoseconds d) noexcept;

class system_irm;

class system_flows final : public detail::flow_backend {
public:
    // `irm` tells which names this process bound itself to.
    explicit system_flows(const system_irm& irm) noexcept : irm_(irm) {}
    ~system_flows() override;

    // flows.cpp
    int flow_alloc(const std::string& dst, qos_spec* qos, timeout t) override;
    int flow_accept(qos_spec* qos, timeout t) override;
    int flow_join(const std::string& dst, qos_spec* qos, timeout t) override;
    int flow_dealloc(int fd) override;
    void flow_interrupt(int fd) noexcept override;
    int set_timeout(int fd, detail::direction d, timeout t) override;
    int get_timeout(int fd, detail::direction d, timeout& t) override;
    int set_flags(int fd, flow_flags f) override;
    int get_flags(int fd, flow_flags& f) override;
    int get_qos(int fd, qos_spec& q) override;
    int queue_len(int fd, detail::direction d, std::size_t& n) override;
    int set_frct_flags(int fd, frct_flags f) override;
    int get_frct_flags(int fd, frct_flags& f) override;
    int pollable_fd(int fd) override;
    std::size_t max_sdu() const noexcept override { return max_sdu_size; }

    // flow_io.cpp
    ssize_t flow_read(int fd, void* buf, std::size_t count) override;
    ssize_t flow_write(int fd, const void* buf, std::size_t count) override;

    // event_set.cpp
    std::unique_ptr<detail::event_set> create_event_set(int& err) override;

private:
    // The state of a flow this backend handed out, or nullptr.
    flow_state* state(int fd) const noexcept { return flows_.get(fd); }
    // -EBADF or -ENOTALLOC for a descriptor with no state.
    static int missing(int fd) noexcept;
    // Registers a descriptor the library just allocated.
    int adopt(int fd);
    // Makes the library's timeout for `d` on fd equal to `slice`.
    int ensure_slice(int fd, flow_state& f, detail::direction d, std::chrono::nanoseconds slice);
    // One library read (of a whole SDU: count > max SDU), in slices.
    ssize_t read_sliced(int fd, flow_state& f, void* buf, std::size_t count);
    // flow_read() without the pollable descriptor's part.
    ssize_t read_sdu(int fd, void* buf, std::size_t count);

    const system_irm& irm_;
    runtime::flow_table<flow_state> flows_;
    parked_flows parked_;
    pollable_flows pollable_; // descriptors for flows asked for one
};

} // namespace ouroboros::system
