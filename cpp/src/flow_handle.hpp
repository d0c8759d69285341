// flow_handle.hpp - what an ouroboros::flow points to, and the guard that
// keeps deallocation away from operations in progress.
//
// state holds the number of operations in progress and a "closing" bit.
// close() sets the bit, wakes blocked operations through the backend and
// waits until the count drops to zero before it deallocates, so no thread
// ever passes a deallocated (and possibly reused) descriptor to the backend.
//
// The handle's memory is reference counted: the flow holds one reference,
// flow sets and event queues hold more, so a flow_ref they hand out never
// points to freed memory (only to a closed flow).
//
// A handle belongs to the process that opened the flow: in a child forked
// since, the flow reads as closed and its operations throw, and close()
// leaves it to the parent (inherited.hpp).
#pragma once

#include "inherited.hpp"

#include <o7s/detail/backend.hpp>
#include <o7s/error.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace ouroboros::detail {

struct set_core;

struct flow_handle {
    flow_handle(flow_backend& b, int d) noexcept : be(b), fd(d) {}

    static constexpr std::uint32_t closing = 1u << 31;

    flow_backend& be;
    const int fd;
    const pid_t owner = this_process();
    std::atomic<std::uint32_t> state{0};
    std::atomic<std::uint32_t> refs{1};
    std::mutex m;
    std::condition_variable drained;
    // The flow sets this flow is in; guarded by membership_mutex().
    std::vector<set_core*> sets;

    bool is_open() const noexcept
    {
        return (state.load(std::memory_order_acquire) & closing) == 0 && !inherited();
    }
    // True in a child forked after the flow was opened.
    bool inherited() const noexcept { return owner != this_process(); }
};

inline void retain(flow_handle* h) noexcept
{
    h->refs.fetch_add(1, std::memory_order_relaxed);
}

inline void release(flow_handle* h) noexcept
{
    if (h != nullptr && h->refs.fetch_sub(1, std::memory_order_acq_rel) == 1)
        delete h;
}

// Guards flow <-> flow set membership (flow_handle::sets and the sets'
// member tables), process-wide: membership changes are rare.
std::mutex& membership_mutex() noexcept;

// Takes a closing flow out of every set it is in, before its descriptor is
// deallocated (event.cpp).
void leave_all_sets(flow_handle* h) noexcept;

// Throws error(EINVAL or ENAMETOOLONG) naming `what` unless `dst`, the
// name a flow is allocated to or the layer it joins, is one the real
// Ouroboros can hold (runtime/names.hpp). Checked here, for both backends:
// Ouroboros 0.23's IRMd crashes on a 5000-byte layer name in flow_join().
void check_flow_name(const std::string& dst, const std::string& what);

// Number of flows open in this process, on any backend.
extern std::atomic<int> open_flows;

// Holds a flow open for the duration of one operation.
class flow_use {
public:
    explicit flow_use(flow_handle* h) : h_(h)
    {
        if (h_ == nullptr)
            throw error(errc::not_allocated, "flow is not allocated");
        if (h_->inherited())
            throw_inherited(errc::not_allocated, "this flow", h_->owner);
        auto s = h_->state.fetch_add(1, std::memory_order_acquire);
        if (s & flow_handle::closing) {
            release();
            throw error(errc::not_allocated, "flow was deallocated");
        }
    }
    ~flow_use() { release(); }
    flow_use(const flow_use&) = delete;
    flow_use& operator=(const flow_use&) = delete;

    flow_backend& be() const noexcept { return h_->be; }
    int fd() const noexcept { return h_->fd; }
    // True when close() started while this operation was running.
    bool closed_meanwhile() const noexcept { return !h_->is_open(); }

private:
    void release() noexcept
    {
        if (h_ == nullptr)
            return;
        auto s = h_->state.load(std::memory_order_relaxed);
        // Fast path: nobody is closing, so nobody waits for us.
        while (!(s & flow_handle::closing)) {
            if (h_->state.compare_exchange_weak(s, s - 1, std::memory_order_release,
                                                std::memory_order_relaxed)) {
                h_ = nullptr;
                return;
            }
        }
        // A closer waits on `drained`; decrement under its mutex so the
        // closer cannot return (and free the handle) while we still touch it.
        std::lock_guard<std::mutex> lock(h_->m);
        if (h_->state.fetch_sub(1, std::memory_order_acq_rel) == (flow_handle::closing | 1u))
            h_->drained.notify_all();
        h_ = nullptr;
    }

    flow_handle* h_;
};

} // namespace ouroboros::detail
