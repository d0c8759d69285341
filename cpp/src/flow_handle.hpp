// flow_handle.hpp - what an ouroboros::flow points to, and the guard that
// keeps deallocation away from operations in progress.
//
// state holds the number of operations in progress and a "closing" bit.
// close() sets the bit, wakes blocked operations through the backend and
// waits until the count drops to zero before it deallocates, so no thread
// ever passes a deallocated (and possibly reused) descriptor to the backend.
#pragma once

#include <o7s/detail/backend.hpp>
#include <o7s/error.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace ouroboros::detail {

struct flow_handle {
    flow_handle(backend& b, int d) noexcept : be(b), fd(d) {}

    static constexpr std::uint32_t closing = 1u << 31;

    backend& be;
    const int fd;
    std::atomic<std::uint32_t> state{0};
    std::mutex m;
    std::condition_variable drained;

    bool is_open() const noexcept
    {
        return (state.load(std::memory_order_acquire) & closing) == 0;
    }
};

// Number of flows open in this process, on any backend.
extern std::atomic<int> open_flows;

// Holds a flow open for the duration of one operation.
class flow_use {
public:
    explicit flow_use(flow_handle* h) : h_(h)
    {
        if (h_ == nullptr)
            throw error(errc::not_allocated, "flow is not allocated");
        auto s = h_->state.fetch_add(1, std::memory_order_acquire);
        if (s & flow_handle::closing) {
            release();
            throw error(errc::not_allocated, "flow was deallocated");
        }
    }
    ~flow_use() { release(); }
    flow_use(const flow_use&) = delete;
    flow_use& operator=(const flow_use&) = delete;

    backend& be() const noexcept { return h_->be; }
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
