// wait_fd.cpp - poll(2) in a loop that honours deadlines and Ctrl-C.
#include "wait_fd.hpp"

#include "runtime/deadline.hpp"

#include <o7s/detail/backend.hpp>

#include <poll.h>

#include <cerrno>

namespace ouroboros::embedded {

int wait_fd(int fd, short events, std::chrono::steady_clock::time_point deadline)
{
    for (;;) {
        pollfd p{fd, events, 0};
        int rc = ::poll(&p, 1, runtime::poll_timeout_ms(deadline));
        if (rc > 0)
            return 0;
        if (rc == 0) {
            // poll() may wake early on a very long timeout (INT_MAX ms).
            if (std::chrono::steady_clock::now() < deadline)
                continue;
            return -ETIMEDOUT;
        }
        if (errno != EINTR)
            return -errno;
        if (detail::interrupted())
            return -EINTR;
    }
}

} // namespace ouroboros::embedded
