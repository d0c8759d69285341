// flow_busy_poll.cpp - spinning on a flow's shared counters (see the header).
#include "flow_busy_poll.hpp"

namespace ouroboros::embedded {
namespace {

// Tells the CPU we spin, so it saves power and yields to a sibling thread.
inline void cpu_relax() noexcept
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield" ::: "memory");
#endif
}

} // namespace

bool busy_poll::wait(std::chrono::steady_clock::time_point deadline) noexcept
{
    using clock = std::chrono::steady_clock;
    if (budget_ns_ <= 0)
        return false;
    const auto end = std::min(deadline, clock::now() + std::chrono::nanoseconds(budget_ns_));
    budget_ns_ = 0; // once per read call
    const flow_end_counters& peer = f_.peer();
    const flow_end_counters& mine = f_.mine();
    for (unsigned spins = 1;; ++spins) {
        if (peer.sent.load(std::memory_order_acquire) >
            mine.consumed.load(std::memory_order_relaxed))
            return true;
        // Reading the clock costs more than a look at the counters.
        if (spins % 16 == 0 && clock::now() >= end)
            return false;
        cpu_relax();
    }
}

} // namespace ouroboros::embedded
