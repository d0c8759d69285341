// new_flow.hpp - the kernel objects of a flow: a socketpair for the SDUs
// and a shared page for the per-end counters (embedded/flow_page.hpp).
#pragma once

#include "../util/unique_fd.hpp"

#include <cstdint>
#include <string>

namespace ouroboros::daemon {

struct new_flow {
    util::unique_fd end[2]; // [0] for the allocator (or member), [1] for the acceptor (or relay)
    util::unique_fd page;
};

// Returns 0 or -errno with the reason in `why`.
int make_flow(std::uint64_t id, new_flow& f, std::string& why);

} // namespace ouroboros::daemon
