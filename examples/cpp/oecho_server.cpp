// oecho_server - the oecho server with the C++ API (3-clause BSD).
// Serves the name "oecho" and echoes one SDU per flow, like oecho.py -l.
#include <o7s/o7s.hpp>

#include <unistd.h>

#include <cstdio>

int main()
{
    try {
        ouroboros::irm::bind_process(::getpid(), "oecho");
        ouroboros::irm::reg_name("oecho", ouroboros::irm::list_ipcps().at(0).pid);
        std::puts("Starting the server.");
        std::fflush(stdout);
        for (;;) {
            ouroboros::flow f = ouroboros::flow::accept();
            char buf[4096];
            if (auto n = f.read(buf, sizeof buf)) {
                std::printf("Message from client is %.*s\n", static_cast<int>(*n), buf);
                std::fflush(stdout);
                f.write(buf, *n);
            }
        } // each flow is deallocated as it goes out of scope
    } catch (const ouroboros::error& e) {
        std::fprintf(stderr, "oecho_server: %s\n", e.what());
        return 1;
    }
}
