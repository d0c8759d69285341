// event_set.cpp - epoll-based flow sets.
#include "event_set.hpp"

#include "flow_ring_io.hpp"

#include "runtime/deadline.hpp"
#include "runtime/unique_fd.hpp"

#include <o7s/error.hpp>

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

namespace ouroboros::embedded {
namespace {

using clock = std::chrono::steady_clock;

// epoll data: a member's tag shifted left by two, the low bits telling the
// socket (0), the notify eventfd (1) and the data bell (2) apart; all ones
// is the cancel eventfd, all ones but bit 2 the wake eventfd (low bits 3:
// never a member's).
constexpr std::uint64_t cancel_data = ~std::uint64_t(0);
constexpr std::uint64_t wake_data = ~std::uint64_t(4);
constexpr std::uint64_t kind_mask = 3;
constexpr std::uint64_t notify_kind = 1;
constexpr std::uint64_t bell_kind = 2;
constexpr int batch = 64;

class epoll_set final : public detail::event_set {
public:
    explicit epoll_set(const flow_table<flow_state>& flows) : flows_(flows) {}

    int init()
    {
        ep_.reset(::epoll_create1(EPOLL_CLOEXEC));
        cancel_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
        wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
        if (!ep_ || !cancel_ || !wake_)
            return -errno;
        if (int rc = ctl(EPOLL_CTL_ADD, cancel_.get(), EPOLLIN, cancel_data); rc < 0)
            return rc;
        return ctl(EPOLL_CTL_ADD, wake_.get(), EPOLLIN, wake_data);
    }

    int add(int fd, std::uint64_t tag) override
    {
        std::lock_guard<std::mutex> lock(m_);
        if (members_.count(fd))
            return 0;
        flow_state* f = flows_.get(fd);
        if (f == nullptr)
            return -errc::not_allocated;
        // With rings, SDUs show on the data bell (level-triggered: set while
        // the ring has records, flow_ring_io.hpp) and the socket only hangs
        // up: its records are SDUs whose ring record says when to read them.
        const bool rings = f->has_rings();
        if (int rc = ctl(EPOLL_CTL_ADD, f->sock, rings ? EPOLLRDHUP : EPOLLIN | EPOLLRDHUP,
                         tag << 2);
            rc < 0)
            return rc;
        if (f->notify >= 0) {
            if (int rc = ctl(EPOLL_CTL_ADD, f->notify, EPOLLIN | EPOLLET, (tag << 2) | notify_kind);
                rc < 0) {
                ctl(EPOLL_CTL_DEL, f->sock, 0, 0);
                return rc;
            }
        }
        if (rings) {
            watch_ring(*f);
            if (int rc = ctl(EPOLL_CTL_ADD, f->my_bell, EPOLLIN, (tag << 2) | bell_kind); rc < 0) {
                ctl(EPOLL_CTL_DEL, f->sock, 0, 0);
                if (f->notify >= 0)
                    ctl(EPOLL_CTL_DEL, f->notify, 0, 0);
                return rc;
            }
        }
        member m{f, tag, f->peer_state().load(std::memory_order_acquire) & watched_bits};
        members_.emplace(fd, m);
        by_tag_.emplace(tag, fd);
        return 0;
    }

    void remove(int fd) noexcept override
    {
        std::lock_guard<std::mutex> lock(m_);
        drop(fd);
    }

    bool has(int fd) const noexcept override
    {
        std::lock_guard<std::mutex> lock(m_);
        return members_.count(fd) != 0;
    }

    void zero() noexcept override
    {
        std::lock_guard<std::mutex> lock(m_);
        while (!members_.empty())
            drop(members_.begin()->first);
    }

    void cancel() noexcept override { signal(cancel_.get()); }

    void wake() noexcept override { signal(wake_.get()); }

    // The epoll set itself: readable when a member's socket or eventfd,
    // or the cancel or wake eventfd, has something. (Rests of partially
    // read SDUs do not show: wait() with a zero timeout first.)
    int pollable_fd() const noexcept override { return ep_.get(); }

    int wait(std::vector<detail::event>& out, timeout t) override
    {
        const auto deadline = runtime::deadline_after(t);
        const std::size_t before = out.size();
        std::unordered_set<std::uint64_t> readable; // tags with FLOW_PKT so far
        bool woken = false;
        for (;;) {
            {
                std::lock_guard<std::mutex> lock(m_);
                leftovers(out, readable);
            }
            int ms = out.size() > before ? 0 : wait_ms(deadline);
            epoll_event evs[batch];
            int n = ::epoll_wait(ep_.get(), evs, batch, ms);
            if (n < 0) {
                if (errno != EINTR)
                    return -errno;
                if (detail::interrupted())
                    return -EINTR;
                continue;
            }
            {
                std::lock_guard<std::mutex> lock(m_);
                for (int i = 0; i < n; ++i) {
                    std::uint64_t data = evs[i].data.u64;
                    if (data == cancel_data)
                        return -ECANCELED;
                    if (data == wake_data) {
                        std::uint64_t count;
                        ssize_t rc = ::read(wake_.get(), &count, sizeof count);
                        static_cast<void>(rc);
                        woken = true;
                        continue;
                    }
                    auto it = by_tag_.find(data >> 2);
                    if (it == by_tag_.end())
                        continue; // removed while we waited
                    int fd = it->second;
                    member& m = members_.at(fd);
                    switch (data & kind_mask) {
                    case notify_kind:
                        state_events(fd, m, out);
                        break;
                    case bell_kind:
                        // The bell may be stale (flow_ring_io.hpp): the ring says.
                        if (ring_readable(*m.f))
                            packet(out, fd, m, readable);
                        break;
                    default:
                        socket_event(fd, m, evs[i].events, out, readable);
                    }
                }
            }
            if (out.size() > before || woken)
                return static_cast<int>(out.size() - before);
            if (clock::now() >= deadline)
                return -ETIMEDOUT;
        }
    }

private:
    static constexpr std::uint32_t watched_bits = end_down;

    struct member {
        flow_state* f;
        std::uint64_t tag;
        std::uint32_t peer_seen; // the peer's watched state bits last reported
        bool hung_up = false;    // hang-up reported; socket out of epoll
    };

    int ctl(int op, int fd, std::uint32_t events, std::uint64_t data) noexcept
    {
        epoll_event ev{};
        ev.events = events;
        ev.data.u64 = data;
        return ::epoll_ctl(ep_.get(), op, fd, &ev) == 0 ? 0 : -errno;
    }

    static int wait_ms(clock::time_point deadline)
    {
        if (deadline == clock::time_point::max())
            return -1;
        auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - clock::now()).count();
        return static_cast<int>(std::clamp<long long>(left, 0, 1 << 30));
    }

    void drop(int fd) noexcept
    {
        auto it = members_.find(fd);
        if (it == members_.end())
            return;
        const member& m = it->second;
        if (!m.hung_up)
            ctl(EPOLL_CTL_DEL, m.f->sock, 0, 0);
        if (m.f->notify >= 0)
            ctl(EPOLL_CTL_DEL, m.f->notify, 0, 0);
        if (m.f->has_rings())
            ctl(EPOLL_CTL_DEL, m.f->my_bell, 0, 0);
        by_tag_.erase(m.tag);
        members_.erase(it);
    }

    static void push(std::vector<detail::event>& out, int fd, const member& m, event_type t)
    {
        out.push_back(detail::event{fd, t, m.tag});
    }

    void packet(std::vector<detail::event>& out, int fd, const member& m,
                std::unordered_set<std::uint64_t>& readable)
    {
        if (readable.insert(m.tag).second)
            push(out, fd, m, event_type::pkt);
    }

    // SDUs left over from partial reads: the socket does not show them.
    void leftovers(std::vector<detail::event>& out, std::unordered_set<std::uint64_t>& readable)
    {
        for (const auto& [fd, m] : members_)
            if (m.f->has_rest.load(std::memory_order_relaxed))
                packet(out, fd, m, readable);
    }

    // The peer changed its state word (and wrote the notify eventfd).
    void state_events(int fd, member& m, std::vector<detail::event>& out)
    {
        std::uint32_t now = m.f->peer_state().load(std::memory_order_acquire) & watched_bits;
        std::uint32_t changed = now ^ m.peer_seen;
        m.peer_seen = now;
        if (changed & end_down)
            push(out, fd, m, (now & end_down) ? event_type::down : event_type::up);
    }

    void socket_event(int fd, member& m, std::uint32_t events, std::vector<detail::event>& out,
                      std::unordered_set<std::uint64_t>& readable)
    {
        if (!(events & (EPOLLHUP | EPOLLRDHUP | EPOLLERR))) {
            if (events & EPOLLIN)
                packet(out, fd, m, readable);
            return;
        }
        // A hang-up: what was queued before it is read first.
        int queued = 0;
        if ((m.f->has_rings() && m.f->rx.has_data()) ||
            (::ioctl(m.f->sock, FIONREAD, &queued) == 0 && queued > 0)) {
            packet(out, fd, m, readable);
            return;
        }
        event_type why = event_type::down; // the peer's process ended
        if (m.f->peer_timed_out.load(std::memory_order_acquire))
            why = event_type::peer;
        else if (m.f->peer_state().load(std::memory_order_acquire) & end_deallocated)
            why = event_type::dealloc;
        push(out, fd, m, why);
        m.hung_up = true; // level-triggered hang-ups would fire on every wait
        ctl(EPOLL_CTL_DEL, m.f->sock, 0, 0);
    }

    static void signal(int efd) noexcept
    {
        std::uint64_t one = 1;
        ssize_t rc = ::write(efd, &one, sizeof one);
        static_cast<void>(rc);
    }

    const flow_table<flow_state>& flows_;
    runtime::unique_fd ep_;
    runtime::unique_fd cancel_; // stays readable: the set is going away
    runtime::unique_fd wake_;   // read by the waiter it wakes
    mutable std::mutex m_;
    std::unordered_map<int, member> members_;        // by flow descriptor
    std::unordered_map<std::uint64_t, int> by_tag_;  // tag -> descriptor
};

} // namespace

std::unique_ptr<detail::event_set> make_event_set(const flow_table<flow_state>& flows, int& err)
{
    auto set = std::make_unique<epoll_set>(flows);
    err = set->init();
    if (err < 0)
        return nullptr;
    return set;
}

} // namespace ouroboros::embedded
