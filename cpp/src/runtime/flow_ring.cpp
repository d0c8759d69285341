// flow_ring.cpp - the single-producer single-consumer rings of a flow
// (contract and layout in flow_ring.hpp).
//
// Every index and header read from shared memory is loaded once into a
// local and checked before it is used: the peer may change the words at
// any moment, so a value checked and then read again would prove nothing.
#include "flow_ring.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

namespace ouroboros::runtime {
namespace {

// Shared across processes (the memfd is mapped MAP_SHARED): no
// FUTEX_PRIVATE_FLAG.
int futex(std::atomic<std::uint32_t>* word, int op, std::uint32_t val,
          const timespec* ts) noexcept
{
    return static_cast<int>(::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), op,
                                      val, ts, nullptr, 0));
}

} // namespace

// ------------------------------------------------------------------ writer

ring_status ring_writer::room(std::size_t payload) noexcept
{
    const std::uint64_t head = ctl_->head.load(std::memory_order_acquire);
    // The reader can never be ahead of what we published nor leave more
    // than the ring unread: anything else is a scribbled head.
    const std::uint64_t used = tail_ - head;
    if (head > published_ || used > bytes_)
        return ring_status::broken;
    const std::size_t need = ring_record_bytes(payload);
    const std::size_t off = static_cast<std::size_t>(tail_ % bytes_);
    const std::size_t contiguous = bytes_ - off;
    const std::size_t pad = need > contiguous ? contiguous : 0;
    return used + pad + need <= bytes_ ? ring_status::ok : ring_status::full;
}

void ring_writer::put(ring_record_kind kind, std::uint32_t length, const void* payload,
                      std::size_t n) noexcept
{
    const std::size_t need = ring_record_bytes(n);
    std::size_t off = static_cast<std::size_t>(tail_ % bytes_);
    if (need > bytes_ - off) {
        // A record is contiguous: a pad over the rest, then from 0.
        const ring_record pad{static_cast<std::uint32_t>(bytes_ - off - sizeof(ring_record)),
                              ring_pad};
        std::memcpy(data_ + off, &pad, sizeof pad);
        tail_ += bytes_ - off;
        off = 0;
    }
    const ring_record h{length, kind};
    std::memcpy(data_ + off, &h, sizeof h);
    if (n > 0)
        std::memcpy(data_ + off + sizeof h, payload, n);
    tail_ += need;
}

ring_status ring_writer::try_put(ring_record_kind kind, std::uint32_t length,
                                 const void* payload, std::size_t n) noexcept
{
    ring_status s = room(n);
    if (s == ring_status::ok)
        put(kind, length, payload, n);
    return s;
}

bool ring_writer::publish() noexcept
{
    const std::uint64_t before = published_;
    published_ = tail_;
    ctl_->tail.store(tail_, std::memory_order_release);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    // A reader that still has records before ours will see ours before it
    // sleeps (it arms, then checks the tail): only a reader that had
    // consumed everything may be asleep.
    if (ctl_->head.load(std::memory_order_relaxed) != before)
        return false;
    return ctl_->armed.load(std::memory_order_relaxed) != 0;
}

std::uint32_t ring_writer::begin_wait() noexcept
{
    ctl_->writer_waits.store(1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    return ctl_->head_seq.load(std::memory_order_acquire);
}

void ring_writer::end_wait() noexcept
{
    ctl_->writer_waits.store(0, std::memory_order_relaxed);
}

int ring_writer::wait_for_room(std::uint32_t seq, std::int64_t ns) noexcept
{
    timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
    if (futex(&ctl_->head_seq, FUTEX_WAIT, seq, &ts) == 0)
        return 0;
    switch (errno) {
    case ETIMEDOUT:
        return -ETIMEDOUT;
    case EINTR:
        return -EINTR;
    default:
        return 0; // EAGAIN: the sequence moved on already
    }
}

// ------------------------------------------------------------------ reader

ring_status ring_reader::peek(record& r, std::size_t max_socket) noexcept
{
    for (;;) {
        const std::uint64_t tail = ctl_->tail.load(std::memory_order_acquire);
        const std::uint64_t avail = tail - head_;
        if (tail < head_ || avail > bytes_)
            return ring_status::broken;
        if (avail == 0)
            return ring_status::empty;
        const std::size_t off = static_cast<std::size_t>(head_ % bytes_);
        const std::size_t contiguous = bytes_ - off;
        ring_record h;
        std::memcpy(&h, data_ + off, sizeof h); // once: the peer may change it
        switch (h.kind) {
        case ring_pad:
            // A pad covers exactly the rest of the data area.
            if (h.length != contiguous - sizeof h || avail < contiguous)
                return ring_status::broken;
            head_ += contiguous;
            continue;
        case ring_data: {
            const std::size_t need = ring_record_bytes(h.length);
            if (h.length == 0 || h.length > ring_max_record(bytes_) || need > contiguous ||
                need > avail)
                return ring_status::broken;
            r = record{ring_data, h.length, data_ + off + sizeof h};
            peeked_ = head_ + need;
            return ring_status::ok;
        }
        case ring_in_socket:
            if (h.length <= ring_max_record(bytes_) || h.length > max_socket)
                return ring_status::broken;
            r = record{ring_in_socket, h.length, nullptr};
            peeked_ = head_ + sizeof h;
            return ring_status::ok;
        default:
            return ring_status::broken;
        }
    }
}

void ring_reader::consume() noexcept
{
    head_ = peeked_;
}

void ring_reader::release() noexcept
{
    if (head_ == released_)
        return;
    released_ = head_;
    ctl_->head.store(head_, std::memory_order_release);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (ctl_->writer_waits.load(std::memory_order_relaxed) != 0) {
        ctl_->head_seq.fetch_add(1, std::memory_order_release);
        futex(&ctl_->head_seq, FUTEX_WAKE, INT_MAX, nullptr);
    }
}

void ring_reader::arm() noexcept
{
    ctl_->armed.store(1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
}

void ring_reader::disarm() noexcept
{
    ctl_->armed.store(0, std::memory_order_relaxed);
}

bool ring_reader::has_data() const noexcept
{
    return ctl_->tail.load(std::memory_order_acquire) !=
           ctl_->head.load(std::memory_order_acquire);
}

} // namespace ouroboros::runtime
