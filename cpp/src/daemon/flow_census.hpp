// flow_census.hpp - how many of the unicast flows this daemon granted are
// still open, for the status report (proto::daemon_status).
//
// SDUs never pass through the daemon, so it learns of a flow's end from
// the flow's shared page (an end that deallocates sets its state word) and
// from the processes (one that exits takes its end along). The census keeps
// a mapping of each granted flow's page and the two pids, and forgets a
// flow once either end is gone. A daemon started afresh knows only the
// flows it granted itself.
#pragma once

#include "runtime/flow_page.hpp"

#include <sys/types.h>

#include <cstddef>
#include <vector>

namespace ouroboros::daemon {

class flow_census {
public:
    flow_census() = default;
    ~flow_census();
    flow_census(const flow_census&) = delete;
    flow_census& operator=(const flow_census&) = delete;

    // A flow between `allocator` and `acceptor` whose page is `page_fd`.
    void add(int page_fd, pid_t allocator, pid_t acceptor);
    // The flows with both ends still open (forgets the others).
    std::size_t open();

private:
    struct entry {
        runtime::flow_page* page;
        pid_t pid[2]; // [0] the allocator, [1] the acceptor
    };
    void prune();

    std::vector<entry> flows_;
    std::size_t after_prune_ = 0; // flows_.size() after the last prune
};

} // namespace ouroboros::daemon
