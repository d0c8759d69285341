// wait_fd.hpp - waiting for a descriptor with a deadline, interruptibly.
#pragma once

#include <chrono>

namespace ouroboros::embedded {

// Waits until `fd` reports `events` (poll(2) bits) or `deadline` passes
// (time_point::max(): no limit). Returns 0, -ETIMEDOUT, -EINTR when a
// signal arrived and detail::interrupted() says to give up, or -errno.
int wait_fd(int fd, short events, std::chrono::steady_clock::time_point deadline);

} // namespace ouroboros::embedded
