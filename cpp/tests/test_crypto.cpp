// test_crypto.cpp - the key exchange and record sealing of encrypted flows
// (cpp/src/embedded/flow_crypto.hpp), without processes.
#include "check.hpp"

#include "embedded/flow_crypto.hpp"

#include <o7s/error.hpp>

#include <cstring>
#include <string>
#include <vector>

using namespace ouroboros;
using namespace ouroboros::embedded;

namespace {

struct ends {
    std::unique_ptr<flow_cipher> alloc;
    std::unique_ptr<flow_cipher> accept;
};

ends make_ends(std::uint16_t bits, std::uint64_t id_alloc = 7, std::uint64_t id_accept = 7)
{
    key_pair ka, kb;
    REQUIRE(ka.generate() == 0);
    REQUIRE(kb.generate() == 0);
    int err = 0;
    ends e;
    e.alloc = flow_cipher::create(ka, kb.public_key(), id_alloc, 0, bits, err);
    REQUIRE(err == 0);
    e.accept = flow_cipher::create(kb, ka.public_key(), id_accept, 1, bits, err);
    REQUIRE(err == 0);
    return e;
}

std::vector<unsigned char> seal(flow_cipher& c, const std::string& text)
{
    std::vector<unsigned char> rec(text.size() + seal_overhead);
    REQUIRE(c.seal(text.data(), text.size(), rec.data()) == 0);
    c.commit_send();
    return rec;
}

std::string open(flow_cipher& c, std::vector<unsigned char> rec)
{
    long n = c.open(rec.data(), rec.size());
    if (n < 0)
        return "error " + std::to_string(-n);
    return std::string(reinterpret_cast<const char*>(rec.data()) + seal_header_size,
                       static_cast<std::size_t>(n));
}

} // namespace

TEST_CASE("cypher strengths round up to 128 or 256 bits")
{
    std::uint16_t got = 1;
    CHECK(supported_cypher_bits(0, got) == 0 && got == 0);
    CHECK(supported_cypher_bits(1, got) == 0 && got == 128);
    CHECK(supported_cypher_bits(128, got) == 0 && got == 128);
    CHECK(supported_cypher_bits(200, got) == 0 && got == 256);
    CHECK(supported_cypher_bits(256, got) == 0 && got == 256);
    CHECK(supported_cypher_bits(257, got) == -errc::crypt);
}

TEST_CASE("key pairs are fresh X25519 keys")
{
    key_pair a, b;
    CHECK(a.empty() && a.public_key().empty());
    REQUIRE(a.generate() == 0 && b.generate() == 0);
    CHECK(a.public_key().size() == public_key_size);
    CHECK(a.public_key() != b.public_key());
}

TEST_CASE("both ends derive the same keys, one per direction")
{
    for (std::uint16_t bits : {128, 256}) {
        ends e = make_ends(bits);
        auto rec = seal(*e.alloc, "to the acceptor");
        CHECK(std::memcmp(rec.data() + seal_header_size, "to the acceptor", 15) != 0);
        CHECK(open(*e.accept, rec) == "to the acceptor");
        CHECK(open(*e.alloc, seal(*e.accept, "and back")) == "and back");
        // A record cannot be reflected back to its sender: other key.
        CHECK(open(*e.alloc, seal(*e.alloc, "reflected")) == "error " +
              std::to_string(errc::crypt));
    }
}

TEST_CASE("altered, replayed and foreign records are refused")
{
    ends e = make_ends(256);
    auto first = seal(*e.alloc, "first");
    auto altered = seal(*e.alloc, "second");
    altered[seal_header_size] ^= 1;
    auto third = seal(*e.alloc, "third");
    const std::string refused = "error " + std::to_string(errc::crypt);
    CHECK(open(*e.accept, first) == "first");
    CHECK(open(*e.accept, altered) == refused);
    CHECK(open(*e.accept, third) == "third");   // the flow goes on
    CHECK(open(*e.accept, first) == refused);   // a replay
    CHECK(open(*e.accept, std::vector<unsigned char>(10)) == refused); // too short

    ends other = make_ends(256, 7, 8); // the two ends disagree on the flow
    CHECK(open(*other.accept, seal(*other.alloc, "x")) == refused);
}

TEST_CASE("an unusable peer key fails with ECRYPT")
{
    key_pair k;
    REQUIRE(k.generate() == 0);
    int err = 0;
    CHECK(!flow_cipher::create(k, "", 1, 0, 256, err));
    CHECK(err == -errc::crypt);
    CHECK(!flow_cipher::create(k, k.public_key(), 1, 0, 100, err));
    CHECK(err == -errc::crypt);
    key_pair none;
    CHECK(!flow_cipher::create(none, k.public_key(), 1, 0, 256, err));
}

CHECK_MAIN
