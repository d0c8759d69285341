// parked_flows.cpp - deallocates parked flows once their queues drain.
#include "parked_flows.hpp"

#include "exit_gate.hpp"
#include "ouroboros_c.hpp"

#include <algorithm>
#include <chrono>

namespace ouroboros::system {
namespace {

constexpr auto poll_interval = std::chrono::milliseconds(250);

// True when nothing we sent on fd is left for the peer to read.
bool drained(int fd)
{
    std::size_t queued = 0;
    return fccntl(fd, FLOWGTXQLEN, &queued) < 0 || queued == 0;
}

} // namespace

parked_flows::~parked_flows()
{
    {
        std::lock_guard<std::mutex> lock(m_);
        stop_ = true;
    }
    wake_.notify_all();
    if (worker_.joinable())
        worker_.join();
}

void parked_flows::park(int fd)
{
    std::lock_guard<std::mutex> lock(m_);
    fds_.push_back(fd);
    if (!worker_.joinable())
        worker_ = std::thread([this] { run(); });
    wake_.notify_all();
}

void parked_flows::run()
{
    std::unique_lock<std::mutex> lock(m_);
    while (!stop_) {
        {
            library_call in;
            if (!in)
                return; // the process exits: the library goes with it
            std::vector<int> ready;
            auto still = std::remove_if(fds_.begin(), fds_.end(), [&](int fd) {
                if (!drained(fd))
                    return false;
                ready.push_back(fd);
                return true;
            });
            fds_.erase(still, fds_.end());
            lock.unlock();
            // With the queue empty, flow_dealloc() does not wait for the peer.
            for (int fd : ready)
                ::flow_dealloc(fd);
            lock.lock();
        }
        if (fds_.empty())
            wake_.wait(lock, [this] { return stop_ || !fds_.empty(); });
        else
            wake_.wait_for(lock, poll_interval, [this] { return stop_; });
    }
}

} // namespace ouroboros::system
