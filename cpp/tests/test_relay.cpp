// test_relay.cpp - the broadcast relay on its own: members, fan-out,
// order, slow members, leaving, a destroyed layer.
#include "check.hpp"

#include "daemon/epoll_tags.hpp"
#include "daemon/relay.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <string>
#include <vector>

using namespace ouroboros;
using daemon::relay;

namespace {

struct harness {
    runtime::unique_fd ep{::epoll_create1(EPOLL_CLOEXEC)};
    relay r{ep.get()};
    std::uint64_t next_flow = 1;

    // A new member's end (the page is not needed here).
    runtime::unique_fd join(pid_t layer)
    {
        runtime::unique_fd sock, page;
        std::string why;
        int rc = r.join(layer, 100, next_flow++, sock, page, why);
        REQUIRE(rc == 0);
        return sock;
    }

    // Runs the relay until it has nothing left to do.
    void pump()
    {
        epoll_event events[16];
        for (int idle = 0; idle < 3;) {
            int n = ::epoll_wait(ep.get(), events, 16, 10);
            idle = n > 0 ? 0 : idle + 1;
            for (int i = 0; i < n; ++i)
                r.on_event(daemon::value_of(events[i].data.u64), events[i].events);
        }
    }
};

void say(const runtime::unique_fd& sock, const std::string& text)
{
    REQUIRE(::send(sock.get(), text.data(), text.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(text.size()));
}

// Everything waiting on the socket, one string per SDU.
std::vector<std::string> heard(const runtime::unique_fd& sock)
{
    std::vector<std::string> out;
    char buf[70000];
    for (;;) {
        ssize_t n = ::recv(sock.get(), buf, sizeof buf, MSG_DONTWAIT);
        if (n <= 0)
            return out;
        out.emplace_back(buf, static_cast<std::size_t>(n));
    }
}

} // namespace

TEST_CASE("every member but the sender hears each SDU, in order")
{
    harness h;
    auto a = h.join(1), b = h.join(1), c = h.join(1), other = h.join(2);
    CHECK(h.r.members_of(1) == 3);
    for (int i = 0; i < 50; ++i)
        say(a, "a" + std::to_string(i));
    say(b, "b0");
    h.pump();
    std::vector<std::string> from_a;
    for (int i = 0; i < 50; ++i)
        from_a.push_back("a" + std::to_string(i));
    auto at_b = heard(b);
    auto at_c = heard(c);
    CHECK(at_b == from_a);
    REQUIRE(at_c.size() == 51);
    at_c.erase(std::remove(at_c.begin(), at_c.end(), "b0"), at_c.end());
    CHECK(at_c == from_a); // a's SDUs in a's order, b's wherever they fell
    CHECK(heard(a) == std::vector<std::string>{"b0"});
    CHECK(heard(other).empty());
}

TEST_CASE("a member that leaves is dropped, the others go on")
{
    harness h;
    auto a = h.join(1), b = h.join(1);
    {
        auto c = h.join(1);
        say(c, "last words");
        h.pump();
    } // c closes its end, as a dying process would
    h.pump();
    CHECK(h.r.members_of(1) == 2);
    CHECK(heard(a) == std::vector<std::string>{"last words"});
    CHECK(heard(b) == std::vector<std::string>{"last words"});
    say(a, "still here");
    h.pump();
    CHECK(heard(b) == std::vector<std::string>{"still here"});
}

TEST_CASE("a slow member misses SDUs; nobody else does")
{
    harness h;
    auto a = h.join(1), b = h.join(1), slow = h.join(1);
    const std::string payload(16000, 'x');
    const int total = 2000;
    std::vector<std::string> at_b;
    for (int i = 0; i < total; ++i) {
        say(a, std::to_string(i) + ":" + payload);
        if (i % 50 == 49) { // b keeps up, slow never reads
            h.pump();
            auto got = heard(b);
            at_b.insert(at_b.end(), got.begin(), got.end());
        }
    }
    h.pump();
    auto got = heard(b);
    at_b.insert(at_b.end(), got.begin(), got.end());
    CHECK(at_b.size() == static_cast<std::size_t>(total));
    CHECK(h.r.dropped() > 0);
    auto at_slow = heard(slow);
    h.pump(); // what waited in the relay's queue follows
    auto rest = heard(slow);
    at_slow.insert(at_slow.end(), rest.begin(), rest.end());
    CHECK(!at_slow.empty());
    CHECK(at_slow.size() + h.r.dropped() == static_cast<std::size_t>(total));
    int last = -1;
    bool ordered = true;
    for (const auto& sdu : at_slow) {
        int seq = std::stoi(sdu.substr(0, sdu.find(':')));
        ordered = ordered && seq > last;
        last = seq;
    }
    CHECK(ordered);
}

TEST_CASE("destroying the layer takes its members down")
{
    harness h;
    auto a = h.join(1), b = h.join(1), other = h.join(2);
    h.r.drop_layer(1);
    CHECK(h.r.members_of(1) == 0);
    CHECK(h.r.members_of(2) == 1);
    char c;
    CHECK(::recv(a.get(), &c, 1, MSG_DONTWAIT) == 0); // the peer end is closed
    CHECK(::recv(b.get(), &c, 1, MSG_DONTWAIT) == 0);
}

CHECK_MAIN
