// test_flow_batch.cpp - read_many / write_many and busy polling through the
// C++ API, and the backend seam's looping defaults that a backend without
// its own batches (the future system backend) inherits.
#include "check.hpp"
#include "flow_pairs.hpp"

#include <o7s/detail/backend.hpp>
#include <o7s/flow.hpp>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

using namespace ouroboros;
using namespace std::chrono_literals;

namespace {

// Receive buffers a batch fills with whole SDUs (larger than max_sdu()).
struct slots {
    std::size_t size;
    std::vector<char> room;
    std::vector<sdu_buffer> bufs;

    slots(std::size_t count, std::size_t each) : size(each), room(count * each), bufs(count)
    {
        reset();
    }
    void reset()
    {
        for (std::size_t i = 0; i < bufs.size(); ++i)
            bufs[i] = {room.data() + i * size, size};
    }
    std::string text(std::size_t i) const
    {
        return std::string(static_cast<const char*>(bufs[i].data), bufs[i].size);
    }
};

std::vector<sdu_view> views(const std::vector<std::string>& sdus)
{
    std::vector<sdu_view> out;
    for (const auto& s : sdus)
        out.push_back({s.data(), s.size()});
    return out;
}

} // namespace

TEST_CASE("write_many and read_many move whole SDUs in order")
{
    connected c("batch-order");
    std::vector<std::string> sdus{"a", "bb", std::string(1500, 'c'), std::string(70000, 'd')};
    auto v = views(sdus);
    CHECK(c.allocated.write_many(v.data(), v.size()) == std::optional<std::size_t>(4));
    slots s(8, c.accepted.max_sdu() + 1);
    std::size_t got = 0;
    while (got < sdus.size()) {
        s.reset();
        auto n = c.accepted.read_many(s.bufs.data(), s.bufs.size());
        REQUIRE(n && *n > 0);
        for (std::size_t i = 0; i < *n; ++i)
            CHECK(s.text(i) == sdus[got + i]);
        got += *n;
    }
    CHECK(c.accepted.rx_queue_len() == 0);
}

TEST_CASE("a batch stops before a buffer that may not hold a whole SDU")
{
    connected c("batch-small");
    std::vector<std::string> sdus{"one", "two"};
    auto v = views(sdus);
    c.allocated.write_many(v.data(), v.size());
    slots s(2, c.accepted.max_sdu()); // not larger than max_sdu()
    CHECK(c.accepted.read_many(s.bufs.data(), 2) == std::optional<std::size_t>(1));
    CHECK(s.text(0) == "one");
    char buf[8];
    CHECK(c.accepted.read(buf, sizeof buf) == std::optional<std::size_t>(3));
}

TEST_CASE("a batch after a partial read starts with the rest of the SDU")
{
    connected c("batch-partial");
    std::vector<std::string> sdus{"0123456789", "next"};
    auto v = views(sdus);
    c.allocated.write_many(v.data(), v.size());
    char head[4];
    CHECK(c.accepted.read(head, sizeof head) == std::optional<std::size_t>(4));
    slots s(4, c.accepted.max_sdu() + 1);
    CHECK(c.accepted.read_many(s.bufs.data(), 4) == std::optional<std::size_t>(2));
    CHECK(s.text(0) == "456789");
    CHECK(s.text(1) == "next");
}

TEST_CASE("would-block is an empty optional for batches too")
{
    connected c("batch-nonblock");
    c.accepted.set_flags(flow_flags::read_write | flow_flags::nonblocking_read);
    slots s(2, c.accepted.max_sdu() + 1);
    CHECK(c.accepted.read_many(s.bufs.data(), 2) == std::nullopt);
    c.allocated.set_flags(flow_flags::read_write | flow_flags::nonblocking_write);
    std::string big(256 * 1024, 'x');
    std::vector<sdu_view> many(1000, sdu_view{big.data(), big.size()});
    auto n = c.allocated.write_many(many.data(), many.size());
    REQUIRE(n && *n > 0 && *n < many.size());
    CHECK(c.accepted.rx_queue_len() == *n);
    CHECK(c.allocated.write_many(many.data(), 1) == std::nullopt);
}

TEST_CASE("the seam's looping defaults behave like the batched calls")
{
    connected c("batch-default");
    detail::flow_backend& be = detail::active_backend().flows();
    const int w = c.allocated.descriptor();
    const int r = c.accepted.descriptor();
    std::vector<std::string> sdus{"x", "", "yy", std::string(3000, 'z')};
    auto v = views(sdus);
    // Qualified calls: the base class's implementations, not the overrides.
    CHECK(be.detail::flow_backend::flow_write_many(w, v.data(), v.size()) == 4);
    slots s(8, c.accepted.max_sdu() + 1);
    CHECK(be.detail::flow_backend::flow_read_many(r, s.bufs.data(), 8) == 3);
    CHECK(s.text(0) == "x");
    CHECK(s.text(1) == "yy");
    CHECK(s.text(2) == sdus[3]);
    // A partial first read ends the batch: the next read belongs to its SDU.
    be.detail::flow_backend::flow_write_many(w, v.data(), 1);
    be.detail::flow_backend::flow_write_many(w, v.data() + 2, 1);
    s.reset();
    s.bufs[0].size = 1;
    CHECK(be.detail::flow_backend::flow_read_many(r, s.bufs.data(), 8) == 1);
    char end[4];
    CHECK(c.accepted.read(end, sizeof end) == std::optional<std::size_t>(0)); // end of "x"
    s.reset();
    CHECK(be.detail::flow_backend::flow_read_many(r, s.bufs.data(), 8) == 1);
    CHECK(s.text(0) == "yy");
    c.accepted.set_flags(flow_flags::read_only);
    CHECK(be.detail::flow_backend::flow_write_many(r, v.data(), 1) == -EPERM);
}

TEST_CASE("busy polling is a bounded per-flow setting")
{
    connected c("busy-setting");
    CHECK(c.accepted.busy_poll() == 0ns);
    c.accepted.set_busy_poll(200us);
    CHECK(c.accepted.busy_poll() == 200us);
    CHECK_THROWS_ERRNO(EINVAL, c.accepted.set_busy_poll(2s));
    CHECK_THROWS_ERRNO(EINVAL, c.accepted.set_busy_poll(-1ns));
    CHECK(c.accepted.busy_poll() == 200us);
    CHECK(c.allocated.busy_poll() == 0ns);
}

TEST_CASE("a busy-polling read gets SDUs that come during and after the spin")
{
    connected c("busy-read");
    c.accepted.set_busy_poll(5ms);
    std::thread writer([&] {
        c.allocated.write("soon", 4);
        std::this_thread::sleep_for(100ms); // past the budget: the reader sleeps
        c.allocated.write("late", 4);
    });
    char buf[8];
    CHECK(c.accepted.read(buf, sizeof buf) == std::optional<std::size_t>(4));
    CHECK(std::memcmp(buf, "soon", 4) == 0);
    CHECK(c.accepted.read(buf, sizeof buf) == std::optional<std::size_t>(4));
    CHECK(std::memcmp(buf, "late", 4) == 0);
    writer.join();
}

CHECK_MAIN
