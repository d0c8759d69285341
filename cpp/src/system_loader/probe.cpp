// probe.cpp - asks the IRMd socket for a sign of life.
#include "probe.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

namespace ouroboros::detail {
namespace {

using clock = std::chrono::steady_clock;

// irm_msg { code = IRM_LIST_IPCPS (4) }: field 1, varint.
constexpr unsigned char list_ipcps[] = {0x08, 0x04};
// The reply starts with code = IRM_REPLY (27) in every release.
constexpr unsigned char reply_code[] = {0x08, 0x1b};

class socket_fd {
public:
    explicit socket_fd(int fd) noexcept : fd_(fd) {}
    ~socket_fd()
    {
        if (fd_ >= 0)
            ::close(fd_);
    }
    socket_fd(const socket_fd&) = delete;
    socket_fd& operator=(const socket_fd&) = delete;
    int get() const noexcept { return fd_; }

private:
    int fd_;
};

// Waits for `events` until the deadline: true when ready.
bool wait_for(int fd, short events, clock::time_point deadline)
{
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
        if (left.count() < 0)
            return false;
        pollfd p{fd, events, 0};
        int rc = ::poll(&p, 1, static_cast<int>(left.count()) + 1);
        if (rc > 0)
            return true;
        if (rc == 0)
            return false;
        if (errno != EINTR)
            return false;
    }
}

bool read_varint(const unsigned char*& p, const unsigned char* end, std::uint64_t& v)
{
    v = 0;
    for (int shift = 0; p < end && shift < 64; shift += 7) {
        unsigned char b = *p++;
        v |= std::uint64_t(b & 0x7f) << shift;
        if (!(b & 0x80))
            return true;
    }
    return false;
}

// Tells the release family from the field numbers of a list-IPCPs reply:
// result (a varint) is field 25 from 0.23 and 26 before; the IPCP list
// (length-delimited) is field 16 in 0.21 and 17 from 0.22.
irm_protocol classify(const unsigned char* p, const unsigned char* end)
{
    bool result25 = false, result26 = false, list16 = false, list17 = false;
    while (p < end) {
        std::uint64_t key = 0, v = 0;
        if (!read_varint(p, end, key))
            return irm_protocol::unknown;
        const auto field = key >> 3;
        switch (key & 7) {
        case 0: // varint
            if (!read_varint(p, end, v))
                return irm_protocol::unknown;
            result25 |= field == 25;
            result26 |= field == 26;
            break;
        case 1: // 64-bit
            p += 8;
            break;
        case 2: // length-delimited
            if (!read_varint(p, end, v) || v > std::uint64_t(end - p))
                return irm_protocol::unknown;
            p += v;
            list16 |= field == 16;
            list17 |= field == 17;
            break;
        case 5: // 32-bit
            p += 4;
            break;
        default:
            return irm_protocol::unknown;
        }
    }
    if (p != end)
        return irm_protocol::unknown;
    if (result25)
        return irm_protocol::v0_23;
    if (result26)
        return list16   ? irm_protocol::v0_21
               : list17 ? irm_protocol::v0_22
                        : irm_protocol::v0_21_or_22;
    return irm_protocol::unknown;
}

} // namespace

irmd_probe probe_irmd(const std::string& path, std::chrono::milliseconds limit)
{
    irmd_probe out;
    const auto deadline = clock::now() + limit;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof(addr.sun_path)) {
        out.problem = "the IRMd socket path " + path + " is too long";
        return out;
    }
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);

    socket_fd s(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (s.get() < 0) {
        out.problem = std::string("cannot create a socket: ") + std::strerror(errno);
        return out;
    }
    // A full listen backlog (EAGAIN on a non-blocking Unix socket) means
    // a busy IRMd: retry until the deadline.
    int e = 0;
    while (::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        e = errno;
        if ((e != EAGAIN && e != EINTR) || clock::now() >= deadline)
            break;
        ::usleep(10000);
        e = 0;
    }
    if (e != 0) {
        if (e == ENOENT)
            out.problem = "no IRMd is running (there is no socket " + path + ")";
        else if (e == ECONNREFUSED)
            out.problem = "no IRMd answers on " + path + " (a stale socket: the IRMd died?)";
        else if (e == EACCES || e == EPERM)
            out.problem = "permission denied on the IRMd socket " + path;
        else if (e == EAGAIN)
            out.problem = "the IRMd at " + path + " does not accept connections";
        else
            out.problem = "cannot connect to the IRMd socket " + path + ": " + std::strerror(e);
        return out;
    }
    if (::send(s.get(), list_ipcps, sizeof list_ipcps, MSG_NOSIGNAL) != sizeof list_ipcps) {
        out.problem = std::string("cannot send to the IRMd: ") + std::strerror(errno);
        return out;
    }
    if (!wait_for(s.get(), POLLIN, deadline)) {
        out.problem = "the IRMd at " + path + " did not answer within " +
                      std::to_string(limit.count()) + " ms";
        return out;
    }
    unsigned char buf[1 << 16];
    ssize_t n = ::recv(s.get(), buf, sizeof buf, 0);
    if (n < static_cast<ssize_t>(sizeof reply_code) ||
        std::memcmp(buf, reply_code, sizeof reply_code) != 0) {
        out.problem = "the program answering on " + path + " does not speak the IRMd protocol";
        return out;
    }
    out.answering = true;
    out.protocol = classify(buf + sizeof reply_code, buf + n);
    return out;
}

bool protocol_matches(irm_protocol p, int minor) noexcept
{
    switch (p) {
    case irm_protocol::v0_21:
        return minor == 21;
    case irm_protocol::v0_22:
        return minor == 22;
    case irm_protocol::v0_21_or_22:
        return minor == 21 || minor == 22;
    case irm_protocol::v0_23:
        return minor == 23;
    case irm_protocol::unknown:
        break;
    }
    return false;
}

const char* protocol_name(irm_protocol p) noexcept
{
    switch (p) {
    case irm_protocol::v0_21:
        return "0.21";
    case irm_protocol::v0_22:
        return "0.22";
    case irm_protocol::v0_21_or_22:
        return "0.21 or 0.22";
    case irm_protocol::v0_23:
        return "0.23";
    case irm_protocol::unknown:
        break;
    }
    return "an unknown release";
}

} // namespace ouroboros::detail
