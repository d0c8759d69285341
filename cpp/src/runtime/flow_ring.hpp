// flow_ring.hpp - the shared-memory rings of a unicast flow (issue 15).
//
// Layout and contract only; the algorithms live in flow_ring.cpp.
//
// The flow's memfd holds the flow page (flow_page.hpp, 4096 bytes) and,
// after it, one ring per direction: ring d carries the SDUs end d writes and
// end 1 - d reads, at offset flow_page_size + d * ring_bytes. ring_bytes is
// chosen by the daemon when it creates the flow and written in
// flow_page::ring_bytes; 0 means the flow has no rings (every SDU goes
// through the socket, as before), which is also what relay flows get.
//
// Single producer, single consumer, no lock of any kind in shared memory:
// a process killed at any point can never leave anything held.
//
// - The writer copies a record at position `tail` (mod ring_bytes) and only
//   then publishes the new tail (release). A writer killed mid-copy loses
//   that SDU and nothing else: the reader never sees an unpublished record.
// - The reader copies out records between `head` and the tail it loaded
//   (acquire) and then publishes the new head (release).
// - Each record starts on an 8-byte boundary with a ring_record header and
//   is contiguous: where one would not fit before the end of the data area,
//   the writer puts a `pad` record over the rest and starts again at 0.
// - An SDU larger than ring_max_record(ring_bytes) goes through the flow's
//   socket; the ring gets an `in_socket` record (its length, no payload) at
//   its place in the order, so the reader knows to take the next socket
//   record then, and SDUs stay in order.
// - Wake-ups only when someone sleeps: a reader about to sleep (or whose
//   readiness an event loop watches: fileno(), event sets) sets `armed`,
//   then re-checks the ring; a writer that published a record into an empty
//   ring checks `armed` (after a full fence) and only then writes the
//   reader's data bell (an eventfd). A writer waiting for room sets
//   `writer_waits` likewise; the reader wakes it (futex on `head_seq`)
//   after freeing room. So a flood with a busy reader makes no system call
//   per SDU.
// - Nothing read from shared memory is trusted: the reader checks that
//   tail - head <= ring_bytes, that each header's kind is known and that its
//   length fits what was published; the writer checks head likewise. Any
//   violation marks the flow down at this end (EFLOWDOWN, with a detail
//   saying the peer corrupted the ring): a crashed or hostile peer can
//   break its own flow, never crash or hang the other end. ring_bytes is
//   read once, when the flow is mapped, and checked against the memfd's
//   size; the copy in the page is never read again.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace ouroboros::runtime {

// Per direction, when nothing else says otherwise: room for several 64 KiB
// SDUs in flight. Only pages that SDUs have passed through take memory.
inline constexpr std::size_t ring_default_bytes = 512u << 10;
// The daemon's limits for OUROBOROS_FLOW_RING_KIB (0 turns rings off).
inline constexpr std::size_t ring_min_bytes = 16u << 10;
inline constexpr std::size_t ring_max_bytes = 64u << 20;

inline constexpr std::size_t ring_align = 8;

enum ring_record_kind : std::uint32_t {
    ring_data = 1,      // `length` bytes of SDU (as it would have been sent) follow
    ring_in_socket = 2, // the SDU is the next record on the flow's socket
    ring_pad = 3,       // skip to the start of the data area
};

struct ring_record {
    std::uint32_t length; // payload bytes (ring_data), the SDU's size (ring_in_socket)
    std::uint32_t kind;   // ring_record_kind
};
static_assert(sizeof(ring_record) == ring_align, "a record header is one alignment unit");

// The control words of one ring, in the flow page (flow_page::ring, flow_page.hpp).
struct ring_control {
    // Written by the writer only.
    alignas(64) std::atomic<std::uint64_t> tail{0}; // bytes ever published
    std::atomic<std::uint32_t> writer_waits{0};     // 1: wake me when room is freed
    // Written by the reader only.
    alignas(64) std::atomic<std::uint64_t> head{0}; // bytes ever consumed
    std::atomic<std::uint32_t> head_seq{0};         // bumped with head; the futex word
    std::atomic<std::uint32_t> armed{0};            // 1: ring my data bell on data
};

// The largest SDU payload that travels in the ring (larger ones go through
// the socket): half the ring, so a record and a pad always fit eventually.
constexpr std::size_t ring_max_record(std::size_t ring_bytes) noexcept
{
    return ring_bytes / 2 - sizeof(ring_record);
}

// Bytes a record of `payload` bytes takes in the ring, header included.
constexpr std::size_t ring_record_bytes(std::size_t payload) noexcept
{
    return sizeof(ring_record) + ((payload + ring_align - 1) & ~(ring_align - 1));
}

// Whether `ring_bytes` (read from a flow page) is a size an end accepts:
// 0, or within the daemon's limits and a whole number of records.
constexpr bool ring_bytes_valid(std::uint64_t ring_bytes) noexcept
{
    return ring_bytes == 0 || (ring_bytes >= ring_min_bytes && ring_bytes <= ring_max_bytes &&
                               ring_bytes % ring_align == 0);
}

enum class ring_status {
    ok,     // done / a record is there
    empty,  // reader: nothing published
    full,   // writer: no room for the record now
    broken, // the peer corrupted the ring (an index or a header is impossible)
};

// The writing end of one ring, process-local: where the ring is mapped, its
// capacity (the copy taken when the flow was mapped) and our own tail. One
// writer at a time (the caller serialises), never shared across processes.
class ring_writer {
public:
    ring_writer() = default;
    ring_writer(ring_control* ctl, std::uint8_t* data, std::size_t bytes) noexcept
        : ctl_(ctl), data_(data), bytes_(bytes)
    {
    }
    explicit operator bool() const noexcept { return ctl_ != nullptr; }
    std::size_t capacity() const noexcept { return bytes_; }
    std::size_t max_record() const noexcept { return ring_max_record(bytes_); }

    // Room for one more record of `payload` bytes (and the pad before it
    // if it must wrap)? ok, full, or broken when the reader's head is
    // impossible.
    ring_status room(std::size_t payload) noexcept;
    // Writes a record where room() found space, unpublished: the reader
    // sees nothing until publish(). `payload` may be nullptr for
    // ring_in_socket (length is then the SDU's size, no bytes follow).
    void put(ring_record_kind kind, std::uint32_t length, const void* payload,
             std::size_t n) noexcept;
    // room() then put(): ok, full or broken.
    ring_status try_put(ring_record_kind kind, std::uint32_t length, const void* payload,
                        std::size_t n) noexcept;
    // Makes what put() wrote visible. True when the reader must be woken
    // (its data bell written): the ring was empty before these records and
    // the reader is armed. The full fence between the tail's store and the
    // loads of `head` and `armed` pairs with the one in ring_reader::arm()
    // and release(): either the reader sees the new tail, or we see it
    // armed with nothing left to read.
    bool publish() noexcept;
    bool unpublished() const noexcept { return tail_ != published_; }
    // The reader's head as it stands (unchecked: for a sign of life only).
    std::uint64_t reader_head() const noexcept
    {
        return ctl_->head.load(std::memory_order_relaxed);
    }

    // Waiting for room: begin_wait() sets writer_waits and returns the
    // futex value to wait on; the caller checks room() again and only then
    // waits (wait_for_room()). end_wait() clears writer_waits.
    std::uint32_t begin_wait() noexcept;
    void end_wait() noexcept;
    // futex wait on head_seq while it is `seq`, at most `ns`; returns at
    // once if the reader freed room since begin_wait(). 0, -ETIMEDOUT,
    // -EINTR (a signal) or 0 on a spurious wake.
    int wait_for_room(std::uint32_t seq, std::int64_t ns) noexcept;

private:
    ring_control* ctl_ = nullptr;
    std::uint8_t* data_ = nullptr;
    std::size_t bytes_ = 0;
    std::uint64_t tail_ = 0;      // where the next record goes
    std::uint64_t published_ = 0; // the tail the reader may see
};

// The reading end of one ring, process-local like ring_writer. The caller
// serialises readers (flow_state::reading).
class ring_reader {
public:
    struct record {
        ring_record_kind kind;
        std::uint32_t length;       // payload bytes, or the SDU's size (in_socket)
        const std::uint8_t* payload; // length bytes (ring_data), or nullptr
    };

    ring_reader() = default;
    ring_reader(ring_control* ctl, std::uint8_t* data, std::size_t bytes) noexcept
        : ctl_(ctl), data_(data), bytes_(bytes)
    {
    }
    explicit operator bool() const noexcept { return ctl_ != nullptr; }
    std::size_t capacity() const noexcept { return bytes_; }

    // The next record (pads skipped): ok with `r` filled in, empty, or
    // broken. The header is read once into `r` and checked: its kind is
    // known and it lies within what the writer published. The payload
    // stays in shared memory: copy it out before consume(). `max_socket`
    // bounds an in_socket record's length (the largest socket SDU).
    ring_status peek(record& r, std::size_t max_socket) noexcept;
    // Steps past the record peek() returned (locally: see release()).
    void consume() noexcept;
    // Publishes the consumed records to the writer and wakes it if it
    // waits for room. The full fence after the head's store pairs with
    // the writer's in publish() / begin_wait().
    void release() noexcept;
    bool unreleased() const noexcept { return head_ != released_; }

    // Announces that this reader sleeps or is watched (its data bell will
    // be written on the next record into an empty ring), with a full fence
    // so that a check for data after it cannot miss a record whose writer
    // saw us unarmed.
    void arm() noexcept;
    void disarm() noexcept;
    // Whether a record (or a pad) is published beyond our head; no
    // validation (for readiness, which a read then confirms). Safe from
    // any thread: it reads only shared words.
    bool has_data() const noexcept;

private:
    ring_control* ctl_ = nullptr;
    const std::uint8_t* data_ = nullptr;
    std::size_t bytes_ = 0;
    std::uint64_t head_ = 0;     // past what we consumed
    std::uint64_t released_ = 0; // the head the writer sees
    std::uint64_t peeked_ = 0;   // head_ after the record peek() returned
};

} // namespace ouroboros::runtime
