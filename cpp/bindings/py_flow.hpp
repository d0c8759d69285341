// py_flow.hpp - what a Python Flow object holds. Shared by the files that
// add methods to _core.Flow.
#pragma once

#include <o7s/flow.hpp>

#include <cerrno>
#include <vector>

namespace ouroboros::python {

// Re-allocating a Flow object replaces its C++ flow. The old one is kept
// (closed) until the object dies, because another thread may still be
// leaving an operation on it.
struct py_flow {
    flow current;
    std::vector<flow> retired;

    void replace(flow&& f)
    {
        retired.push_back(std::move(current));
        current = std::move(f);
    }

    flow& open_flow()
    {
        if (!current.is_open())
            throw error(errc::not_allocated, "flow is not allocated");
        return current;
    }

    void check_unallocated()
    {
        if (current.is_open())
            throw error(EISCONN, "flow is already allocated; deallocate it first");
    }
};

} // namespace ouroboros::python
