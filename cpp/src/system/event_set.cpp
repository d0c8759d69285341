// event_set.cpp - flow sets and event queues (fset_t, fqueue_t).
#include "system_flows.hpp"

#include "errno_map.hpp"
#include "exit_gate.hpp"

#include <o7s/error.hpp>

#include <atomic>
#include <cerrno>
#include <mutex>
#include <unordered_map>

namespace ouroboros::system {
namespace {

class fset_events final : public detail::event_set {
public:
    fset_events(fset_t* set, fqueue_t* fq, const runtime::flow_table<flow_state>& flows) noexcept
        : set_(set), fq_(fq), flows_(flows)
    {
    }
    ~fset_events() override
    {
        fset_destroy(set_);
        fqueue_destroy(fq_);
    }
    fset_events(const fset_events&) = delete;
    fset_events& operator=(const fset_events&) = delete;

    int add(int fd, std::uint64_t tag) override
    {
        if (flows_.get(fd) == nullptr)
            return fd < 0 ? -EBADF : -errc::not_allocated;
        std::lock_guard<std::mutex> lock(m_);
        if (!fset_has(set_, fd)) {
            int rc = fset_add(set_, fd);
            if (rc == -EPERM)
                detail::set_error_detail("the flow is in another flow set already (or has a "
                                         "descriptor, fileno(), e.g. an asyncio flow, which "
                                         "needs the library's own set); Ouroboros puts a "
                                         "flow in one flow set at a time");
            if (rc < 0)
                return from_library(rc);
        }
        tags_[fd] = tag;
        return 0;
    }

    void remove(int fd) noexcept override
    {
        std::lock_guard<std::mutex> lock(m_);
        if (tags_.erase(fd) > 0)
            fset_del(set_, fd);
    }

    bool has(int fd) const noexcept override
    {
        std::lock_guard<std::mutex> lock(m_);
        return tags_.count(fd) > 0;
    }

    void zero() noexcept override
    {
        std::lock_guard<std::mutex> lock(m_);
        fset_zero(set_);
        tags_.clear();
    }

    // The library's wait cannot be woken from outside: cancel() and wake()
    // take effect between two slices.
    void cancel() noexcept override { cancelled_.store(true); }
    void wake() noexcept override { woken_.store(true); }

    int wait(std::vector<detail::event>& out, timeout t) override
    {
        const deadline end(t);
        for (;;) {
            if (cancelled_.load())
                return -ECANCELED;
            if (woken_.exchange(false))
                return 0;
            timespec ts = to_timespec(end.slice(io_slice));
            ssize_t rc = 0;
            int n = 0;
            {
                library_call in;
                if (!in)
                    return exiting();
                rc = fevent(set_, fq_, &ts);
                if (rc >= 0)
                    n = drain(out);
            }
            if (rc >= 0) {
                if (n > 0)
                    return n;
            } else if (rc != -ETIMEDOUT) {
                return from_library(static_cast<int>(rc));
            }
            if (end.passed())
                return -ETIMEDOUT;
            if (detail::interrupted())
                return -EINTR;
        }
    }

private:
    // Moves the queued events out with their tags, skipping flows that left
    // the set since (the library may still have queued events for them).
    int drain(std::vector<detail::event>& out)
    {
        std::lock_guard<std::mutex> lock(m_);
        int n = 0;
        for (int fd; (fd = fqueue_next(fq_)) >= 0;) {
            const int type = fqueue_type(fq_);
            auto it = tags_.find(fd);
            if (type <= 0 || it == tags_.end())
                continue;
            out.push_back({fd, static_cast<event_type>(type), it->second});
            ++n;
        }
        return n;
    }

    fset_t* set_;
    fqueue_t* fq_;
    const runtime::flow_table<flow_state>& flows_;
    mutable std::mutex m_;
    std::unordered_map<int, std::uint64_t> tags_; // members and their tags
    std::atomic<bool> cancelled_{false};
    std::atomic<bool> woken_{false};
};

} // namespace

std::unique_ptr<detail::event_set> system_flows::create_event_set(int& err)
{
    fset_t* set = fset_create();
    if (set == nullptr) {
        detail::set_error_detail("no flow set left: Ouroboros gives a process 31 of them");
        err = EMFILE;
        return nullptr;
    }
    fqueue_t* fq = fqueue_create();
    if (fq == nullptr) {
        fset_destroy(set);
        err = ENOMEM;
        return nullptr;
    }
    return std::make_unique<fset_events>(set, fq, flows_);
}

} // namespace ouroboros::system
