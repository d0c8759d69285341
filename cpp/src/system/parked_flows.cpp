// parked_flows.cpp - deallocates parked flows once their queues drain, and
// lingering flows in threads of their own.
#include "parked_flows.hpp"

#include "exit_gate.hpp"
#include "ouroboros_c.hpp"

#include <algorithm>
#include <cstdint>

namespace ouroboros::system {
namespace {

constexpr auto poll_interval = std::chrono::milliseconds(250);

// True when nothing we sent on fd is left for the peer to read.
bool drained(int fd)
{
    std::size_t queued = 0;
    return fccntl(fd, FLOWGTXQLEN, &queued) < 0 || queued == 0;
}

// True when flow_dealloc() on fd may wait for acknowledgements (FRCT with
// linger, which the library sets on reliable flows).
bool lingers(int fd)
{
    std::uint16_t flags = 0;
    return fccntl(fd, FRCTGFLAGS, &flags) == 0 && (flags & FRCTFLINGER) != 0;
}

} // namespace

parked_flows::~parked_flows()
{
    std::list<std::shared_ptr<lingering>> left;
    {
        std::lock_guard<std::mutex> lock(m_);
        stop_ = true;
        left.swap(lingering_);
        // Without linger their flow_dealloc() stops waiting for acks.
        for (const auto& l : left)
            if (!l->done)
                fccntl(l->fd, FRCTSFLAGS, 0u);
    }
    wake_.notify_all();
    if (worker_.joinable())
        worker_.join();
    for (const auto& l : left)
        l->thread.join();
}

void parked_flows::park(int fd)
{
    std::lock_guard<std::mutex> lock(m_);
    fds_.push_back(fd);
    if (!worker_.joinable())
        worker_ = std::thread([this] { run(); });
    wake_.notify_all();
}

int parked_flows::dealloc(int fd, clock::time_point until)
{
    if (!lingers(fd))
        return ::flow_dealloc(fd);
    std::unique_lock<std::mutex> lock(m_);
    reap();
    std::shared_ptr<lingering> l = start_lingering(fd);
    if (!ended_.wait_until(lock, until, [&] { return l->done; }))
        return 0; // it goes on in the background
    l->thread.join();
    lingering_.remove(l);
    return l->rc;
}

std::shared_ptr<parked_flows::lingering> parked_flows::start_lingering(int fd)
{
    auto l = std::make_shared<lingering>();
    l->fd = fd;
    lingering_.push_back(l);
    l->thread = std::thread([this, l] {
        library_call in;
        int rc = in ? ::flow_dealloc(l->fd) : exiting();
        std::lock_guard<std::mutex> lock(m_);
        l->rc = rc;
        l->done = true;
        ended_.notify_all();
    });
    return l;
}

void parked_flows::reap()
{
    for (auto it = lingering_.begin(); it != lingering_.end();) {
        if ((*it)->done) {
            (*it)->thread.join();
            it = lingering_.erase(it);
        } else {
            ++it;
        }
    }
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
            reap();
            // With the queue empty, flow_dealloc() does not wait for the peer
            // to read; a lingering one may wait for acks, in its own thread.
            for (int fd : ready) {
                if (lingers(fd)) {
                    start_lingering(fd);
                } else {
                    lock.unlock();
                    ::flow_dealloc(fd);
                    lock.lock();
                }
            }
        }
        if (fds_.empty())
            wake_.wait(lock, [this] { return stop_ || !fds_.empty(); });
        else
            wake_.wait_for(lock, poll_interval, [this] { return stop_; });
    }
}

} // namespace ouroboros::system
