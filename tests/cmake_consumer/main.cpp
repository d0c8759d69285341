// A consumer of the C++ API: serves a name, accepts a flow from a second
// thread, echoes one SDU and prints "ok". Exit status 0 on success.
#include <o7s/o7s.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <future>

int main()
{
    using namespace std::chrono_literals;
    try {
        ouroboros::irm::bind_process(::getpid(), "consumer");
        ouroboros::irm::reg_name("consumer", ouroboros::irm::list_ipcps().at(0).pid);

        auto server = std::async(std::launch::async, [] {
            ouroboros::flow f = ouroboros::flow::accept(10s);
            char buf[64];
            auto n = f.read(buf, sizeof buf);
            f.write(buf, n.value());
        });
        ouroboros::flow f = ouroboros::flow::alloc("consumer", std::nullopt, 10s);
        f.write("ping", 4);
        char buf[64];
        f.set_rcv_timeout(10s);
        auto n = f.read(buf, sizeof buf);
        server.get();
        if (n != std::optional<std::size_t>(4) || std::memcmp(buf, "ping", 4) != 0) {
            std::puts("wrong echo");
            return 1;
        }
        std::printf("ok %s\n", ouroboros::backend_name().c_str());
        return 0;
    } catch (const ouroboros::error& e) {
        std::printf("error %d: %s\n", e.num(), e.what());
        return 1;
    }
}
