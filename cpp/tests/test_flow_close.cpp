// test_flow_close.cpp - close() racing readers and writers of the same
// flows (the close / flow_use protocol), for ThreadSanitizer above all
// (tests/test_sanitizers.py runs it in a TSan build; test_cpp.py plainly).
#include "check.hpp"
#include "flow_pairs.hpp"

#include <o7s/flow.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

using namespace ouroboros;
using namespace std::chrono_literals;

TEST_CASE("readers, writers and a closer race on both ends")
{
    for (int round = 0; round < 20; ++round) {
        auto [a, b] = pair_of_flows("cpp-race");
        a.set_rcv_timeout(2s);
        b.set_rcv_timeout(2s);
        a.set_snd_timeout(2s);
        b.set_snd_timeout(2s);
        std::atomic<bool> go{false};
        std::atomic<int> ended{0}, unexpected{0};
        auto use = [&](flow& f, bool writer) {
            while (!go)
                std::this_thread::yield();
            char buf[64] = "payload";
            for (int i = 0; i < 200; ++i) {
                try {
                    if (writer)
                        f.write(buf, sizeof buf);
                    else
                        f.read(buf, sizeof buf);
                } catch (const error& e) {
                    // What a closed flow, a gone peer or a timeout says.
                    if (e.num() != errc::not_allocated && e.num() != errc::flow_down &&
                        e.num() != errc::flow_peer &&
                        e.num() != ETIMEDOUT)
                        ++unexpected;
                    break;
                }
            }
            ++ended;
        };
        std::vector<std::thread> users;
        users.emplace_back(use, std::ref(a), true);
        users.emplace_back(use, std::ref(a), false);
        users.emplace_back(use, std::ref(b), true);
        users.emplace_back(use, std::ref(b), false);
        std::thread closer([&] {
            while (!go)
                std::this_thread::yield();
            std::this_thread::sleep_for(std::chrono::microseconds(100 * round));
            (round % 2 ? a : b).close();
            (round % 2 ? b : a).close();
        });
        go = true;
        closer.join();
        for (auto& t : users)
            t.join();
        CHECK(ended == 4);
        CHECK(unexpected == 0);
        CHECK(!a.is_open() && !b.is_open());
    }
}

CHECK_MAIN
