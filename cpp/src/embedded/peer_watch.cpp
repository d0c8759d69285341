// peer_watch.cpp - the per-process peer-timeout ticker.
#include "peer_watch.hpp"

#include "flow_state.hpp"

#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace ouroboros::embedded {
namespace {

using namespace std::chrono_literals;

std::int64_t now_ns() noexcept
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// True when the peer is gone on its own (deallocated, exited): a silent
// heartbeat then is not a timeout.
bool peer_left(const flow_state& f) noexcept
{
    if (f.peer_state().load(std::memory_order_acquire) & end_deallocated)
        return true;
    pollfd p{f.sock, POLLRDHUP, 0};
    return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP)) != 0;
}

class peer_watch {
public:
    static peer_watch& instance()
    {
        // Never destroyed: the detached ticker may outlive static destructors.
        static peer_watch* w = new peer_watch();
        return *w;
    }

    void add(flow_state& f)
    {
        std::lock_guard<std::mutex> lock(m_);
        f.watched_since_ns = now_ns();
        f.mine().heartbeat_ns.store(f.watched_since_ns, std::memory_order_relaxed);
        flows_.push_back(&f);
        if (!running_) {
            std::thread(&peer_watch::run, this).detach();
            running_ = true;
        } else if (period_of(f) < sleeping_for_) {
            // Only then: waking the ticker for every flow costs a context
            // switch per allocation.
            wake_.notify_one();
        }
    }

    void remove(flow_state& f) noexcept
    {
        // Holding m_ means the ticker is not in a pass over the flows. It
        // needs no wake-up: one flow fewer never needs an earlier tick.
        std::lock_guard<std::mutex> lock(m_);
        flows_.erase(std::remove(flows_.begin(), flows_.end(), &f), flows_.end());
    }

private:
    peer_watch()
    {
        ::pthread_atfork([] { instance().m_.lock(); }, [] { instance().m_.unlock(); },
                         [] {
                             // The child has no ticker thread; the forking
                             // thread holds m_ since prepare.
                             instance().running_ = false;
                             instance().m_.unlock();
                         });
    }

    static std::chrono::nanoseconds period_of(const flow_state& f)
    {
        auto quarter = std::chrono::milliseconds(f.qos.timeout / 4);
        return std::clamp<std::chrono::nanoseconds>(quarter, 5ms, 1s);
    }

    std::chrono::nanoseconds period() const
    {
        std::chrono::nanoseconds shortest = 1s;
        for (const flow_state* f : flows_)
            shortest = std::min(shortest, period_of(*f));
        return shortest;
    }

    void run()
    {
        std::unique_lock<std::mutex> lock(m_);
        for (;;) {
            // Without flows, linger a while: a program that allocates and
            // deallocates flows in a loop would otherwise start a thread per
            // flow (with the wake-ups, a fifth of an allocation's cost; see
            // docs/performance.md).
            sleeping_for_ = 1s;
            if (flows_.empty() &&
                !wake_.wait_for(lock, sleeping_for_, [this] { return !flows_.empty(); }))
                break;
            tick(now_ns());
            sleeping_for_ = period();
            wake_.wait_for(lock, sleeping_for_);
        }
        running_ = false;
    }

    void tick(std::int64_t now)
    {
        for (flow_state* f : flows_) {
            if (f->peer_timed_out.load(std::memory_order_relaxed))
                continue;
            f->mine().heartbeat_ns.store(now, std::memory_order_relaxed);
            std::int64_t seen = std::max(f->peer().heartbeat_ns.load(std::memory_order_relaxed),
                                         f->watched_since_ns);
            std::int64_t limit = static_cast<std::int64_t>(f->qos.timeout) * 1000000;
            if (now - seen <= limit || peer_left(*f))
                continue;
            f->peer_timed_out.store(true, std::memory_order_release);
            ::shutdown(f->sock, SHUT_RDWR);
        }
    }

    std::mutex m_;
    std::condition_variable wake_;
    std::vector<flow_state*> flows_;
    bool running_ = false;
    std::chrono::nanoseconds sleeping_for_{0}; // the ticker's current wait
};

} // namespace

void watch_peer(flow_state& f)
{
    peer_watch::instance().add(f);
}

void unwatch_peer(flow_state& f) noexcept
{
    peer_watch::instance().remove(f);
}

} // namespace ouroboros::embedded
