// test_wire.cpp - the control protocol encodes, decodes and rejects.
#include "check.hpp"

#include "runtime/wire.hpp"

#include <sys/socket.h>
#include <unistd.h>

using namespace ouroboros;

TEST_CASE("round trip of every field type")
{
    proto::writer w(proto::msg::flow_alloc);
    qos_spec q = qos::data;
    q.cypher_s = 256;
    w.u8(7).u16(65535).u32(4000000000u).u64(1ull << 60).i32(-5).i64(-6).str("näme").qos(q);
    const auto& rec = w.record();
    REQUIRE(rec.size() > proto::header_size);
    proto::reader r(rec.data() + proto::header_size, rec.size() - proto::header_size);
    CHECK(r.u8() == 7);
    CHECK(r.u16() == 65535);
    CHECK(r.u32() == 4000000000u);
    CHECK(r.u64() == (1ull << 60));
    CHECK(r.i32() == -5);
    CHECK(r.i64() == -6);
    CHECK(r.str() == "näme");
    CHECK(r.qos() == q);
    r.end();
}

TEST_CASE("reader refuses short and trailing bodies")
{
    const std::uint8_t body[] = {3, 0, 'a', 'b'};
    proto::reader r(body, sizeof body);
    bool thrown = false;
    try {
        r.str();
    } catch (const proto::malformed&) {
        thrown = true;
    }
    CHECK(thrown);

    proto::reader r2(body, sizeof body);
    r2.u8();
    thrown = false;
    try {
        r2.end();
    } catch (const proto::malformed&) {
        thrown = true;
    }
    CHECK(thrown);
}

TEST_CASE("records with descriptors cross a socket")
{
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
    int pipefd[2];
    REQUIRE(::pipe(pipefd) == 0);
    proto::writer w(proto::msg::ok);
    w.str("fd");
    CHECK(proto::send_message(sv[0], w, pipefd, 2) == 0);
    proto::message m;
    CHECK(proto::recv_message(sv[1], m) == 0);
    CHECK(m.type == proto::msg::ok);
    CHECK(m.fds.size() == 2);
    CHECK(m.read().str() == "fd");
    ::close(pipefd[0]);
    ::close(pipefd[1]);
    ::close(sv[0]);
    ::close(sv[1]);
}

TEST_CASE("malformed records are reported, never trusted")
{
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
    const std::uint8_t v = static_cast<std::uint8_t>(proto::version);
    const std::uint8_t lies[] = {0x37, 0x4f, v, 0, 30, 0, 0, 0, 99, 0, 0, 0}; // length 99, no body
    REQUIRE(::send(sv[0], lies, sizeof lies, 0) == static_cast<ssize_t>(sizeof lies));
    proto::message m;
    std::string why;
    CHECK(proto::recv_message(sv[1], m, &why) == -EPROTO);
    CHECK(why.find("length") != std::string::npos);
    const std::uint8_t version[] = {0x37, 0x4f, 9, 0, 30, 0, 0, 0, 0, 0, 0, 0};
    REQUIRE(::send(sv[0], version, sizeof version, 0) == static_cast<ssize_t>(sizeof version));
    // Another protocol version is told apart from garbage, so a client can
    // say that the daemon belongs to another version of the library.
    CHECK(proto::recv_message(sv[1], m, &why) == -EPROTONOSUPPORT);
    CHECK(why.find("protocol version 9") != std::string::npos);
    ::close(sv[0]);
    CHECK(proto::recv_message(sv[1], m, &why) == -ECONNRESET);
    ::close(sv[1]);
}

CHECK_MAIN
