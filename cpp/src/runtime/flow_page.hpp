// flow_page.hpp - the page of shared memory beside every unicast flow.
//
// The daemon creates it (a memfd) with the flow and hands it to both ends.
// Each end writes only its own cache line of counters: the SDUs it sent,
// the SDUs it consumed and a heartbeat. Queue lengths come from the
// difference between one end's "sent" and the other's "consumed", which a
// socket cannot tell. The state words live in a line of their own that is
// written rarely, so the I/O path can check them without a cache miss.
#pragma once

#include "flow_ring.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace ouroboros::runtime {

inline constexpr std::uint32_t flow_page_magic = 0x4f37464c; // "O7FL"
inline constexpr std::uint32_t flow_page_version = 3;
inline constexpr std::size_t flow_page_size = 4096;

struct alignas(64) flow_end_counters {
    std::atomic<std::uint64_t> sent{0};
    std::atomic<std::uint64_t> consumed{0};
    // CLOCK_MONOTONIC (ns) of the end's last sign of life, written by its
    // process' peer-timeout ticker (see peer_watch.hpp); 0: none yet.
    std::atomic<std::int64_t> heartbeat_ns{0};
};

// Bits of flow_page::state[end]; each end writes only its own word.
enum flow_end_state : std::uint32_t {
    end_down = 1u << 0,        // the end marked the flow down (FLOWFDOWN)
    end_deallocated = 1u << 1, // the end deallocated the flow (a clean close)
};

struct flow_page {
    std::uint32_t magic = flow_page_magic;
    std::uint32_t version = flow_page_version;
    std::uint64_t flow_id = 0;
    flow_end_counters end[2]; // [0] allocating side, [1] accepting side
    alignas(64) std::atomic<std::uint32_t> state[2] = {};
    // Per direction, the bytes of ring data after this page (flow_ring.hpp);
    // 0: no rings. Set by the daemon before the flow is granted, then never
    // changed; each end reads it once, when it maps the flow.
    std::uint64_t ring_bytes = 0;
    ring_control ring[2]; // [d]: the SDUs end d writes
};

static_assert(std::atomic<std::uint64_t>::is_always_lock_free,
              "shared-memory counters must be lock-free");
static_assert(std::atomic<std::uint32_t>::is_always_lock_free,
              "shared-memory state words must be lock-free");
static_assert(sizeof(flow_page) <= flow_page_size, "flow page must fit one page");

// The size of a flow's memfd with rings of `ring_bytes` per direction.
constexpr std::size_t flow_memory_bytes(std::size_t ring_bytes) noexcept
{
    return flow_page_size + 2 * ring_bytes;
}

} // namespace ouroboros::runtime
