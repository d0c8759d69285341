// parked_flows.hpp - deallocations that must not make close() wait.
//
// The library's flow_dealloc() can block for long:
//
// - until the peer has read everything we sent, without a timeout and
//   holding the library's lock (so every other flow call of the process
//   would stall behind it). When the peer never reads (it died, or
//   deallocated first) that is forever. A flow closed with data still
//   queued is therefore parked: a background thread deallocates it once
//   the peer has drained the queue. Flows still parked at exit are torn
//   down by the library's exit handler, which does not wait.
// - on a flow with FRCT linger (reliable flows: loss=0), until the peer
//   acknowledged what it got or the flow went down: with a peer that is
//   gone, up to the peer timeout and beyond (78-96 s seen across two
//   nodes with 0.23.0). Such a deallocation runs in a thread of its own;
//   close() waits for it until its deadline, then leaves it running. At
//   exit the linger of those still running is turned off (FRCTSFLAGS) so
//   that they end at once.
//
// Nothing stops the library from queueing a keepalive between the check
// and the deallocation; it needs a peer that stopped reading at that very
// moment to matter. (Marking the flow down first would close that window,
// but tells the peer FLOW_DOWN before it has read the last SDUs.)
#pragma once

#include <chrono>
#include <condition_variable>
#include <list>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace ouroboros::system {

class parked_flows {
public:
    using clock = std::chrono::steady_clock;

    parked_flows() = default;
    ~parked_flows();
    parked_flows(const parked_flows&) = delete;
    parked_flows& operator=(const parked_flows&) = delete;

    // Takes over fd, whose queue has not drained: deallocates it later.
    void park(int fd);

    // Deallocates fd (its queue drained), waiting until `until` at most
    // when the library lingers. Returns the library's result, or 0 when
    // the deallocation goes on in the background.
    int dealloc(int fd, clock::time_point until);

private:
    // A flow_dealloc() of a lingering flow, in a thread of its own.
    struct lingering {
        int fd = -1;
        bool done = false;
        int rc = 0;
        std::thread thread;
    };

    void run();
    // Starts the deallocation of fd in a thread (m_ held).
    std::shared_ptr<lingering> start_lingering(int fd);
    // Joins the lingering deallocations that ended (m_ held).
    void reap();

    std::mutex m_;
    std::condition_variable wake_;  // the worker: new parked flows, or stop
    std::condition_variable ended_; // a lingering deallocation ended
    std::vector<int> fds_;
    std::list<std::shared_ptr<lingering>> lingering_;
    bool stop_ = false;
    std::thread worker_;
};

} // namespace ouroboros::system
