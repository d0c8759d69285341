// flow_state.hpp - what this process knows about one embedded flow.
//
// The data path is a pair of shared-memory rings (runtime/flow_ring.hpp,
// flow_ring_io.hpp) beside the flow's SOCK_SEQPACKET socket, which carries
// the hang-up of a dead peer and the SDUs too large for a ring; a flow
// without rings (OUROBOROS_FLOW_RING_KIB=0, broadcast) sends every SDU as a
// socket record. What neither can do (partial reads of an SDU, queue
// lengths, Ouroboros flags and timeouts, encryption, the peer timeout)
// lives here and in the shared flow page.
#pragma once

#include <o7s/flags.hpp>
#include <o7s/qos.hpp>
#include <o7s/timeout.hpp>

#include "flow_crypto.hpp"

#include "runtime/flow_page.hpp"
#include "runtime/flow_socket.hpp"
#include "runtime/flow_table.hpp"

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace ouroboros::embedded {

// What this library shares with the daemon (cpp/src/runtime).
using runtime::end_deallocated;
using runtime::end_down;
using runtime::flow_end_counters;
using runtime::flow_page;
using runtime::flow_page_magic;
using runtime::flow_page_size;
using runtime::flow_page_version;
using runtime::flow_table;
using runtime::max_sdu;

// A timeout in nanoseconds, as flow_state and the control protocol keep
// it: -1 for none (block).
inline std::int64_t timeout_ns(timeout t) noexcept
{
    return t ? (t->count() > 0 ? t->count() : 0) : -1;
}

struct flow_state {
    int sock = -1;
    // An eventfd shared by both ends: written when an end changes its
    // state word in the page, watched (edge-triggered) by event sets; -1
    // when the daemon gave none.
    int notify = -1;
    std::uint64_t id = 0;
    int side = 0; // 0 allocated, 1 accepted: our counters in page->end[side]
    flow_page* page = nullptr;
    std::size_t mapped_bytes = 0; // the whole memfd: page and rings
    qos_spec qos;
    std::unique_ptr<flow_cipher> cipher; // set when qos.cypher_s > 0

    std::atomic<std::uint32_t> flags{static_cast<std::uint32_t>(flow_flags::defaults)};
    std::atomic<std::uint32_t> frct{0};
    std::atomic<std::int64_t> rcv_timeo_ns{-1}; // -1: no timeout
    std::atomic<std::int64_t> snd_timeo_ns{-1};
    std::atomic<std::int64_t> busy_poll_ns{0}; // reads spin this long first (flow_busy_poll.hpp)

    // Set by the peer-timeout ticker when the peer showed no sign of life
    // for qos.timeout ms; the flow is then shut down (see peer_watch.hpp).
    std::atomic<bool> peer_timed_out{false};
    std::int64_t watched_since_ns = 0; // when the ticker started on it

    // Partial-read state, guarded by `reading`: the rest of an SDU that did
    // not fit the caller's buffer, and whether a 0-byte read must end an
    // SDU that exactly filled it. has_rest mirrors !rest.empty() for event
    // sets, which must not take the lock.
    std::mutex reading;
    std::vector<std::uint8_t> rest;
    std::size_t rest_off = 0;
    bool end_of_sdu_pending = false;
    std::atomic<bool> has_rest{false};

    // The rings (none when rx is empty): tx is ours to write (ring `side`),
    // guarded by `writing`; rx the peer's (ring 1 - side), guarded by
    // `reading`. Their capacity is the copy taken when the flow was mapped.
    runtime::ring_writer tx;
    runtime::ring_reader rx;
    std::mutex writing;
    std::uint64_t head_at_check = 0; // the reader's head at our last write
    bool head_checked = false;       // (flow_ring_io.hpp: when to ask the socket)
    int my_bell = -1;   // written by the peer: data in an empty rx (eventfd)
    int peer_bell = -1; // we write it: data in the peer's empty ring
    // Armed for good: fileno() was taken or an event set watches the flow,
    // so my_bell stays readable while rx has data (flow_ring_io.hpp).
    std::atomic<bool> watched{false};
    // The peer broke a ring (flow_ring.hpp): the flow is down at this end.
    std::atomic<bool> ring_broken{false};
    int poll_fd = -1; // fileno() of a flow with rings: epoll of my_bell + sock
    std::mutex poll_fd_made;

    bool has_rings() const noexcept { return static_cast<bool>(rx); }

    flow_end_counters& mine() const noexcept { return page->end[side]; }
    flow_end_counters& peer() const noexcept { return page->end[1 - side]; }
    std::atomic<std::uint32_t>& my_state() const noexcept { return page->state[side]; }
    std::atomic<std::uint32_t>& peer_state() const noexcept { return page->state[1 - side]; }
    flow_flags current_flags() const noexcept
    {
        return static_cast<flow_flags>(flags.load(std::memory_order_relaxed));
    }
    // Either end marked the flow down (FLOWFDOWN).
    bool marked_down() const noexcept
    {
        return ((page->state[0].load(std::memory_order_relaxed) |
                 page->state[1].load(std::memory_order_relaxed)) &
                end_down) != 0;
    }
    // FRCT runs on flows that ask for in-order delivery, as in Ouroboros.
    bool has_frct() const noexcept { return qos.in_order != 0; }
    // Largest plaintext SDU on this flow.
    std::size_t max_payload() const noexcept;
};

ssize_t read_sdu(flow_state& f, void* buf, std::size_t count);
ssize_t write_sdu(flow_state& f, const void* buf, std::size_t count);

// The error of a flow whose socket hung up: our peer-timeout ticker shut it
// down (EFLOWPEER), or the peer deallocated the flow or died (EFLOWDOWN).
int hangup(const flow_state& f) noexcept;
// Sends one record on the flow's socket, waiting as the flags and the send
// timeout say. 0 or -errno.
int send_to_socket(flow_state& f, const void* buf, std::size_t count, flow_flags flags);

// Wakes the event sets watching the flow after a change of our state word.
void notify_peer(const flow_state& f) noexcept;

} // namespace ouroboros::embedded
