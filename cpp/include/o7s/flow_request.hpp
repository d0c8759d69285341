// o7s/flow_request.hpp - flow allocation, accept and join that never block,
// for event loops.
//
//     auto req = ouroboros::flow_request::alloc("oecho");
//     // ... when req.fd() polls readable:
//     if (auto f = req.poll())
//         use(std::move(*f));
//
// A request is move-only and owns what it started: destroying it, or
// cancel(), gives the request up. An allocation given up before poll()
// returned its flow leaves no flow at either end (the daemon hands the
// accepting side its end only once the allocator confirmed that it has
// its own). An accept given up after the daemon answered deallocates the
// flow it got, so the allocator sees the flow deallocated.
//
// Backends without such requests (the system backend: libouroboros-dev's
// calls block) make the factories throw error(ENOTSUP); run the blocking
// flow::alloc() etc. on a thread there.
//
// After fork(), a request belongs to the parent, as flows do: in the child
// fd() and poll() throw error(ENOTALLOC), and cancel() and the destructor
// leave it to the parent.
#pragma once

#include <o7s/flow.hpp>

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>

namespace ouroboros {

namespace detail {
class pending_flow;
}

class flow_request {
public:
    flow_request() noexcept;
    ~flow_request();
    flow_request(flow_request&&) noexcept;
    flow_request& operator=(flow_request&&) noexcept;
    flow_request(const flow_request&) = delete;
    flow_request& operator=(const flow_request&) = delete;

    // As flow::alloc, accept and join, but they return at once; `t` is
    // the request's own timeout (poll() then throws error(ETIMEDOUT)).
    static flow_request alloc(const std::string& dst, const std::optional<qos_spec>& qos = {},
                              timeout t = block);
    static flow_request accept(timeout t = block);
    static flow_request join(const std::string& dst, const std::optional<qos_spec>& qos = {},
                             timeout t = block);

    // True while the request waits for an answer.
    bool pending() const noexcept { return p_ != nullptr; }
    // A kernel descriptor that polls readable when poll() can make
    // progress; it may change after each poll(). Throws error(EALREADY)
    // once the request is finished.
    int fd() const;
    // The flow once it is allocated, nullopt while it is not yet. Throws
    // what flow::alloc() etc. would throw. After it returned a flow or
    // threw, the request is finished.
    std::optional<flow> poll();
    // Gives the request up (see above); a finished one is left alone.
    void cancel() noexcept;

private:
    explicit flow_request(std::unique_ptr<detail::pending_flow> p, std::string what) noexcept;
    void check_owner() const;
    std::unique_ptr<detail::pending_flow> p_;
    std::string what_; // for error messages: "flow allocation to 'oecho'"
    pid_t owner_ = 0;  // the process that made the request
};

} // namespace ouroboros
