// flow_page.hpp - the page of shared memory beside every unicast flow.
//
// The daemon creates it (a memfd) with the flow and hands it to both ends.
// Each end writes only its own cache line: the SDUs it sent, the SDUs it
// consumed and a heartbeat. Queue lengths come from the difference between
// one end's "sent" and the other's "consumed", which a socket cannot tell.
#pragma once

#include <atomic>
#include <cstdint>

namespace ouroboros::embedded {

inline constexpr std::uint32_t flow_page_magic = 0x4f37464c; // "O7FL"
inline constexpr std::size_t flow_page_size = 4096;

struct alignas(64) flow_end_counters {
    std::atomic<std::uint64_t> sent{0};
    std::atomic<std::uint64_t> consumed{0};
    std::atomic<std::int64_t> heartbeat_ns{0}; // CLOCK_MONOTONIC of last sign of life
    std::atomic<std::uint32_t> state{0};       // flow_end_state bits
};

struct flow_page {
    std::uint32_t magic = flow_page_magic;
    std::uint32_t version = 1;
    std::uint64_t flow_id = 0;
    flow_end_counters end[2]; // [0] allocating side, [1] accepting side
};

static_assert(std::atomic<std::uint64_t>::is_always_lock_free,
              "shared-memory counters must be lock-free");
static_assert(sizeof(flow_page) <= flow_page_size, "flow page must fit one page");

} // namespace ouroboros::embedded
