// pollable_flows.cpp - an eventfd per flow, fed from one flow set.
#include "pollable_flows.hpp"

#include "errno_map.hpp"
#include "exit_gate.hpp"
#include "system_flows.hpp"

#include <o7s/detail/services.hpp>

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace ouroboros::system {
namespace {

std::atomic<pollable_flows*> at_exit{nullptr};

void stop_at_exit()
{
    if (pollable_flows* p = at_exit.load())
        p->stop();
}

void signal(int efd) noexcept
{
    std::uint64_t one = 1;
    ssize_t rc = ::write(efd, &one, sizeof one);
    static_cast<void>(rc); // a full counter is readable all the same
}

} // namespace

pollable_flows::~pollable_flows()
{
    stop();
    pollable_flows* self = this;
    at_exit.compare_exchange_strong(self, nullptr);
    for (const auto& [fd, efd] : eventfds_)
        ::close(efd);
    if (set_ != nullptr)
        fset_destroy(set_);
    if (fq_ != nullptr)
        fqueue_destroy(fq_);
}

int pollable_flows::descriptor_of(int fd)
{
    std::lock_guard<std::mutex> lock(m_);
    if (auto it = eventfds_.find(fd); it != eventfds_.end())
        return it->second;
    if (stopping_.load())
        return -ECANCELED;
    if (set_ == nullptr) {
        set_ = fset_create();
        if (set_ == nullptr) {
            detail::set_error_detail("no flow set left for flow descriptors: Ouroboros gives a "
                                     "process 31 of them");
            return -EMFILE;
        }
    }
    if (fq_ == nullptr && (fq_ = fqueue_create()) == nullptr)
        return -ENOMEM;
    // Readable at first: SDUs may have arrived before anyone watched.
    int efd = ::eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
    if (efd < 0)
        return -errno;
    if (int rc = fset_add(set_, fd); rc < 0) {
        ::close(efd);
        if (rc == -EPERM)
            detail::set_error_detail("the flow is in a FlowSet: Ouroboros puts a flow in one "
                                     "flow set at a time, and a flow's descriptor needs the "
                                     "library's own; remove it from the FlowSet first");
        return from_library(rc);
    }
    eventfds_.emplace(fd, efd);
    if (!running_) {
        if (watcher_.joinable())
            watcher_.join(); // it saw the set empty and is leaving
        static const bool registered = std::atexit(stop_at_exit) == 0;
        static_cast<void>(registered);
        at_exit.store(this);
        running_ = true;
        watcher_ = std::thread([this] { run(); });
    }
    return efd;
}

void pollable_flows::forget(int fd) noexcept
{
    std::lock_guard<std::mutex> lock(m_);
    auto it = eventfds_.find(fd);
    if (it == eventfds_.end())
        return;
    fset_del(set_, fd);
    ::close(it->second);
    eventfds_.erase(it);
}

bool pollable_flows::clear(int fd) noexcept
{
    std::lock_guard<std::mutex> lock(m_);
    auto it = eventfds_.find(fd);
    if (it == eventfds_.end())
        return false;
    std::uint64_t count;
    ssize_t rc = ::read(it->second, &count, sizeof count);
    static_cast<void>(rc); // EAGAIN: it was clear already
    return true;
}

void pollable_flows::stop() noexcept
{
    stopping_.store(true);
    std::thread t;
    {
        std::lock_guard<std::mutex> lock(m_);
        t = std::move(watcher_);
    }
    if (t.joinable())
        t.join();
}

void pollable_flows::run()
{
    for (;;) {
        {
            std::lock_guard<std::mutex> lock(m_);
            if (stopping_.load() || eventfds_.empty()) {
                running_ = false;
                return;
            }
        }
        // Slices, so that stop() (at exit) does not wait long; the library's
        // wait cannot be woken from outside.
        timespec ts = to_timespec(io_slice);
        library_call in;
        if (!in) { // the process exits
            std::lock_guard<std::mutex> lock(m_);
            running_ = false;
            return;
        }
        ssize_t rc = fevent(set_, fq_, &ts);
        if (rc < 0)
            continue; // -ETIMEDOUT; anything else shows on the flows' reads
        std::lock_guard<std::mutex> lock(m_);
        for (int fd; (fd = fqueue_next(fq_)) >= 0;)
            if (auto it = eventfds_.find(fd); it != eventfds_.end())
                signal(it->second);
    }
}

} // namespace ouroboros::system
