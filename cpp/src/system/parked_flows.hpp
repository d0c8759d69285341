// parked_flows.hpp - flows whose deallocation must wait for the peer.
//
// flow_dealloc() blocks, without a timeout and while holding the library's
// lock (so every other flow call of the process would stall behind it),
// until the peer has read everything we sent. When the peer never reads
// (it died, or deallocated first) that is forever. A flow closed with data
// still queued is therefore parked here: a background thread deallocates
// it once the peer has drained the queue. Flows still parked at exit are
// torn down by the library's exit handler, which does not wait.
//
// Nothing stops the library from queueing a keepalive between the check
// and the deallocation; it needs a peer that stopped reading at that very
// moment to matter. (Marking the flow down first would close that window,
// but tells the peer FLOW_DOWN before it has read the last SDUs.)
#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace ouroboros::system {

class parked_flows {
public:
    parked_flows() = default;
    ~parked_flows();
    parked_flows(const parked_flows&) = delete;
    parked_flows& operator=(const parked_flows&) = delete;

    // Takes over fd.
    void park(int fd);

private:
    void run();

    std::mutex m_;
    std::condition_variable wake_;
    std::vector<int> fds_;
    bool stop_ = false;
    std::thread worker_;
};

} // namespace ouroboros::system
