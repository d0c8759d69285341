// o7s/flow.hpp - flows: the owning ouroboros::flow and the non-owning
// ouroboros::flow_ref.
//
// A flow owns one flow descriptor and deallocates it exactly once: in
// close() (which reports errors) or in the destructor (which never throws).
// After that every operation throws error(ENOTALLOC) without touching the
// descriptor, which the implementation may already have reused.
//
// One flow may be used from several threads at once (e.g. one reading, one
// writing). close() from another thread wakes operations blocked on the
// flow; they throw error(ENOTALLOC).
//
// After fork(), a flow belongs to the process that opened it: in the child
// it reads as closed (is_open() is false, inherited() true), operations and
// close() throw error(ENOTALLOC), and the destructor leaves the flow to the
// parent, touching nothing it shares. The child may open flows of its own
// (on the embedded runtime; the real Ouroboros serves the process that
// loaded it only).
//
// Would-block is a value: read()/write() on a non-blocking flow return
// std::nullopt when nothing can be done now. A timeout throws
// error(ETIMEDOUT).
#pragma once

#include <o7s/error.hpp>
#include <o7s/flags.hpp>
#include <o7s/qos.hpp>
#include <o7s/sdu.hpp>
#include <o7s/timeout.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace ouroboros {

namespace detail {
struct flow_handle;
}

// A view of a flow owned elsewhere; what an event queue hands back. Its
// operations throw error(ENOTALLOC) once the flow is closed. A flow_ref
// from an event queue stays safe to use (it never dangles) until that
// queue's next next() or wait(); keep others no longer than their flow.
class flow_ref {
public:
    flow_ref() noexcept = default;

    // False once closed, and in a child forked since the flow was opened.
    bool is_open() const noexcept;
    explicit operator bool() const noexcept { return is_open(); }
    // True in a child forked after the flow was opened: the parent's flow.
    bool inherited() const noexcept;

    // The flow descriptor (as the C API's int fd).
    int descriptor() const;

    // Reads at most `count` bytes of the next SDU, with Ouroboros' partial
    // read semantics: a read that exactly fills the buffer is followed by a
    // read of 0 bytes that ends the SDU. nullopt: would block.
    std::optional<std::size_t> read(void* buf, std::size_t count);
    // Writes one SDU of `count` bytes. nullopt: would block.
    std::optional<std::size_t> write(const void* buf, std::size_t count);

    // Batches (cpp/src/flow_batch.cpp). read_many() reads up to n SDUs as
    // n consecutive read() calls would, but only the first read waits.
    // After it the batch takes only what is already queued, one whole SDU
    // per buffer: it stops when the first read filled its buffer (the SDU
    // may go on) and before a buffer not larger than max_sdu(). Each
    // buffer's size becomes the bytes read into it. Returns the number of
    // buffers read; nullopt: would block.
    std::optional<std::size_t> read_many(sdu_buffer* bufs, std::size_t n);
    // Reads up to `max` SDUs into the one buffer of `size` bytes at `buf`,
    // packed one after another, without a buffer per SDU: SDU i is bytes
    // [ends[i-1], ends[i]) of it (ends[-1] taken as 0). The first read
    // waits as read() does and follows read()'s rules: an SDU larger than
    // the buffer fills it (returns 1 with ends[0] == size; the rest comes
    // with the next read), and with no_partial_read it throws EMSGSIZE.
    // After it the batch takes only SDUs already queued that fit whole in
    // the room left, and stops before one that does not fit (it stays
    // queued). How tightly it packs depends on the backend: at worst it
    // takes a later SDU only while more than max_sdu() bytes are left.
    // Returns the number of SDUs read (>= 1 when max > 0; 0 for max == 0);
    // nullopt: would block. Throws EINVAL for a null buf with size > 0 or
    // null ends with max > 0.
    std::optional<std::size_t> read_many_into(void* buf, std::size_t size, std::size_t* ends,
                                              std::size_t max);
    // Writes up to n SDUs as n consecutive write() calls would. Returns how
    // many were written: fewer than n when a write after the first would
    // block, timed out or failed (the next call reports that). nullopt:
    // the first would block.
    std::optional<std::size_t> write_many(const sdu_view* sdus, std::size_t n);

    // Busy polling, like oping --busy: a read that finds nothing spins on
    // the flow for up to `budget` (at most 1 s) before it sleeps, spending
    // a CPU to save the wake-up. Zero, the default, turns it off. Throws
    // ENOTSUP where the backend cannot do it.
    void set_busy_poll(std::chrono::nanoseconds budget);
    std::chrono::nanoseconds busy_poll() const;

    void set_rcv_timeout(timeout t);
    timeout rcv_timeout() const;
    void set_snd_timeout(timeout t);
    timeout snd_timeout() const;

    // Replaces all flags, like fccntl(FLOWSFLAGS).
    void set_flags(flow_flags f);
    flow_flags flags() const;
    void set_frct_flags(frct_flags f);
    frct_flags frct() const;

    qos_spec qos() const;
    std::size_t rx_queue_len() const;
    std::size_t tx_queue_len() const;

    // A kernel file descriptor that polls readable when the flow has data
    // (for select/poll/epoll). Owned by the flow: do not close or read it.
    int pollable_fd() const;

    // Largest SDU a write() may carry on this flow: 1 MiB on the embedded
    // runtime (less where the kernel's net.core.wmem_max is smaller), less
    // 24 bytes on an encrypted flow.
    std::size_t max_sdu() const;

    friend bool operator==(const flow_ref& a, const flow_ref& b) noexcept
    {
        return a.h_ == b.h_;
    }
    friend bool operator!=(const flow_ref& a, const flow_ref& b) noexcept
    {
        return a.h_ != b.h_;
    }

protected:
    explicit flow_ref(detail::flow_handle* h) noexcept : h_(h) {}
    detail::flow_handle* h_ = nullptr;

    friend class flow_set;
    friend class event_queue;
    friend struct std::hash<flow_ref>;
};

class flow : public flow_ref {
public:
    flow() noexcept = default;
    ~flow();

    flow(flow&& other) noexcept;
    flow& operator=(flow&& other) noexcept;
    flow(const flow&) = delete;
    flow& operator=(const flow&) = delete;

    // Allocates a flow to the process serving `dst`. With a qos, the flow
    // gets that QoS (see qos()); without, the backend's default.
    static flow alloc(const std::string& dst, const std::optional<qos_spec>& qos = {},
                      timeout t = block);
    // Accepts the next flow allocated to a name this process is bound to.
    static flow accept(timeout t = block);
    // Joins the broadcast layer `dst`.
    static flow join(const std::string& dst, const std::optional<qos_spec>& qos = {},
                     timeout t = block);

    // Deallocates the flow. Throws on failure; a second call does nothing.
    void close();

    void swap(flow& other) noexcept { std::swap(h_, other.h_); }
    friend void swap(flow& a, flow& b) noexcept { a.swap(b); }

private:
    explicit flow(detail::flow_handle* h) noexcept : flow_ref(h) {}
    static flow adopt(int fd);
    friend class flow_request; // adopts the descriptors its requests get
};

} // namespace ouroboros

// Flow refs hash by identity (the flow they view), like operator==.
namespace std {
template <> struct hash<ouroboros::flow_ref> {
    size_t operator()(const ouroboros::flow_ref& f) const noexcept
    {
        return hash<const void*>()(f.h_);
    }
};
} // namespace std
