// new_flow.hpp - the kernel objects of a flow: a socketpair, and a memfd
// holding the shared page of per-end counters (runtime/flow_page.hpp) and,
// for unicast flows, the two rings of SDUs (runtime/flow_ring.hpp) with a
// data bell per end.
#pragma once

#include "runtime/flow_page.hpp"
#include "runtime/unique_fd.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

namespace ouroboros::daemon {

struct new_flow {
    runtime::unique_fd end[2]; // [0] for the allocator (or member), [1] for the acceptor (or relay)
    runtime::unique_fd page;
    runtime::unique_fd notify; // unicast: an eventfd both ends share (embedded/flow_state.hpp)
    // With rings: bell[e] is end e's data bell (an eventfd), written by the
    // other end when it puts a record into the empty ring end e reads.
    runtime::unique_fd bell[2];
};

// Makes a flow whose memfd has rings of `ring_bytes` per direction (0:
// none; relay flows get none). Returns 0 or -errno with the reason in `why`.
int make_flow(std::uint64_t id, std::size_t ring_bytes, new_flow& f, std::string& why);

// The ring size of unicast flows, from OUROBOROS_FLOW_RING_KIB (unset:
// runtime::ring_default_bytes; 0: no rings; outside ring_min_bytes ..
// ring_max_bytes: clamped, with a log line saying so). Read once, when the
// daemon starts.
std::size_t flow_ring_bytes_from_env();

// Maps a flow's page into this process (munmap flow_page_size bytes when
// done). 0 or -errno with the reason in `why`.
int map_flow_page(int page_fd, runtime::flow_page*& out, std::string& why);

} // namespace ouroboros::daemon
