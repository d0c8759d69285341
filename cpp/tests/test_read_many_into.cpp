// test_read_many_into.cpp - flow_ref::read_many_into(): many SDUs packed
// into one buffer, through the C++ API and through the seam's generic
// default (what the system backend runs, and what a backend's faster
// override must agree with).
#include "check.hpp"
#include "flow_pairs.hpp"

#include <o7s/detail/backend.hpp>
#include <o7s/flow.hpp>

#include <chrono>
#include <string>
#include <tuple>
#include <vector>

using namespace ouroboros;
using namespace std::chrono_literals;

namespace {

// Writes the SDUs on the allocated end, all in one batch.
void send(connected& c, const std::vector<std::string>& sdus)
{
    std::vector<sdu_view> v;
    for (const auto& s : sdus)
        v.push_back({s.data(), s.size()});
    REQUIRE(c.allocated.write_many(v.data(), v.size()) == std::optional<std::size_t>(v.size()));
}

// One buffer and its ends, with the SDUs a call left in them.
struct packed {
    std::vector<char> buf;
    std::vector<std::size_t> ends;
    std::size_t n = 0;

    packed(std::size_t bytes, std::size_t max) : buf(bytes), ends(max, ~std::size_t{0}) {}

    std::optional<std::size_t> read(flow_ref f)
    {
        auto got = f.read_many_into(buf.data(), buf.size(), ends.data(), ends.size());
        n = got.value_or(0);
        return got;
    }
    std::string sdu(std::size_t i) const
    {
        std::size_t start = i == 0 ? 0 : ends[i - 1];
        return std::string(buf.data() + start, ends[i] - start);
    }
    std::vector<std::string> sdus() const
    {
        std::vector<std::string> out;
        for (std::size_t i = 0; i < n; ++i)
            out.push_back(sdu(i));
        return out;
    }
};

// What calls return until `count` SDUs (or pieces of one) came, however
// the backend groups them into calls.
std::vector<std::string> read_pieces(flow_ref f, packed& p, std::size_t count)
{
    std::vector<std::string> out;
    while (out.size() < count) {
        REQUIRE(p.read(f).value_or(0) >= 1);
        for (auto& s : p.sdus())
            out.push_back(s);
    }
    return out;
}

} // namespace

TEST_CASE("read_many_into packs the queued SDUs one after another")
{
    connected c("into-pack");
    std::vector<std::string> sdus{"a", "bb", std::string(1500, 'c'), std::string(70000, 'd'), "e"};
    send(c, sdus);
    packed p(3 * c.accepted.max_sdu(), 16);
    CHECK(p.read(c.accepted) == std::optional<std::size_t>(5));
    CHECK(p.sdus() == sdus);
    CHECK(p.ends[0] == 1);
    CHECK(p.ends[4] == 1 + 2 + 1500 + 70000 + 1);
    CHECK(c.accepted.rx_queue_len() == 0);
}

TEST_CASE("read_many_into takes at most max SDUs")
{
    connected c("into-max");
    send(c, {"1", "2", "3"});
    packed p(3 * c.accepted.max_sdu(), 2);
    CHECK(p.read(c.accepted) == std::optional<std::size_t>(2));
    CHECK(p.sdus() == (std::vector<std::string>{"1", "2"}));
    CHECK(p.read(c.accepted) == std::optional<std::size_t>(1));
    CHECK(p.sdu(0) == "3");
}

TEST_CASE("read_many_into stops before an SDU that does not fit and keeps it queued")
{
    connected c("into-stop");
    const std::size_t max = c.accepted.max_sdu();
    std::string big(max, 'B');
    send(c, {std::string(20, 's'), big, "t"});
    packed p(max + 10, 8); // after the first SDU, `big` cannot fit
    CHECK(p.read(c.accepted) == std::optional<std::size_t>(1));
    CHECK(p.sdu(0) == std::string(20, 's'));
    CHECK(c.accepted.rx_queue_len() == 2);
    CHECK(read_pieces(c.accepted, p, 2) == (std::vector<std::string>{big, "t"}));
}

TEST_CASE("the first SDU follows read()'s partial-read rules")
{
    connected c("into-partial");
    send(c, {"0123456789abcdefghijklmno", "next"});
    packed p(10, 4);
    // A first SDU larger than the buffer fills it; the rest comes next.
    CHECK(p.read(c.accepted) == std::optional<std::size_t>(1));
    CHECK(p.sdu(0) == "0123456789");
    CHECK(p.read(c.accepted) == std::optional<std::size_t>(1));
    CHECK(p.sdu(0) == "abcdefghij");
    CHECK(read_pieces(c.accepted, p, 2) == (std::vector<std::string>{"klmno", "next"}));
    // One that fills the buffer exactly is followed by its 0-byte end, as
    // consecutive read() calls see it.
    send(c, {"0123456789", "last"});
    CHECK(p.read(c.accepted) == std::optional<std::size_t>(1));
    CHECK(p.sdu(0) == "0123456789");
    CHECK(read_pieces(c.accepted, p, 2) == (std::vector<std::string>{"", "last"}));
}

TEST_CASE("with no_partial_read an SDU larger than the buffer is an error and is dropped")
{
    connected c("into-nopart");
    c.accepted.set_flags(flow_flags::read_write | flow_flags::no_partial_read);
    send(c, {std::string(100, 'x'), "next"});
    packed p(10, 4);
    CHECK_THROWS_ERRNO(EMSGSIZE, p.read(c.accepted));
    CHECK(p.read(c.accepted) == std::optional<std::size_t>(1));
    CHECK(p.sdu(0) == "next");
}

TEST_CASE("would-block, timeouts and bad arguments")
{
    connected c("into-args");
    packed p(2 * c.accepted.max_sdu(), 4);
    c.accepted.set_rcv_timeout(50ms);
    CHECK_THROWS_ERRNO(ETIMEDOUT, p.read(c.accepted));
    c.accepted.set_flags(flow_flags::read_write | flow_flags::nonblocking_read);
    CHECK(p.read(c.accepted) == std::nullopt);
    CHECK(c.accepted.read_many_into(p.buf.data(), p.buf.size(), p.ends.data(), 0) ==
          std::optional<std::size_t>(0));
    CHECK_THROWS_ERRNO(EINVAL, c.accepted.read_many_into(nullptr, 10, p.ends.data(), 4));
    CHECK_THROWS_ERRNO(EINVAL, c.accepted.read_many_into(p.buf.data(), 10, nullptr, 4));
    c.allocated.close();
    CHECK_THROWS_ERRNO(errc::not_allocated, c.allocated.read_many_into(p.buf.data(), 10, p.ends.data(), 4));
}

TEST_CASE("the seam's generic default packs only while more than max_sdu is left")
{
    connected c("into-default");
    detail::flow_backend& be = detail::active_backend().flows();
    const int r = c.accepted.descriptor();
    const std::size_t max = c.accepted.max_sdu();
    send(c, {"x", "yy", "zzz"});
    packed p(max + 3, 8);
    // Qualified calls: the base class's implementation, not an override.
    // After "x", max + 2 bytes are left: room for any SDU, so "yy" comes;
    // then max bytes are left, which may not hold a whole SDU: stop.
    CHECK(be.detail::flow_backend::flow_read_many_into(r, p.buf.data(), p.buf.size(),
                                                       p.ends.data(), 8) == 2);
    p.n = 2;
    CHECK(p.sdus() == (std::vector<std::string>{"x", "yy"}));
    CHECK(be.detail::flow_backend::flow_read_many_into(r, p.buf.data(), p.buf.size(),
                                                       p.ends.data(), 0) == 0);
    CHECK(be.detail::flow_backend::flow_read_many_into(r, p.buf.data(), p.buf.size(),
                                                       p.ends.data(), 8) == 1);
    CHECK(p.sdu(0) == "zzz");
    c.accepted.set_flags(flow_flags::write_only);
    CHECK(be.detail::flow_backend::flow_read_many_into(r, p.buf.data(), p.buf.size(),
                                                       p.ends.data(), 8) == -EPERM);
}

CHECK_MAIN
