// flow_busy_poll.hpp - the opt-in spin of a read that finds nothing queued.
//
// Sleeping in poll() and being woken costs a scheduler round trip (tens of
// microseconds across cores on a VM). A flow that opted in
// (flow_state::busy_poll_ns > 0) instead watches the shared flow page: the
// peer bumps its "sent" counter right after each send(), so an SDU is
// queued as soon as peer().sent exceeds mine().consumed. Spinning there
// costs no system call; the read tries the socket again once it moves.
#pragma once

#include "flow_state.hpp"

#include <chrono>
#include <cstdint>

namespace ouroboros::embedded {

// One per read call: the spin happens at most once per call.
class busy_poll {
public:
    explicit busy_poll(const flow_state& f) noexcept
        : f_(f), budget_ns_(f.busy_poll_ns.load(std::memory_order_relaxed))
    {
    }

    // A busy-polling read must not block in the kernel: it receives with
    // MSG_DONTWAIT and comes to wait() when nothing is there.
    bool enabled() const noexcept { return budget_ns_ > 0; }

    // Spins until the counters say an SDU is queued (true: receive again),
    // or the budget or the deadline runs out (false: go to sleep). Always
    // false after the first call.
    bool wait(std::chrono::steady_clock::time_point deadline) noexcept;

private:
    const flow_state& f_;
    std::int64_t budget_ns_;
};

} // namespace ouroboros::embedded
