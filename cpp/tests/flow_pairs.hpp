// flow_pairs.hpp - connected flows within one test process.
#pragma once

#include <o7s/flow.hpp>
#include <o7s/irm.hpp>

#include <unistd.h>

#include <chrono>
#include <future>
#include <set>
#include <string>
#include <tuple>
#include <utility>

// Serves `name` from this process (once): creates, registers and binds it.
inline void serve(const std::string& name)
{
    static std::set<std::string> served;
    if (!served.insert(name).second)
        return;
    using namespace ouroboros;
    irm::create_name({name, load_balance::round_robin});
    irm::reg_name(name, irm::list_ipcps().at(0).pid);
    irm::bind_process(::getpid(), name);
}

// A connected pair of flows within this process: {allocated, accepted}.
inline std::pair<ouroboros::flow, ouroboros::flow> pair_of_flows(const std::string& name)
{
    using namespace ouroboros;
    using namespace std::chrono_literals;
    serve(name);
    auto accepted = std::async(std::launch::async, [] { return flow::accept(5s); });
    flow client = flow::alloc(name, std::nullopt, 5s);
    return {std::move(client), accepted.get()};
}

// Two connected ends of a flow, with read timeouts so that a broken test
// fails instead of hanging.
struct connected {
    ouroboros::flow allocated;
    ouroboros::flow accepted;

    explicit connected(const std::string& name)
    {
        using namespace std::chrono_literals;
        std::tie(allocated, accepted) = pair_of_flows(name);
        accepted.set_rcv_timeout(5s);
        allocated.set_rcv_timeout(5s);
    }
};
