// test_event.cpp - flow_set and event_queue over the embedded runtime:
// events, lifetimes (flows closed or destroyed while in a set or a queue),
// closing a set under a waiter, and many flows in one set.
#include "check.hpp"
#include "flow_pairs.hpp"

#include <o7s/event.hpp>
#include <o7s/flow.hpp>
#include <o7s/irm.hpp>

#include <unistd.h>

#include <chrono>
#include <future>
#include <thread>
#include <type_traits>
#include <vector>

using namespace ouroboros;
using namespace std::chrono_literals;

static_assert(!std::is_copy_constructible_v<flow_set>, "a flow set is move-only");
static_assert(std::is_nothrow_move_constructible_v<flow_set>, "moving a set never throws");
static_assert(std::is_nothrow_move_assignable_v<flow_set>, "moving a set never throws");
static_assert(std::is_nothrow_destructible_v<flow_set>, "destroying a set never throws");
static_assert(!std::is_copy_constructible_v<event_queue>, "an event queue is move-only");
static_assert(std::is_nothrow_move_constructible_v<event_queue>, "moving a queue never throws");

namespace {

// The events of one wait, as (flow, type) pairs.
std::vector<std::pair<flow_ref, event_type>> wait_events(flow_set& set, timeout t = 5s)
{
    event_queue q;
    set.wait(q, t);
    std::vector<std::pair<flow_ref, event_type>> out;
    while (auto ev = q.next())
        out.emplace_back(ev->flow, ev->type);
    return out;
}

} // namespace

TEST_CASE("an empty wait times out")
{
    auto [a, b] = pair_of_flows("cpp-events");
    flow_set set;
    set.add(b);
    event_queue q;
    auto start = std::chrono::steady_clock::now();
    CHECK_THROWS_ERRNO(ETIMEDOUT, set.wait(q, 100ms));
    CHECK(std::chrono::steady_clock::now() - start >= 90ms);
    CHECK(q.empty());
    CHECK(!q.next());
}

TEST_CASE("a packet event names the flow")
{
    auto [a, b] = pair_of_flows("cpp-events");
    flow_set set;
    set.add(a);
    set.add(b);
    set.add(b); // again: no effect
    CHECK(set.size() == 2);
    CHECK(set.has(a) && set.has(b));
    a.write("x", 1);
    auto evs = wait_events(set);
    REQUIRE(evs.size() == 1);
    CHECK(evs[0].first == b);
    CHECK(evs[0].second == event_type::pkt);
    char c = 0;
    CHECK(b.read(&c, 1) == std::optional<std::size_t>(1));
    set.remove(a);
    CHECK(!set.has(a) && set.size() == 1);
    set.zero();
    CHECK(set.size() == 0);
}

TEST_CASE("sets and queues swap their contents")
{
    auto [a, b] = pair_of_flows("cpp-events");
    flow_set first, second;
    first.add(b);
    swap(first, second);
    CHECK(first.size() == 0 && second.has(b));
    a.write("x", 1);
    event_queue q, other;
    second.wait(q, 5s);
    CHECK(q.size() == 1);
    swap(q, other);
    CHECK(q.empty() && other.size() == 1);
    auto ev = other.next();
    REQUIRE(ev);
    CHECK(ev->flow == b && ev->type == event_type::pkt);
    second.close();
    first.swap(second);
    CHECK(first.is_open() == false && second.is_open());
}

TEST_CASE("a peer's close is FLOW_DEALLOC, after the data sent before it")
{
    auto [a, b] = pair_of_flows("cpp-events");
    flow_set set;
    set.add(b);
    a.write("bye", 3);
    a.close();
    auto evs = wait_events(set);
    REQUIRE(evs.size() == 1);
    CHECK(evs[0].second == event_type::pkt);
    char buf[8];
    CHECK(b.read(buf, sizeof buf) == std::optional<std::size_t>(3));
    evs = wait_events(set);
    REQUIRE(evs.size() == 1);
    CHECK(evs[0].second == event_type::dealloc);
    event_queue q;
    CHECK_THROWS_ERRNO(ETIMEDOUT, set.wait(q, 50ms)); // once
}

TEST_CASE("marking a flow down and up reaches the peer's sets")
{
    auto [a, b] = pair_of_flows("cpp-events");
    flow_set set;
    set.add(b);
    a.set_flags(flow_flags::read_write | flow_flags::down);
    auto evs = wait_events(set);
    REQUIRE(evs.size() == 1);
    CHECK(evs[0].second == event_type::down);
    char c;
    CHECK_THROWS_ERRNO(errc::flow_down, b.write("x", 1));
    CHECK_THROWS_ERRNO(errc::flow_down, b.read(&c, 1));
    a.set_flags(flow_flags::defaults | flow_flags::nonblocking); // flags only: no event
    a.set_flags(flow_flags::defaults);
    evs = wait_events(set);
    REQUIRE(evs.size() == 1);
    CHECK(evs[0].second == event_type::up);
    CHECK(b.write("x", 1) == std::optional<std::size_t>(1));
}

TEST_CASE("a flow closed in a set leaves it, and its queued events are skipped")
{
    auto [a, b] = pair_of_flows("cpp-events");
    auto [c, d] = pair_of_flows("cpp-events");
    flow_set set;
    set.add(b);
    set.add(d);
    a.write("1", 1);
    c.write("2", 1);
    std::this_thread::sleep_for(50ms);
    event_queue q;
    set.wait(q, 5s);
    CHECK(q.size() == 2);
    b.close();
    CHECK(!set.has(b));
    CHECK(set.size() == 1);
    auto ev = q.next();
    REQUIRE(ev);
    CHECK(ev->flow == d);
    CHECK(!q.next());
}

TEST_CASE("a flow destroyed while its event waits in a queue is skipped safely")
{
    flow_set set;
    event_queue q;
    flow keep;
    {
        auto [a, b] = pair_of_flows("cpp-events");
        set.add(b);
        a.write("x", 1);
        set.wait(q, 5s);
        keep = std::move(a);
    } // b is closed and destroyed here; the queue still held its event
    CHECK(!q.next());
    CHECK(set.size() == 0);
}

TEST_CASE("the flow_ref of an event stays safe after its flow closes")
{
    auto [a, b] = pair_of_flows("cpp-events");
    flow_set set;
    set.add(b);
    a.write("x", 1);
    event_queue q;
    set.wait(q, 5s);
    auto ev = q.next();
    REQUIRE(ev);
    b.close();
    CHECK(!ev->flow.is_open());
    char c;
    CHECK_THROWS_ERRNO(errc::not_allocated, ev->flow.read(&c, 1));
}

TEST_CASE("closing a set wakes its waiter")
{
    auto [a, b] = pair_of_flows("cpp-events");
    flow_set set;
    set.add(b);
    auto waiter = std::async(std::launch::async, [&set] {
        event_queue q;
        try {
            set.wait(q);
            return 0;
        } catch (const error& e) {
            return e.num();
        }
    });
    std::this_thread::sleep_for(100ms);
    set.close();
    REQUIRE(waiter.wait_for(5s) == std::future_status::ready);
    CHECK(waiter.get() == EBADF);
    CHECK(!set.is_open());
    CHECK_THROWS_ERRNO(EBADF, set.add(b));
    set.close(); // a second close is a no-op
    CHECK(b.is_open()); // the flow itself is untouched
}

TEST_CASE("add(f, type) posts the event before the flow's own")
{
    auto [a, b] = pair_of_flows("cpp-events");
    const char hello[] = "hi";
    a.write(hello, sizeof hello);
    flow_set set;
    set.add(b, event_type::alloc); // an SDU is queued already
    auto evs = wait_events(set, 5s);
    REQUIRE(!evs.empty());
    CHECK(evs[0].first == b);
    CHECK(evs[0].second == event_type::alloc);
}

TEST_CASE("post() queues an event and wakes a waiter")
{
    auto [a, b] = pair_of_flows("cpp-events");
    flow_set set;
    set.add(b);
    auto waiter = std::async(std::launch::async, [&set] { return wait_events(set, 5s); });
    std::this_thread::sleep_for(100ms);
    set.post(b, event_type::alloc);
    REQUIRE(waiter.wait_for(5s) == std::future_status::ready);
    auto evs = waiter.get();
    REQUIRE(evs.size() == 1);
    CHECK(evs[0].first == b);
    CHECK(evs[0].second == event_type::alloc);
    CHECK_THROWS_ERRNO(EINVAL, set.post(a, event_type::alloc)); // not in the set
    set.post(b, event_type::alloc);
    set.remove(b); // a posted event of a flow that left is dropped
    event_queue q;
    CHECK_THROWS_ERRNO(ETIMEDOUT, set.wait(q, 50ms));
}

TEST_CASE("a closed flow cannot be added")
{
    auto [a, b] = pair_of_flows("cpp-events");
    b.close();
    flow_set set;
    CHECK_THROWS_ERRNO(errc::not_allocated, set.add(b));
    flow empty;
    CHECK_THROWS_ERRNO(errc::not_allocated, set.add(empty));
}

TEST_CASE("a hundred flows in one set")
{
    std::vector<flow> ours;
    std::vector<flow> theirs;
    flow_set set;
    for (int i = 0; i < 100; ++i) {
        auto [a, b] = pair_of_flows("cpp-events");
        set.add(b);
        ours.push_back(std::move(a));
        theirs.push_back(std::move(b));
    }
    for (auto& f : ours)
        f.write("x", 1);
    std::size_t seen = 0;
    while (seen < theirs.size()) {
        auto evs = wait_events(set);
        for (auto& [f, type] : evs) {
            CHECK(type == event_type::pkt);
            char c;
            CHECK(f.read(&c, 1) == std::optional<std::size_t>(1));
            ++seen;
        }
    }
    CHECK(seen == 100);
}

CHECK_MAIN
