// flow_census.cpp - counting the granted flows that are still open.
#include "flow_census.hpp"

#include "new_flow.hpp"

#include <signal.h>
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <string>

namespace ouroboros::daemon {
namespace {

bool alive(pid_t pid)
{
    return ::kill(pid, 0) == 0 || errno == EPERM;
}

} // namespace

flow_census::~flow_census()
{
    for (const entry& e : flows_)
        ::munmap(e.page, runtime::flow_page_size);
}

void flow_census::add(int page_fd, pid_t allocator, pid_t acceptor)
{
    runtime::flow_page* page = nullptr;
    std::string why;
    if (map_flow_page(page_fd, page, why) < 0)
        return; // the count misses this flow; the flow itself is fine
    flows_.push_back(entry{page, {allocator, acceptor}});
    // Forget closed flows now and then, so that a daemon granting flow after
    // flow keeps only about as many pages mapped as there are open flows.
    if (flows_.size() >= 2 * after_prune_ + 64)
        prune();
}

std::size_t flow_census::open()
{
    prune();
    return flows_.size();
}

void flow_census::prune()
{
    auto closed = [](const entry& e) {
        for (int end = 0; end < 2; ++end)
            if ((e.page->state[end].load(std::memory_order_acquire) & runtime::end_deallocated) ||
                !alive(e.pid[end]))
                return true;
        return false;
    };
    auto gone = std::stable_partition(flows_.begin(), flows_.end(),
                                      [&](const entry& e) { return !closed(e); });
    for (auto it = gone; it != flows_.end(); ++it)
        ::munmap(it->page, runtime::flow_page_size);
    flows_.erase(gone, flows_.end());
    after_prune_ = flows_.size();
}

} // namespace ouroboros::daemon
