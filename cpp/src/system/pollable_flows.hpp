// pollable_flows.hpp - kernel descriptors for system-backend flows, so
// that select/poll/epoll and event loops can wait on them.
//
// libouroboros-dev's flows are not kernel descriptors: SDUs arrive in
// shared-memory rings and the library signals them through its event
// queues (fqueue). A flow that is asked for a descriptor (fileno()) gets
// an eventfd and joins one flow set of our own; one thread waits on that
// set and writes the eventfd of every flow with an event (an SDU, the flow
// going down or up, the peer deallocating or timing out). A read that
// finds nothing clears the eventfd and reads once more, so a wake-up is
// never lost and a spurious one costs one read.
//
// Costs and limits: one eventfd per such flow, one thread per process
// (while any such flow exists; it waits in 100 ms slices), one of the 31
// flow sets the library gives a process, and a thread wake-up between an
// SDU's arrival and the descriptor turning readable. Ouroboros puts a flow
// in one flow set at a time, so a flow with a descriptor cannot also be in
// a FlowSet of the caller (EPERM either way round). Writes have no
// descriptor: a full transmit ring does not show.
#pragma once

#include "ouroboros_c.hpp"

#include <atomic>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace ouroboros::system {

class pollable_flows {
public:
    pollable_flows() = default;
    ~pollable_flows();
    pollable_flows(const pollable_flows&) = delete;
    pollable_flows& operator=(const pollable_flows&) = delete;

    // The eventfd of flow fd, made on the first call. -errno on failure
    // (-EPERM: the flow is in a flow set of the caller) with the detail set.
    int descriptor_of(int fd);
    // Before fd is deallocated: out of our set, its eventfd closed.
    void forget(int fd) noexcept;
    // After a read of fd found nothing: clears its eventfd. True when fd
    // has one, and the caller then reads once more.
    bool clear(int fd) noexcept;
    // Stops the thread (at exit: before the library's own exit handler).
    void stop() noexcept;

private:
    void run();

    std::mutex m_;
    std::unordered_map<int, int> eventfds_; // flow descriptor -> its eventfd
    fset_t* set_ = nullptr;
    fqueue_t* fq_ = nullptr;
    std::thread watcher_;
    bool running_ = false;
    std::atomic<bool> stopping_{false};
};

} // namespace ouroboros::system
