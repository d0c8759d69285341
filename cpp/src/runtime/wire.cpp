// wire.cpp - encoding, decoding and transport of control records.
#include "wire.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>

namespace ouroboros::proto {

writer::writer(msg type) : framed_(true)
{
    buf_.reserve(128);
    put(magic, 2);
    put(version, 2);
    put(static_cast<std::uint16_t>(type), 2);
    put(0, 2);     // flags, reserved
    put(0, 4);     // body length, filled in by record()
}

writer& writer::put(std::uint64_t v, int width)
{
    for (int i = 0; i < width; ++i)
        buf_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    return *this;
}

writer& writer::str(std::string_view s)
{
    if (s.size() > max_string)
        throw malformed("string of " + std::to_string(s.size()) + " bytes exceeds the limit of " +
                        std::to_string(max_string));
    put(s.size(), 2);
    buf_.insert(buf_.end(), s.begin(), s.end());
    return *this;
}

const std::vector<std::uint8_t>& writer::record()
{
    if (!framed_)
        throw malformed("plain data is no record");
    std::size_t body = buf_.size() - header_size;
    if (body > max_body)
        throw malformed("message body of " + std::to_string(body) + " bytes is too large");
    for (int i = 0; i < 4; ++i)
        buf_[8 + i] = static_cast<std::uint8_t>(body >> (8 * i));
    return buf_;
}

std::uint64_t reader::get(int width)
{
    if (end_ - p_ < width)
        throw malformed("message body ends early");
    std::uint64_t v = 0;
    for (int i = 0; i < width; ++i)
        v |= static_cast<std::uint64_t>(p_[i]) << (8 * i);
    p_ += width;
    return v;
}

std::string reader::str()
{
    std::size_t n = u16();
    if (n > max_string)
        throw malformed("string length exceeds the limit");
    if (static_cast<std::size_t>(end_ - p_) < n)
        throw malformed("string runs past the end of the message");
    std::string s(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    return s;
}

void reader::end() const
{
    if (p_ != end_)
        throw malformed("message has trailing bytes");
}

int send_message(int sock, writer& w, const int* fds, std::size_t nfds, bool dontwait)
{
    const auto& rec = w.record();
    iovec iov{const_cast<std::uint8_t*>(rec.data()), rec.size()};
    msghdr mh{};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * max_fds)];
    if (nfds > 0) {
        if (nfds > max_fds)
            return -EINVAL;
        mh.msg_control = control;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        cmsghdr* c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        std::memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
    }
    int flags = MSG_NOSIGNAL | (dontwait ? MSG_DONTWAIT : 0);
    for (;;) {
        ssize_t n = ::sendmsg(sock, &mh, flags);
        if (n >= 0)
            return 0;
        if (errno != EINTR)
            return -errno;
    }
}

int recv_message(int sock, message& out, std::string* why)
{
    std::uint8_t buf[header_size + max_body + 1];
    iovec iov{buf, sizeof buf};
    msghdr mh{};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * max_fds)];
    mh.msg_control = control;
    mh.msg_controllen = sizeof control;

    out.fds.clear();
    ssize_t n = ::recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
    if (n < 0)
        return -errno;

    // Take ownership of passed descriptors first, whatever the record, so
    // none stays open when it is refused: a record of any length, even
    // none, may carry them.
    for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c != nullptr; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
            c->cmsg_len < CMSG_LEN(0))
            continue;
        std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (std::size_t i = 0; i < count; ++i) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
            out.fds.emplace_back(fd);
        }
    }
    // A zero-length record reads like the end of the connection; it is
    // treated as one (the peer broke the protocol either way).
    if (n == 0)
        return -ECONNRESET;

    if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
        if (why)
            *why = "record or its descriptors were truncated";
        return -EPROTO;
    }
    return parse_record(buf, static_cast<std::size_t>(n), out, why);
}

int parse_record(const std::uint8_t* data, std::size_t n, message& out, std::string* why)
{
    auto bad = [&](const char* reason) {
        if (why)
            *why = reason;
        return -EPROTO;
    };
    if (n < header_size)
        return bad("record shorter than the header");
    if (n > header_size + max_body)
        return bad("record longer than the protocol allows");
    reader h(data, header_size);
    if (h.u16() != magic)
        return bad("bad magic number");
    if (std::uint16_t v = h.u16(); v != version) {
        if (why)
            *why = "protocol version " + std::to_string(v) + " (this side speaks version " +
                   std::to_string(version) + ")";
        return -EPROTONOSUPPORT;
    }
    out.type = static_cast<msg>(h.u16());
    h.u16(); // flags
    std::uint32_t length = h.u32();
    if (length != n - header_size)
        return bad("length field does not match the record size");
    out.body.assign(data + header_size, data + n);
    return 0;
}

} // namespace ouroboros::proto
