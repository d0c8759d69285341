// deadline.hpp - the one way the library and the daemon turn a timeout into
// a point in time, and back into what poll() takes.
//
// `now + timeout` overflows (undefined behaviour, and in practice a
// deadline in the past) for a timeout near nanoseconds::max(); these
// saturate instead: a timeout too long to represent means "no limit"
// (time_point::max()), a negative one means "now". Header-only, so the API
// folder and the system plugin use it too.
#pragma once

#include <chrono>
#include <climits>
#include <cstdint>
#include <optional>

namespace ouroboros::runtime {

using steady = std::chrono::steady_clock;

// The sum of two durations, at most nanoseconds::max().
inline std::chrono::nanoseconds saturating_add(std::chrono::nanoseconds a,
                                               std::chrono::nanoseconds b) noexcept
{
    using ns = std::chrono::nanoseconds;
    if (b.count() > 0 && a.count() > ns::max().count() - b.count())
        return ns::max();
    if (b.count() < 0 && a.count() < ns::min().count() - b.count())
        return ns::min();
    return a + b;
}

// `now` + `d` (any duration): time_point::max() when the sum does not
// fit, `now` for a negative `d`.
template <class Rep, class Period>
steady::time_point deadline_after(std::chrono::duration<Rep, Period> d,
                                  steady::time_point now = steady::now()) noexcept
{
    using D = std::chrono::duration<Rep, Period>;
    if (d <= D::zero())
        return now;
    const auto room = steady::time_point::max() - now; // in steady::duration
    // Compared in d's own unit, so a long d does not overflow converting.
    if (d >= std::chrono::duration_cast<D>(room))
        return steady::time_point::max();
    return now + std::chrono::duration_cast<steady::duration>(d);
}

// A timeout as the C++ API spells it (std::optional<nanoseconds>; none:
// no limit) as a deadline.
inline steady::time_point deadline_after(const std::optional<std::chrono::nanoseconds>& t,
                                         steady::time_point now = steady::now()) noexcept
{
    return t ? deadline_after(*t, now) : steady::time_point::max();
}

// A timeout as the control protocol and flow state keep it (nanoseconds,
// -1: no limit) as a deadline.
inline steady::time_point deadline_after_ns(std::int64_t ns,
                                            steady::time_point now = steady::now()) noexcept
{
    return ns < 0 ? steady::time_point::max() : deadline_after(std::chrono::nanoseconds(ns), now);
}

// The time left until `deadline`, never negative.
inline std::chrono::nanoseconds time_left(steady::time_point deadline,
                                          steady::time_point now = steady::now()) noexcept
{
    if (deadline <= now)
        return std::chrono::nanoseconds(0);
    return std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - now);
}

// What poll()/epoll_wait() take to wait until `deadline`: -1 for none
// (time_point::max()), else the milliseconds left rounded up (so a waiter
// never wakes a millisecond early and spins on a zero timeout), at most
// INT_MAX.
inline int poll_timeout_ms(steady::time_point deadline,
                           steady::time_point now = steady::now()) noexcept
{
    if (deadline == steady::time_point::max())
        return -1;
    if (deadline <= now)
        return 0;
    const auto left = deadline - now;
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(left);
    long long n = ms.count() + (ms < left ? 1 : 0);
    return n > INT_MAX ? INT_MAX : static_cast<int>(n);
}

} // namespace ouroboros::runtime
