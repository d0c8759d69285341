// flow_busy_poll.cpp - when a busy-polling read stops spinning (see the header).
#include "flow_busy_poll.hpp"

#include <algorithm>

namespace ouroboros::embedded {

bool busy_poll::wait(clock::time_point deadline) noexcept
{
    if (budget_ns_ <= 0)
        return false;
    const auto now = clock::now();
    if (end_ == clock::time_point{})
        end_ = std::min(deadline, now + std::chrono::nanoseconds(budget_ns_));
    if (now < end_)
        return true;
    budget_ns_ = 0; // spent: from here on the read sleeps
    return false;
}

} // namespace ouroboros::embedded
