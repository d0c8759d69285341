// o7s/event.hpp - waiting on many flows at once: flow_set and event_queue
// (Ouroboros' fset_t, fqueue_t and fevent(), see fqueue(3)).
//
//     ouroboros::flow_set set;
//     set.add(a);
//     set.add(b);
//     ouroboros::event_queue q;
//     set.wait(q, std::chrono::seconds(1));    // throws ETIMEDOUT on timeout
//     while (auto ev = q.next())
//         if (ev->type == ouroboros::event_type::pkt)
//             ev->flow.read(buf, sizeof buf);
//
// A flow_set owns its kernel resources (move-only; the destructor or
// close() frees them). It holds its flows by reference, not ownership: a
// flow that is closed leaves every set it is in, so a set never reaches a
// deallocated descriptor. Sets are thread-safe: one thread may wait while
// others add, remove or close flows, or close the set (the waiter then
// throws error(EBADF)).
//
// The runtime reports FLOW_PKT, FLOW_DOWN, FLOW_UP, FLOW_DEALLOC and
// FLOW_PEER (see fqueue(3) and the backend's notes); FLOW_ALLOC ("a
// pending flow is now allocated") comes from post().
//
// An event_queue holds the events of the last wait, handed out by next().
// A queue is not thread-safe; use one per waiting thread. The flow_ref of
// an event stays safe to use until the queue's next next() or wait();
// events of flows closed since the wait are skipped.
//
// After fork(), sets and queues belong to the parent, as flows do (see
// o7s/flow.hpp): in the child a set reads as closed (is_open() is false,
// has() false, size() 0), its other operations throw error(EBADF), and
// close() and the destructor leave its kernel resources to the parent; a
// queue's next() throws error(EBADF) while it holds the parent's events.
#pragma once

#include <o7s/flags.hpp>
#include <o7s/flow.hpp>
#include <o7s/timeout.hpp>

#include <sys/types.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

namespace ouroboros {

namespace detail {
struct set_core;
struct flow_handle;
// An event held by a queue: the flow's handle (with a reference) and type.
struct event_queue_entry {
    flow_handle* h;
    event_type type;
};
}

struct flow_event {
    flow_ref flow;
    event_type type;
};

class event_queue {
public:
    event_queue() noexcept = default;
    ~event_queue();
    event_queue(event_queue&& other) noexcept;
    event_queue& operator=(event_queue&& other) noexcept;
    event_queue(const event_queue&) = delete;
    event_queue& operator=(const event_queue&) = delete;
    void swap(event_queue& other) noexcept;
    friend void swap(event_queue& a, event_queue& b) noexcept { a.swap(b); }

    // The next event, or nullopt when none is left (fqueue_next()).
    std::optional<flow_event> next();
    // Events not handed out yet (some may be skipped as closed).
    std::size_t size() const noexcept { return entries_.size() - next_; }
    bool empty() const noexcept { return size() == 0; }

private:
    friend class flow_set;
    using entry = detail::event_queue_entry;
    void reset() noexcept;

    std::vector<entry> entries_; // each holds a reference to its flow's handle
    std::size_t next_ = 0;
    detail::flow_handle* current_ = nullptr; // the last one handed out
    pid_t owner_ = 0; // the process whose wait filled it
};

class flow_set {
public:
    // A new, empty set. Throws when the backend cannot make one.
    flow_set();
    ~flow_set();
    flow_set(flow_set&& other) noexcept;
    flow_set& operator=(flow_set&& other) noexcept;
    flow_set(const flow_set&) = delete;
    flow_set& operator=(const flow_set&) = delete;
    // Not atomic as a whole: do not swap a set that another thread swaps.
    void swap(flow_set& other) noexcept;
    friend void swap(flow_set& a, flow_set& b) noexcept { a.swap(b); }

    // Adds an open flow (adding it again does nothing). Throws
    // error(ENOTALLOC) for a closed flow.
    void add(const flow_ref& f);
    // Adds f and queues `first` for it in one step (see post()), so that a
    // waiter gets that event before any of the flow's own (its SDUs).
    void add(const flow_ref& f, event_type first);
    // Removes f; nothing happens if it is not in the set.
    void remove(const flow_ref& f) noexcept;
    bool has(const flow_ref& f) const noexcept;
    // Removes every flow.
    void zero() noexcept;
    std::size_t size() const noexcept;

    // Waits until flows in the set have events and puts them in q
    // (fevent()). Returns at once while q still holds events not handed
    // out. Throws error(ETIMEDOUT) when t expires first.
    void wait(event_queue& q, timeout t = block);

    // Queues an event for f (which must be in the set) for the next wait
    // and wakes a waiter. For layers that learn of events themselves: the
    // Python FlowSet posts FLOW_ALLOC when a Flow object waiting in a set
    // gets allocated.
    void post(const flow_ref& f, event_type type);

    // A kernel descriptor that polls readable when wait() has something to
    // return (for event loops: then wait() with a zero timeout; the rest
    // of a partially read SDU does not show). Owned by the set. Throws
    // error(ENOTSUP) where the backend has none (the system backend).
    int pollable_fd() const;

    // Frees the set (fset_destroy()); a second call does nothing. Other
    // operations on a closed set throw error(EBADF).
    void close() noexcept;
    bool is_open() const noexcept;

private:
    std::shared_ptr<detail::set_core> core() const noexcept;
    void add_and_post(const flow_ref& f, const event_type* first);
    std::shared_ptr<detail::set_core> core_;
};

} // namespace ouroboros
