// write_all.hpp - write() until every byte is out, retrying interruptions.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <cstddef>

namespace ouroboros::runtime {

// 0, or -errno of the write() that failed (then an unknown part is out).
inline int write_all(int fd, const void* data, std::size_t n) noexcept
{
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
        ssize_t w = ::write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        if (w == 0)
            return -EIO; // cannot happen for n > 0; never loop on it
        p += w;
        n -= static_cast<std::size_t>(w);
    }
    return 0;
}

} // namespace ouroboros::runtime
