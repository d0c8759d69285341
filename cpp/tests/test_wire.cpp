// test_wire.cpp - the control protocol encodes, decodes and rejects; its
// documentation (docs/protocol.md) is what the field lists say.
//
//   test_wire --write-doc docs/protocol.md   rewrites the documentation
#include "check.hpp"

#include "runtime/messages.hpp"
#include "runtime/protocol_doc.hpp"
#include "runtime/wire.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <sstream>

using namespace ouroboros;

namespace {

// Gives every field of x a value unlike its default (and unlike the other
// fields'), so that a field the codec dropped or mixed up shows.
template <class T> void fill(T& x, int& seed)
{
    using namespace proto::codec_detail;
    ++seed;
    if constexpr (std::is_same_v<T, bool>) {
        x = !x;
    } else if constexpr (std::is_enum_v<T>) {
        x = static_cast<T>(static_cast<std::underlying_type_t<T>>(x) + 1);
    } else if constexpr (std::is_integral_v<T>) {
        x = static_cast<T>(x + 1 + seed);
    } else if constexpr (std::is_same_v<T, std::string>) {
        x = "field " + std::to_string(seed);
    } else if constexpr (is_vector<T>::value) {
        fill(x.emplace_back(), seed);
        fill(x.emplace_back(), seed);
    } else if constexpr (is_optional<T>::value) {
        fill(x.emplace(), seed);
    } else if constexpr (is_variant<T>::value) {
        x.template emplace<std::variant_size_v<T> - 1>();
        std::visit([&](auto& alt) { fill(alt, seed); }, x);
    } else {
        T::fields(x, [&](const char*, auto& m) { fill(m, seed); });
    }
}

template <class T> bool round_trips()
{
    T sent;
    int seed = 0;
    fill(sent, seed);
    proto::writer w(proto::msg::ok);
    proto::encode(w, sent);
    const auto& rec = w.record();
    proto::reader r(rec.data() + proto::header_size, rec.size() - proto::header_size);
    T got = proto::decode_body<T>(r);
    const bool has_fields = !proto::encoded(T{}).empty();
    return proto::same_fields(sent, got) && (!has_fields || !proto::same_fields(sent, T{})) &&
           proto::encoded_size(sent) == rec.size() - proto::header_size;
}

template <class R> void check_round_trip()
{
    CHECK(round_trips<R>());
    CHECK(round_trips<typename R::reply>());
}

template <class... R> void check_round_trips(proto::type_list<R...>)
{
    (check_round_trip<R>(), ...);
}

std::string read_file(const std::string& path)
{
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

} // namespace

TEST_CASE("round trip of every field type")
{
    proto::writer w(proto::msg::flow_alloc);
    w.u8(7).u16(65535).u32(4000000000u).u64(1ull << 60).i32(-5).i64(-6).str("näme");
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
    r.end();
}

TEST_CASE("every request and reply carries every field")
{
    check_round_trips(proto::requests{});
    CHECK(round_trips<proto::error_reply>());
}

TEST_CASE("a field list names what differs")
{
    ipcp_config conf{ipcp_type::broadcast, "bc"};
    conf.unicast.dir.dht.alpha = 5;
    conf.eth.dev = "eth0";
    auto diff = proto::differing_fields(conf, ipcp_config{ipcp_type::broadcast, "bc"});
    CHECK((diff == std::vector<std::string>{"unicast.dir.dht.alpha", "eth.dev"}));
}

TEST_CASE("lists, optionals and variants refuse lies")
{
    // A count larger than the body, an alternative that does not exist.
    const std::uint8_t many[] = {0xff, 0xff, 0, 0, 1};
    proto::reader r(many, sizeof many);
    std::vector<std::string> out;
    bool thrown = false;
    try {
        proto::decode(r, out);
    } catch (const proto::malformed&) {
        thrown = true;
    }
    CHECK(thrown);
    const std::uint8_t alt[] = {9, 0, 0};
    proto::reader r2(alt, sizeof alt);
    proto::binding_row row;
    thrown = false;
    try {
        proto::decode(r2, row);
    } catch (const proto::malformed&) {
        thrown = true;
    }
    CHECK(thrown);
}

TEST_CASE("docs/protocol.md is what the field lists say")
{
    const std::string want = proto::protocol_markdown();
    const std::string have = read_file(O7S_PROTOCOL_DOC);
    if (have != want)
        std::fprintf(stderr, "  %s is out of date: run `test_wire --write-doc %s`\n",
                     O7S_PROTOCOL_DOC, O7S_PROTOCOL_DOC);
    CHECK(have == want);
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

int main(int argc, char** argv)
{
    if (argc == 3 && std::string(argv[1]) == "--write-doc") {
        std::ofstream(argv[2]) << proto::protocol_markdown();
        return 0;
    }
    return check::run_all(argc, argv);
}
