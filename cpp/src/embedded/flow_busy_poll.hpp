// flow_busy_poll.hpp - the opt-in spin of a read that finds nothing queued.
//
// Sleeping in poll() and being woken costs a scheduler round trip (tens of
// microseconds across cores on a VM). A flow that opted in
// (flow_state::busy_poll_ns > 0) instead keeps looking until an SDU arrives
// or the budget is spent, and only then sleeps. With rings a look is a load
// of the ring's tail: no system call, and it takes an SDU the moment the
// writer publishes it. Without, a look is a non-blocking receive (a system
// call per try; the page's counters would cost none, but the sender bumps
// them only after its send() returned: 3.8 instead of 2.9 us per round
// trip across cores, measured with benchmarks/).
#pragma once

#include "flow_state.hpp"

#include <chrono>
#include <cstdint>

namespace ouroboros::embedded {

// One per read call.
class busy_poll {
public:
    using clock = std::chrono::steady_clock;

    explicit busy_poll(const flow_state& f) noexcept
        : budget_ns_(f.busy_poll_ns.load(std::memory_order_relaxed))
    {
    }

    // A busy-polling read must not block in the kernel: it receives with
    // MSG_DONTWAIT and asks wait() what to do when nothing is there.
    bool enabled() const noexcept { return budget_ns_ > 0; }

    // True: try to receive again now. False: the budget (counted from the
    // first call) or the deadline is spent, so sleep.
    bool wait(clock::time_point deadline) noexcept;

private:
    std::int64_t budget_ns_;
    clock::time_point end_{};
};

} // namespace ouroboros::embedded
