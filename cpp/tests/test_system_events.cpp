// test_system_events.cpp - the C++ API and the system backend's flow sets
// (fset/fqueue) on the real Ouroboros. tests/test_system_cpp.py runs it
// with $O7S_TEST_SERVER naming a C oecho server (which echoes one SDU per
// flow, then deallocates it).
#include "check.hpp"

#include <o7s/backend.hpp>
#include <o7s/detail/backend.hpp>
#include <o7s/flow.hpp>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace ouroboros;
using namespace std::chrono_literals;

namespace {

std::string server()
{
    const char* name = std::getenv("O7S_TEST_SERVER");
    return name != nullptr ? name : "";
}

} // namespace

TEST_CASE("the system backend is active")
{
    CHECK(backend_name() == "system");
}

TEST_CASE("a flow set reports the packets of its flows")
{
    flow f = flow::alloc(server(), std::nullopt, 10s);
    int err = 0;
    auto set = detail::active_backend().flows().create_event_set(err);
    REQUIRE(set != nullptr);
    const int fd = f.descriptor();
    CHECK(set->add(fd, 7) == 0);
    CHECK(set->add(fd, 7) == 0); // again: no effect
    CHECK(set->has(fd));

    std::vector<detail::event> events;
    CHECK(set->wait(events, 200ms) == -ETIMEDOUT);
    CHECK(events.empty());

    const char msg[] = "Client says hi!";
    CHECK(f.write(msg, sizeof msg) == sizeof msg);
    int n = set->wait(events, 10s);
    REQUIRE(n >= 1);
    CHECK(events.at(0).fd == fd);
    CHECK(events.at(0).type == event_type::pkt);
    CHECK(events.at(0).tag == 7);

    char buf[64];
    auto got = f.read(buf, sizeof buf);
    CHECK(got && *got == sizeof msg && std::memcmp(buf, msg, sizeof msg) == 0);

    set->remove(fd);
    CHECK(!set->has(fd));
    set->zero();
}

TEST_CASE("a flow is in one flow set at a time")
{
    flow f = flow::alloc(server(), std::nullopt, 10s);
    int err = 0;
    auto first = detail::active_backend().flows().create_event_set(err);
    auto second = detail::active_backend().flows().create_event_set(err);
    REQUIRE(first != nullptr && second != nullptr);
    CHECK(first->add(f.descriptor(), 1) == 0);
    CHECK(second->add(f.descriptor(), 2) == -EPERM);
    CHECK(detail::take_error_detail().find("one flow set") != std::string::npos);
    CHECK(second->add(-1, 3) == -EBADF);
    std::vector<detail::event> events;
    second->wake();
    CHECK(second->wait(events, 10s) == 0);
    second->cancel();
    CHECK(second->wait(events, 10s) == -ECANCELED);
    // oecho serves one flow at a time: let it finish with this one.
    const char msg[] = "bye";
    char buf[8];
    f.write(msg, sizeof msg);
    f.set_rcv_timeout(10s);
    f.read(buf, sizeof buf);
}

TEST_CASE("the C++ flow: read timeout, close twice, use after close")
{
    flow f = flow::alloc(server(), std::nullopt, 10s);
    f.set_rcv_timeout(200ms); // oecho waits for our SDU: nothing comes
    CHECK(f.rcv_timeout() == timeout(200ms));
    char buf[8];
    CHECK_THROWS_ERRNO(ETIMEDOUT, f.read(buf, sizeof buf));
    f.close();
    f.close();
    CHECK_THROWS_ERRNO(errc::not_allocated, f.max_sdu());
}

CHECK_MAIN
