// wait_fd.cpp - poll(2) in a loop that honours deadlines and Ctrl-C.
#include "wait_fd.hpp"

#include <o7s/detail/backend.hpp>

#include <poll.h>

#include <algorithm>
#include <cerrno>

namespace ouroboros::embedded {

int wait_fd(int fd, short events, std::chrono::steady_clock::time_point deadline)
{
    using clock = std::chrono::steady_clock;
    for (;;) {
        int ms = -1;
        if (deadline != clock::time_point::max()) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
            // +1: never wake a millisecond early and spin on a zero timeout.
            ms = left.count() <= 0 ? 0 : static_cast<int>(std::min<long long>(left.count() + 1, 1 << 30));
        }
        pollfd p{fd, events, 0};
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

} // namespace ouroboros::embedded
