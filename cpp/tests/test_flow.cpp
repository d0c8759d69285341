// test_flow.cpp - the owning flow: lifetime rules and I/O between threads
// over the embedded runtime ($OUROBOROS_RUNTIME_DIR, set by the driver).
#include "check.hpp"
#include "flow_pairs.hpp"

#include <o7s/backend.hpp>
#include <o7s/flow.hpp>
#include <o7s/flow_request.hpp>
#include <o7s/irm.hpp>

#include <poll.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <future>
#include <thread>
#include <type_traits>

using namespace ouroboros;
using namespace std::chrono_literals;

static_assert(!std::is_copy_constructible_v<flow>, "a flow is move-only");
static_assert(!std::is_copy_assignable_v<flow>, "a flow is move-only");
static_assert(std::is_nothrow_move_constructible_v<flow>, "moving a flow never throws");
static_assert(std::is_nothrow_move_assignable_v<flow>, "moving a flow never throws");
static_assert(std::is_nothrow_swappable_v<flow>, "swapping flows never throws");
static_assert(std::is_nothrow_destructible_v<flow>, "destroying a flow never throws");

TEST_CASE("backend is embedded")
{
    CHECK(backend_name() == "embedded");
}

TEST_CASE("default flow is not open and refuses use")
{
    flow f;
    CHECK(!f.is_open());
    CHECK(!f);
    char buf[4];
    CHECK_THROWS_ERRNO(errc::not_allocated, f.descriptor());
    CHECK_THROWS_ERRNO(errc::not_allocated, f.read(buf, sizeof buf));
    CHECK_THROWS_ERRNO(errc::not_allocated, f.write("x", 1));
    f.close(); // closing an empty flow is a no-op
}

TEST_CASE("alloc to an unknown name throws ENAME")
{
    CHECK_THROWS_ERRNO(errc::name, flow::alloc("no-such-name", std::nullopt, 1s));
}

TEST_CASE("write and read between two flows")
{
    auto [a, b] = pair_of_flows("cpp-pair");
    REQUIRE(a.is_open() && b.is_open());
    CHECK(a.write("hello", 5) == std::optional<std::size_t>(5));
    char buf[16] = {};
    b.set_rcv_timeout(5s);
    CHECK(b.read(buf, sizeof buf) == std::optional<std::size_t>(5));
    CHECK(std::memcmp(buf, "hello", 5) == 0);
    CHECK(b.rcv_timeout() == timeout(5s));
    CHECK(a.rcv_timeout() == std::nullopt);
    CHECK(a.qos() == b.qos());
}

TEST_CASE("would-block is an empty optional, a timeout an error")
{
    auto [a, b] = pair_of_flows("cpp-nonblock");
    b.set_flags(flow_flags::read_write | flow_flags::nonblocking_read);
    char buf[8];
    CHECK(b.read(buf, sizeof buf) == std::nullopt);
    b.set_flags(flow_flags::defaults);
    b.set_rcv_timeout(50ms);
    auto start = std::chrono::steady_clock::now();
    CHECK_THROWS_ERRNO(ETIMEDOUT, b.read(buf, sizeof buf));
    CHECK(std::chrono::steady_clock::now() - start >= 40ms);
}

TEST_CASE("errors compare with std::errc and keep Ouroboros' own codes")
{
    auto [a, b] = pair_of_flows("cpp-errc");
    b.set_rcv_timeout(1ms);
    char buf[8];
    try {
        b.read(buf, sizeof buf);
        CHECK(false);
    } catch (const error& e) {
        CHECK(e.code() == std::errc::timed_out);
        CHECK(e.code() != std::errc::broken_pipe);
    }
    a.close();
    try {
        a.read(buf, sizeof buf);
        CHECK(false);
    } catch (const error& e) {
        CHECK(e.code().value() == errc::not_allocated);
        CHECK(e.code().default_error_condition().category() == ouroboros::category());
        CHECK(e.code().message() == "Flow is not allocated");
    }
}

TEST_CASE("close twice is a no-op, use after close throws")
{
    auto [a, b] = pair_of_flows("cpp-close");
    a.close();
    a.close();
    CHECK(!a.is_open());
    CHECK_THROWS_ERRNO(errc::not_allocated, a.write("x", 1));
    char buf[4];
    b.set_rcv_timeout(5s);
    CHECK_THROWS_ERRNO(errc::flow_down, b.read(buf, sizeof buf)); // the peer is gone
}

TEST_CASE("moving transfers ownership")
{
    auto [a, b] = pair_of_flows("cpp-move");
    int fd = a.descriptor();
    flow moved(std::move(a));
    CHECK(!a.is_open());
    CHECK(moved.descriptor() == fd);
    flow assigned;
    assigned = std::move(moved);
    CHECK(assigned.descriptor() == fd);
    using std::swap;
    flow other;
    swap(assigned, other);
    CHECK(other.descriptor() == fd);
    CHECK(!assigned.is_open());
}

TEST_CASE("the destructor deallocates")
{
    auto [a, b] = pair_of_flows("cpp-dtor");
    {
        flow gone(std::move(a));
    }
    char buf[4];
    b.set_rcv_timeout(5s);
    CHECK_THROWS_ERRNO(errc::flow_down, b.read(buf, sizeof buf));
}

TEST_CASE("close from another thread wakes a blocked read")
{
    auto [a, b] = pair_of_flows("cpp-wake");
    std::atomic<int> result{0};
    std::thread reader([&] {
        char buf[8];
        try {
            b.read(buf, sizeof buf);
            result = 1;
        } catch (const error& e) {
            result = e.num();
        }
    });
    std::this_thread::sleep_for(100ms);
    b.close();
    reader.join();
    CHECK(result == errc::not_allocated);
}

TEST_CASE("flow_ref views a flow without owning it")
{
    auto [a, b] = pair_of_flows("cpp-ref");
    flow_ref view = a;
    CHECK(view == a);
    CHECK(view.is_open());
    CHECK(view.write("v", 1) == std::optional<std::size_t>(1));
    a.close();
    CHECK(!view.is_open());
}

CHECK_MAIN

// Waits (at most 5 s) until the request's descriptor polls readable.
static bool answered(const flow_request& r)
{
    pollfd p{r.fd(), POLLIN, 0};
    return ::poll(&p, 1, 5000) == 1;
}

// poll() until the flow is there, waiting on the descriptor in between.
static flow finish(flow_request& r)
{
    for (;;) {
        REQUIRE(answered(r));
        if (auto f = r.poll())
            return std::move(*f);
    }
}

TEST_CASE("flow requests complete without blocking")
{
    serve("cpp-request");
    auto accepting = flow_request::accept(5s);
    auto allocating = flow_request::alloc("cpp-request", std::nullopt, 5s);
    CHECK(accepting.pending() && allocating.pending());
    CHECK(!accepting.poll()); // the allocator has not confirmed yet: nothing for us
    flow a = finish(allocating);
    flow b = finish(accepting);
    CHECK(!allocating.pending());
    CHECK_THROWS_ERRNO(EALREADY, allocating.poll());
    a.write("hi", 2);
    char buf[4];
    b.set_rcv_timeout(5s);
    CHECK(b.read(buf, sizeof buf) == std::optional<std::size_t>(2));
}

TEST_CASE("an allocation given up after the answer never reaches the acceptor")
{
    serve("cpp-request-cancel");
    auto accepting = flow_request::accept(5s);
    {
        auto given_up = flow_request::alloc("cpp-request-cancel", std::nullopt, 5s);
        REQUIRE(answered(given_up)); // the grant is there, unread
    } // given up: the daemon takes the accept back
    auto real = flow_request::alloc("cpp-request-cancel", std::nullopt, 5s);
    flow a = finish(real);
    a.write("real", 4);
    flow b = finish(accepting);
    char buf[8];
    b.set_rcv_timeout(5s);
    CHECK(b.read(buf, sizeof buf) == std::optional<std::size_t>(4));
    CHECK(std::memcmp(buf, "real", 4) == 0);
}

TEST_CASE("a request to an unknown name fails in poll()")
{
    auto r = flow_request::alloc("cpp-no-such-name", std::nullopt, 1s);
    REQUIRE(answered(r));
    CHECK_THROWS_ERRNO(errc::name, r.poll());
    CHECK(!r.pending());
}
