// py_flow.hpp - what a Python Flow object holds. Shared by the files that
// add methods to _core.Flow.
#pragma once

#include <o7s/flow.hpp>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <vector>

namespace ouroboros::python {

// A Flow object holds one C++ flow at a time; alloc/accept/join after
// dealloc() replace it. A blocking operation pins the flow it started on
// (flow_op, taken with the GIL held) and runs without the GIL, so a flow
// replaced meanwhile is kept (closed) until no operation is in flight; the
// next replacement after that frees it.
struct py_flow {
    flow current;
    std::vector<flow> retired;
    std::atomic<int> in_flight{0};
    // Tells the flows this object held apart (never reused): the Python
    // FlowSet maps events back to Flow objects by it.
    std::uint64_t serial = 0;

    void replace(flow&& f)
    {
        retire(std::move(current));
        current = std::move(f);
        serial = next_serial();
    }

    // Takes the flow out for deallocation: the object reads as unallocated
    // at once. Hand the flow to retire() when done.
    flow take() { return std::move(current); }

    // Called with the GIL held, like every flow_op: none can start now.
    void retire(flow&& old)
    {
        if (in_flight.load(std::memory_order_relaxed) == 0) {
            retired.clear();
            return; // `old` goes with the temporary
        }
        if (old != flow_ref())
            retired.push_back(std::move(old));
    }

    flow& open_flow()
    {
        if (current.inherited())
            current.descriptor(); // throws the C++ API's error, which says why
        if (!current.is_open())
            throw error(errc::not_allocated, "flow is not allocated");
        return current;
    }

    void check_unallocated()
    {
        if (current.is_open())
            throw error(EISCONN, "flow is already allocated; deallocate it first");
    }

private:
    static std::uint64_t next_serial()
    {
        static std::atomic<std::uint64_t> last{0};
        return ++last;
    }
};

// One blocking operation on the flow a Flow object holds now (see
// py_flow). Construct it with the GIL held; use the flow_ref without it.
class flow_op {
public:
    explicit flow_op(py_flow& owner) : owner_(owner), ref_(owner.open_flow())
    {
        owner_.in_flight.fetch_add(1, std::memory_order_relaxed);
    }
    // With the GIL held again (the GIL orders the count, not the atomic).
    ~flow_op() { owner_.in_flight.fetch_sub(1, std::memory_order_relaxed); }
    flow_op(const flow_op&) = delete;
    flow_op& operator=(const flow_op&) = delete;

    flow_ref& operator*() noexcept { return ref_; }
    flow_ref* operator->() noexcept { return &ref_; }

private:
    py_flow& owner_;
    flow_ref ref_;
};

} // namespace ouroboros::python
