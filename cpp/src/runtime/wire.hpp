// wire.hpp - the control protocol between the library and the embedded
// runtime daemon.
//
// Every message travels as one SOCK_SEQPACKET record: a 12-byte header
// (magic, version, type, flags, body length) and a body of fixed-width
// little-endian integers and length-prefixed strings (codec.hpp lays the
// messages of messages.hpp out), plus up to max_fds descriptors passed with
// SCM_RIGHTS. Readers check every bound: a record whose header, length or
// body does not add up is malformed and the receiver answers with an error
// or drops the connection, never crashes.
#pragma once

#include "unique_fd.hpp"

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace ouroboros::proto {

inline constexpr std::uint16_t magic = 0x4f37; // "O7"
// 4: messages from field lists; bootstrap and name requests carry the whole
// configuration. 5: allocations that confirm (flow_alloc.confirm,
// flow_confirm). 6: daemon_info tells the software version, uptime and what
// the daemon serves. 7: unicast grants carry the two data bells of the
// flow's shared-memory rings (flow page version 3).
inline constexpr std::uint16_t version = 7;
inline constexpr std::size_t header_size = 12;
inline constexpr std::size_t max_body = 60 * 1024;
inline constexpr std::size_t max_string = 4096;
inline constexpr std::size_t max_fds = 5;

// Message types. Each message's fields are listed once, in messages.hpp.
enum class msg : std::uint16_t {
    // replies
    ok = 1,
    error = 2,
    flow_granted = 3,
    // flows
    flow_alloc = 10,
    flow_accept = 11,
    flow_join = 12,
    flow_confirm = 13,
    // IPCPs
    ipcp_create = 20,
    ipcp_destroy = 21,
    ipcp_list = 22,
    ipcp_bootstrap = 23,
    ipcp_enroll = 24,
    ipcp_connect = 25,
    ipcp_disconnect = 26,
    // names
    name_create = 30,
    name_destroy = 31,
    name_list = 32,
    name_reg = 33,
    name_unreg = 34,
    // bindings
    bind_program = 40,
    unbind_program = 41,
    bind_process = 42,
    unbind_process = 43,
    binding_list = 44,
    // the daemon itself
    daemon_info = 50,
    daemon_stop = 51,
};

// Thrown by reader (and by handlers validating a request) for a record that
// does not follow the protocol.
class malformed : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class writer {
public:
    explicit writer(msg type);
    // A writer of plain data without a record header (the daemon's state
    // file): read it with data(), not record().
    writer() = default;

    writer& u8(std::uint8_t v) { return put(v, 1); }
    writer& u16(std::uint16_t v) { return put(v, 2); }
    writer& u32(std::uint32_t v) { return put(v, 4); }
    writer& u64(std::uint64_t v) { return put(v, 8); }
    writer& i32(std::int32_t v) { return put(static_cast<std::uint32_t>(v), 4); }
    writer& i64(std::int64_t v) { return put(static_cast<std::uint64_t>(v), 8); }
    writer& str(std::string_view s);

    // The finished record (header with its length filled in).
    const std::vector<std::uint8_t>& record();
    // What a plain-data writer holds.
    const std::vector<std::uint8_t>& data() const noexcept { return buf_; }

private:
    writer& put(std::uint64_t v, int width);
    std::vector<std::uint8_t> buf_;
    bool framed_ = false;
};

class reader {
public:
    reader(const std::uint8_t* body, std::size_t size) : p_(body), end_(body + size) {}

    std::uint8_t u8() { return static_cast<std::uint8_t>(get(1)); }
    std::uint16_t u16() { return static_cast<std::uint16_t>(get(2)); }
    std::uint32_t u32() { return static_cast<std::uint32_t>(get(4)); }
    std::uint64_t u64() { return get(8); }
    std::int32_t i32() { return static_cast<std::int32_t>(static_cast<std::uint32_t>(get(4))); }
    std::int64_t i64() { return static_cast<std::int64_t>(get(8)); }
    std::string str();
    // Bytes not read yet.
    std::size_t remaining() const noexcept { return static_cast<std::size_t>(end_ - p_); }
    // True when the whole body was consumed.
    bool at_end() const noexcept { return p_ == end_; }
    // Throws malformed unless the whole body was consumed.
    void end() const;

private:
    std::uint64_t get(int width);
    const std::uint8_t* p_;
    const std::uint8_t* end_;
};

struct message {
    msg type{};
    std::vector<std::uint8_t> body;
    std::vector<runtime::unique_fd> fds;

    reader read() const { return reader(body.data(), body.size()); }
};

// Sends one record (and fds). Returns 0 or -errno. With dontwait, a full
// socket buffer gives -EAGAIN instead of blocking.
int send_message(int sock, writer& w, const int* fds = nullptr, std::size_t nfds = 0,
                 bool dontwait = false);

// Receives one record. Returns 0, -ECONNRESET when the peer closed, -EPROTO
// for a malformed record, -EPROTONOSUPPORT for a record of another protocol
// version (both with `why` set) or another -errno. EINTR is returned, not
// retried, so callers can check for interrupts.
int recv_message(int sock, message& out, std::string* why = nullptr);

// The header checks of recv_message() on a record already in memory (`n`
// bytes at `data`): 0 with out.type and out.body set, or -EPROTO /
// -EPROTONOSUPPORT with `why`. The fuzz harness (cpp/fuzz) calls it.
int parse_record(const std::uint8_t* data, std::size_t n, message& out,
                 std::string* why = nullptr);

} // namespace ouroboros::proto
