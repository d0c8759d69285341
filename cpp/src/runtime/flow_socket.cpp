// flow_socket.cpp - sizing flow sockets for SDUs of up to max_sdu_wanted.
#include "flow_socket.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

namespace ouroboros::runtime {
namespace {

// The kernel refuses a record larger than the sender's buffer (less some
// bookkeeping) and caps SO_SNDBUF at net.core.wmem_max, so the largest SDU
// is found by trying, once per process.
std::size_t probe_max_sdu() noexcept
{
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
        return 64 * 1024;
    tune_socket(sv[0]);
    std::size_t size = max_sdu_wanted;
    try {
        std::vector<char> data(size);
        while (size > 4096) {
            ssize_t n = ::send(sv[0], data.data(), size, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n == static_cast<ssize_t>(size))
                break;
            size = size * 3 / 4;
        }
    } catch (...) {
        size = 64 * 1024;
    }
    ::close(sv[0]);
    ::close(sv[1]);
    return size;
}

} // namespace

void tune_socket(int sock) noexcept
{
    int bytes = static_cast<int>(max_sdu_wanted + (256u << 10));
    ::setsockopt(sock, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
}

std::size_t max_sdu() noexcept
{
    static const std::size_t limit = probe_max_sdu();
    return limit;
}

} // namespace ouroboros::runtime
