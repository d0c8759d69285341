// new_flow.hpp - the kernel objects of a flow: a socketpair for the SDUs
// and a shared page for the per-end counters (runtime/flow_page.hpp).
#pragma once

#include "runtime/flow_page.hpp"
#include "runtime/unique_fd.hpp"

#include <cstdint>
#include <string>

namespace ouroboros::daemon {

struct new_flow {
    runtime::unique_fd end[2]; // [0] for the allocator (or member), [1] for the acceptor (or relay)
    runtime::unique_fd page;
    runtime::unique_fd notify; // unicast: an eventfd both ends share (embedded/flow_state.hpp)
};

// Returns 0 or -errno with the reason in `why`.
int make_flow(std::uint64_t id, new_flow& f, std::string& why);

// Maps a flow's page into this process (munmap flow_page_size bytes when
// done). 0 or -errno with the reason in `why`.
int map_flow_page(int page_fd, runtime::flow_page*& out, std::string& why);

} // namespace ouroboros::daemon
