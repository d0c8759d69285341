// wire.hpp - the control protocol between the library and the embedded
// runtime daemon.
//
// Every message travels as one SOCK_SEQPACKET record: a 12-byte header
// (magic, version, type, flags, body length) and a body of fixed-width
// little-endian integers and length-prefixed strings, plus up to max_fds
// descriptors passed with SCM_RIGHTS. Readers check every bound: a record
// whose header, length or body does not add up is malformed and the
// receiver answers with an error or drops the connection, never crashes.
#pragma once

#include <o7s/qos.hpp>

#include "unique_fd.hpp"

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace ouroboros::proto {

inline constexpr std::uint16_t magic = 0x4f37; // "O7"
inline constexpr std::uint16_t version = 3;
inline constexpr std::size_t header_size = 12;
inline constexpr std::size_t max_body = 60 * 1024;
inline constexpr std::size_t max_string = 4096;
inline constexpr std::size_t max_fds = 4;

enum class msg : std::uint16_t {
    // replies
    ok = 1,           // success; body specific to the request
    error = 2,        // i32 errno, str detail
    flow_granted = 3, // u64 flow id, u8 side, qos, str peer public key (may be
                      // empty); fds: socket, shared page, notify eventfd
                      // (broadcast joins: no key, no eventfd)
    // flows
    flow_alloc = 10,  // str name, u8 has_qos, qos, i64 timeout_ns (-1: none),
                      // str public key (X25519; empty unless qos.cypher_s > 0)
    flow_accept = 11, // i64 timeout_ns, str public key (may be empty)
    flow_join = 12,   // str layer, u8 has_qos, qos, i64 timeout_ns
    // IPCPs
    ipcp_create = 20,    // str name, i32 type -> ok: i32 pid
    ipcp_destroy = 21,   // i32 pid
    ipcp_list = 22,      // -> ok: u32 n, n x (i32 pid, i32 type, str name, str layer)
    ipcp_bootstrap = 23, // i32 pid, i32 type, str layer
    ipcp_enroll = 24,    // i32 pid, str dst
    ipcp_connect = 25,   // i32 pid, str dst, str component, qos
    ipcp_disconnect = 26, // i32 pid, str dst, str component
    // names
    name_create = 30,  // str name, i32 policy
    name_destroy = 31, // str name
    name_list = 32,    // -> ok: u32 n, n x (str name, i32 policy)
    name_reg = 33,     // str name, i32 ipcp pid
    name_unreg = 34,   // str name, i32 ipcp pid
    // bindings ("" as name: every name)
    bind_program = 40,   // str path, str name, u16 opts, u32 argc, argc x str
    unbind_program = 41, // str path, str name
    bind_process = 42,   // i32 pid, str name
    unbind_process = 43, // i32 pid, str name
    // bind_program for a script that `interpreter` runs:
    // str path, str name, u16 opts, str interpreter, u32 argc, argc x str
    bind_script = 45,
    // Names with their registrations and bindings, as rows, in parts that
    // fit a record: u32 first row -> ok: u64 generation, u32 total rows,
    // u32 n, n x row. A row is u8 kind and then
    //   row_name:    str name, i32 policy
    //   row_reg:     str name, i32 ipcp pid
    //   row_process: str name, i32 pid, str program ("" when bound directly)
    //   row_program: str name, str path, u16 opts, str interpreter, u32 argc, argc x str
    // A generation that changes between parts means the listing changed.
    binding_list = 44,
    // the daemon itself
    daemon_info = 50, // -> ok: i32 pid, u16 version, str runtime dir
    daemon_stop = 51,
};

enum class row : std::uint8_t { name = 0, reg = 1, process = 2, program = 3 };

// Bind requests with a larger body are refused, so that every binding fits
// one row of a binding_list reply (which adds a kind and an interpreter).
inline constexpr std::size_t bind_request_limit = max_body - 8192;

// Thrown by reader (and by handlers validating a request) for a record that
// does not follow the protocol.
class malformed : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class writer {
public:
    explicit writer(msg type);

    writer& u8(std::uint8_t v) { return put(v, 1); }
    writer& u16(std::uint16_t v) { return put(v, 2); }
    writer& u32(std::uint32_t v) { return put(v, 4); }
    writer& u64(std::uint64_t v) { return put(v, 8); }
    writer& i32(std::int32_t v) { return put(static_cast<std::uint32_t>(v), 4); }
    writer& i64(std::int64_t v) { return put(static_cast<std::uint64_t>(v), 8); }
    writer& str(std::string_view s);
    writer& qos(const qos_spec& q);
    // Appends bytes encoded by another writer (its body, without header).
    writer& raw(const std::vector<std::uint8_t>& bytes);

    // The finished record (header with its length filled in).
    const std::vector<std::uint8_t>& record();

private:
    writer& put(std::uint64_t v, int width);
    std::vector<std::uint8_t> buf_;
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
    qos_spec qos();
    // True when the whole body was consumed (for fields added at the end).
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

} // namespace ouroboros::proto
