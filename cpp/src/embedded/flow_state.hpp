// flow_state.hpp - what this process knows about one embedded flow.
//
// The data path is the flow's SOCK_SEQPACKET socket: one record per SDU, so
// boundaries, order and reliability come from the kernel and the socket is
// pollable. What a socket cannot do (partial reads of an SDU, queue
// lengths, Ouroboros flags and timeouts) lives here.
#pragma once

#include <o7s/flags.hpp>
#include <o7s/qos.hpp>

#include "flow_page.hpp"

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

namespace ouroboros::embedded {

// The largest SDU we offer; the kernel's socket buffer limit may lower it.
inline constexpr std::size_t max_sdu_wanted = 1u << 20;

struct flow_state {
    int sock = -1;
    std::uint64_t id = 0;
    int side = 0; // 0 allocated, 1 accepted: our counters in page->end[side]
    flow_page* page = nullptr;
    qos_spec qos;

    std::atomic<std::uint32_t> flags{static_cast<std::uint32_t>(flow_flags::defaults)};
    std::atomic<std::uint32_t> frct{0};
    std::atomic<std::int64_t> rcv_timeo_ns{-1}; // -1: no timeout
    std::atomic<std::int64_t> snd_timeo_ns{-1};
    std::atomic<std::int64_t> busy_poll_ns{0}; // reads spin this long first (flow_busy_poll.hpp)

    // Partial-read state, guarded by `reading`: the rest of an SDU that did
    // not fit the caller's buffer, and whether a 0-byte read must end an
    // SDU that exactly filled it.
    std::mutex reading;
    std::vector<std::uint8_t> rest;
    std::size_t rest_off = 0;
    bool end_of_sdu_pending = false;

    flow_end_counters& mine() const noexcept { return page->end[side]; }
    flow_end_counters& peer() const noexcept { return page->end[1 - side]; }
    flow_flags current_flags() const noexcept
    {
        return static_cast<flow_flags>(flags.load(std::memory_order_relaxed));
    }
};

// The largest SDU that fits a socket record on this machine (the kernel
// refuses records larger than the socket's send buffer).
std::size_t max_sdu() noexcept;

// Configures a flow socket received from the daemon (send buffer size).
void tune_socket(int sock) noexcept;

ssize_t read_sdu(flow_state& f, void* buf, std::size_t count);
ssize_t write_sdu(flow_state& f, const void* buf, std::size_t count);

} // namespace ouroboros::embedded
