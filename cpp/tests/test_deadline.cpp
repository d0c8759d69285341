// test_deadline.cpp - timeouts that saturate (runtime/deadline.hpp) and
// names as the real Ouroboros could hold them (runtime/names.hpp), in the
// helpers and through the C++ API ($OUROBOROS_RUNTIME_DIR, set by the driver).
#include "check.hpp"
#include "flow_pairs.hpp"

#include "runtime/deadline.hpp"
#include "runtime/names.hpp"

#include <o7s/flow.hpp>
#include <o7s/irm.hpp>

#include <cerrno>
#include <chrono>
#include <climits>
#include <future>

using namespace ouroboros;
using namespace std::chrono_literals;
using runtime::steady;

TEST_CASE("deadlines saturate instead of overflowing")
{
    const auto now = steady::now();
    CHECK(runtime::deadline_after(std::chrono::nanoseconds::max(), now) == steady::time_point::max());
    CHECK(runtime::deadline_after(std::chrono::hours::max(), now) == steady::time_point::max());
    CHECK(runtime::deadline_after(std::chrono::seconds(LLONG_MAX / 2), now) ==
          steady::time_point::max());
    CHECK(runtime::deadline_after(-5s, now) == now);
    CHECK(runtime::deadline_after(std::chrono::nanoseconds::min(), now) == now);
    CHECK(runtime::deadline_after(2s, now) == now + 2s);
    CHECK(runtime::deadline_after_ns(-1, now) == steady::time_point::max());
    CHECK(runtime::deadline_after_ns(INT64_MAX, now) == steady::time_point::max());
    CHECK(runtime::deadline_after(std::optional<std::chrono::nanoseconds>(), now) ==
          steady::time_point::max());
    CHECK(runtime::saturating_add(std::chrono::nanoseconds::max(), 5s) ==
          std::chrono::nanoseconds::max());
    CHECK(runtime::saturating_add(std::chrono::nanoseconds::min(), -5s) ==
          std::chrono::nanoseconds::min());
}

TEST_CASE("poll timeouts round up and stay within an int")
{
    const auto now = steady::now();
    CHECK(runtime::poll_timeout_ms(steady::time_point::max(), now) == -1);
    CHECK(runtime::poll_timeout_ms(now - 1s, now) == 0);
    CHECK(runtime::poll_timeout_ms(now + 1ns, now) == 1);
    CHECK(runtime::poll_timeout_ms(now + 1500us, now) == 2);
    CHECK(runtime::poll_timeout_ms(now + std::chrono::hours(24 * 365 * 100), now) == INT_MAX);
    CHECK(runtime::time_left(now - 1s, now) == 0ns);
}

TEST_CASE("flow::accept(nanoseconds::max()) waits for its flow")
{
    serve("deadline-max");
    auto accepted =
        std::async(std::launch::async, [] { return flow::accept(std::chrono::nanoseconds::max()); });
    // It did not fail at once: it is still waiting for the allocation.
    CHECK(accepted.wait_for(200ms) == std::future_status::timeout);
    flow client = flow::alloc("deadline-max", std::nullopt, 5s);
    flow server = accepted.get();
    client.write("x", 1);
    char c = 0;
    CHECK(server.read(&c, 1) == 1);
    CHECK(c == 'x');
}

TEST_CASE("flow::alloc with a timeout that does not fit waits like none")
{
    serve("deadline-alloc");
    auto accepted = std::async(std::launch::async, [] { return flow::accept(5s); });
    flow client = flow::alloc("deadline-alloc", std::nullopt, std::chrono::nanoseconds::max());
    flow server = accepted.get();
    client.write("y", 1);
    char c = 0;
    CHECK(server.read(&c, 1) == 1);
}

TEST_CASE("what makes a name")
{
    std::string why;
    CHECK(runtime::check_name("svc", why) == 0);
    CHECK(runtime::check_name("caf\xc3\xa9 \xf0\x9f\x90\x8d", why) == 0); // é and a snake
    CHECK(runtime::check_name(std::string(255, 'n'), why) == 0);
    CHECK(runtime::check_name(std::string(256, 'n'), why) == -ENAMETOOLONG);
    CHECK(why.find("256 bytes long; the limit is 255") != std::string::npos);
    CHECK(runtime::check_name("", why) == -EINVAL);
    CHECK(runtime::check_name(std::string("a\0b", 3), why) == -EINVAL);
    for (const char* bad : {"\xff", "a\x80", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80",
                            "\xf4\x90\x80\x80", "\xf0\x9f\x90", "\xc3"}) {
        CHECK(runtime::check_name(bad, why) == -EINVAL);
        CHECK(why.find("not valid UTF-8") != std::string::npos);
    }
    CHECK(runtime::printable("a\xff\n") == "a\\xff\\x0a");
    CHECK(runtime::check_name_path(std::string(511, 'p'), why, "a key path") == 0);
    CHECK(runtime::check_name_path(std::string(512, 'p'), why, "a key path") == -ENAMETOOLONG);
}

TEST_CASE("the C++ IRM API refuses bad names before any backend sees them")
{
    CHECK_THROWS_ERRNO(EINVAL, irm::create_name({"bad\xff", load_balance::spill}));
    CHECK_THROWS_ERRNO(ENAMETOOLONG, irm::create_name({std::string(256, 'n'), load_balance::spill}));
    CHECK_THROWS_ERRNO(EINVAL, irm::create_ipcp("ipcp\xfe", ipcp_type::broadcast));
    CHECK_THROWS_ERRNO(EINVAL, irm::bind_process(::getpid(), std::string("a\0b", 3)));
    CHECK_THROWS_ERRNO(EINVAL, irm::reg_name("\xc3", irm::list_ipcps().at(0).pid));
    name_info info{"long-key", load_balance::spill};
    info.server_sec.key = std::string(600, 'k');
    CHECK_THROWS_ERRNO(ENAMETOOLONG, irm::create_name(info));
    try {
        irm::create_name({"bad\xff", load_balance::spill});
    } catch (const error& e) {
        CHECK(std::string(e.what()).find("'bad\\xff' is not valid UTF-8") != std::string::npos);
    }
    std::string why;
    for (const auto& n : irm::list_names())
        CHECK(runtime::check_name(n.name, why) == 0);
}

CHECK_MAIN
