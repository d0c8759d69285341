// event.cpp - flow sets and event queues over the backend's event sets.
//
// Membership is kept on both sides under one process-wide mutex: a set maps
// tags to the flows in it (holding a reference to each flow's handle), and
// each handle lists its sets, so that closing a flow takes it out of its
// sets before its descriptor is deallocated. Lock order: the membership
// mutex, then the backend set's own lock.
//
// A set or queue filled in a process that has forked since is the
// parent's (inherited.hpp): in the child it reads as closed, its
// operations throw, and closing it touches neither the backend set (its
// epoll instance and eventfd are the parent's too) nor the flows.
#include <o7s/event.hpp>

#include <o7s/backend.hpp>

#include "flow_handle.hpp"
#include "runtime/deadline.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <unordered_map>
#include <utility>

namespace ouroboros {
namespace detail {

struct set_core {
    set_core(flow_backend& b, std::unique_ptr<event_set> i) : be(b), impl(std::move(i)) {}
    ~set_core()
    {
        for (const auto& p : posted)
            release(p.first);
    }
    set_core(const set_core&) = delete;
    set_core& operator=(const set_core&) = delete;

    flow_backend& be;
    std::unique_ptr<event_set> impl;
    const pid_t owner = this_process();
    std::unordered_map<std::uint64_t, flow_handle*> by_tag; // holds references
    std::unordered_map<flow_handle*, std::uint64_t> tags;
    std::uint64_t next_tag = 1;
    // Events from post(), each holding a reference, for the next wait.
    std::vector<std::pair<flow_handle*, event_type>> posted;

    // Moves the posted events of flows still in the set to q.
    void take_posted(std::vector<event_queue_entry>& q) noexcept
    {
        for (const auto& [h, type] : posted) {
            if (tags.count(h) && h->is_open())
                q.push_back({h, type});
            else
                release(h);
        }
        posted.clear();
    }

    // Drops member h: out of the backend set, out of both tables. Call
    // with the membership mutex held.
    void drop(flow_handle* h, bool unlink_from_handle) noexcept
    {
        auto it = tags.find(h);
        if (it == tags.end())
            return;
        impl->remove(h->fd);
        by_tag.erase(it->second);
        tags.erase(it);
        if (unlink_from_handle)
            h->sets.erase(std::remove(h->sets.begin(), h->sets.end(), this), h->sets.end());
        release(h);
    }

    void drop_all() noexcept
    {
        while (!tags.empty())
            drop(tags.begin()->first, true);
    }

    bool inherited() const noexcept { return owner != this_process(); }

    // In a forked child: lets the parent's set go. Only this process'
    // memory is freed; the backend set is left as it is (leaked here).
    void abandon() noexcept
    {
        static_cast<void>(impl.release());
        for (const auto& member : tags)
            release(member.first);
        tags.clear();
        by_tag.clear();
    }
};

std::mutex& membership_mutex() noexcept
{
    static std::mutex m;
    return m;
}

void leave_all_sets(flow_handle* h) noexcept
{
    std::lock_guard<std::mutex> lock(membership_mutex());
    for (set_core* core : h->sets)
        core->drop(h, false); // the flow's own reference keeps h alive
    h->sets.clear();
}

} // namespace detail

namespace {

using detail::membership_mutex;

using core_ptr = std::shared_ptr<detail::set_core>;

core_ptr open_core(const core_ptr& core)
{
    if (!core)
        throw error(EBADF, "the flow set is closed");
    if (core->inherited())
        detail::throw_inherited(EBADF, "this flow set", core->owner);
    return core;
}

// The set's core unless it is closed or the parent's (in a forked child).
core_ptr usable(core_ptr core) noexcept
{
    return core && !core->inherited() ? core : core_ptr();
}

[[noreturn]] void fail(int neg_errno, const char* what)
{
    std::string detail = detail::take_error_detail();
    throw error(-neg_errno, detail.empty() ? std::string(what) : std::string(what) + ": " + detail);
}

} // namespace

// ------------------------------------------------------------ event_queue

event_queue::~event_queue()
{
    reset();
}

event_queue::event_queue(event_queue&& other) noexcept
    : entries_(std::move(other.entries_)), next_(std::exchange(other.next_, 0)),
      current_(std::exchange(other.current_, nullptr)), owner_(other.owner_)
{
    other.entries_.clear();
}

event_queue& event_queue::operator=(event_queue&& other) noexcept
{
    if (this != &other) {
        reset();
        entries_ = std::move(other.entries_);
        other.entries_.clear();
        next_ = std::exchange(other.next_, 0);
        current_ = std::exchange(other.current_, nullptr);
        owner_ = other.owner_;
    }
    return *this;
}

void event_queue::swap(event_queue& other) noexcept
{
    entries_.swap(other.entries_);
    std::swap(next_, other.next_);
    std::swap(current_, other.current_);
    std::swap(owner_, other.owner_);
}

void event_queue::reset() noexcept
{
    detail::release(std::exchange(current_, nullptr));
    for (std::size_t i = next_; i < entries_.size(); ++i)
        detail::release(entries_[i].h);
    entries_.clear();
    next_ = 0;
}

std::optional<flow_event> event_queue::next()
{
    if (next_ < entries_.size() && owner_ != detail::this_process())
        detail::throw_inherited(EBADF, "this event queue (filled by a wait)", owner_);
    detail::release(std::exchange(current_, nullptr));
    while (next_ < entries_.size()) {
        entry e = entries_[next_++];
        if (e.h->is_open()) {
            current_ = e.h; // keeps the handle (not the flow) alive
            return flow_event{flow_ref(e.h), e.type};
        }
        detail::release(e.h);
    }
    entries_.clear();
    next_ = 0;
    return std::nullopt;
}

// --------------------------------------------------------------- flow_set

flow_set::flow_set()
{
    detail::flow_backend& be = detail::active_backend().flows();
    int err = 0;
    auto impl = be.create_event_set(err);
    if (!impl)
        fail(-std::abs(err), "creating a flow set");
    core_ = std::make_shared<detail::set_core>(be, std::move(impl));
}

flow_set::~flow_set()
{
    close();
}

flow_set::flow_set(flow_set&& other) noexcept : core_(std::atomic_exchange(&other.core_, core_ptr()))
{
}

flow_set& flow_set::operator=(flow_set&& other) noexcept
{
    if (this != &other) {
        close();
        std::atomic_store(&core_, std::atomic_exchange(&other.core_, core_ptr()));
    }
    return *this;
}

void flow_set::swap(flow_set& other) noexcept
{
    if (this != &other)
        std::atomic_store(&other.core_, std::atomic_exchange(&core_, other.core()));
}

// core_ is read and replaced atomically: close() may run in another thread.
std::shared_ptr<detail::set_core> flow_set::core() const noexcept
{
    return std::atomic_load(&core_);
}

bool flow_set::is_open() const noexcept
{
    return usable(core()) != nullptr;
}

void flow_set::add(const flow_ref& f)
{
    add_and_post(f, nullptr);
}

void flow_set::add(const flow_ref& f, event_type first)
{
    add_and_post(f, &first);
}

void flow_set::add_and_post(const flow_ref& f, const event_type* first)
{
    core_ptr held = open_core(core());
    detail::set_core& core = *held;
    detail::flow_use use(f.h_); // close() of f waits for us: no race with leave_all_sets
    if (&use.be() != &core.be)
        throw error(EINVAL, "the flow and the flow set belong to different backends");
    {
        // One critical section: a waiter takes posted events before the
        // others under this lock, so `first` precedes the flow's own.
        std::lock_guard<std::mutex> lock(membership_mutex());
        if (!core.tags.count(f.h_)) {
            std::uint64_t tag = core.next_tag++;
            if (int rc = core.impl->add(use.fd(), tag); rc < 0)
                fail(rc, "adding a flow to a flow set");
            detail::retain(f.h_);
            core.tags.emplace(f.h_, tag);
            core.by_tag.emplace(tag, f.h_);
            f.h_->sets.push_back(&core);
        }
        if (first == nullptr)
            return;
        detail::retain(f.h_);
        core.posted.emplace_back(f.h_, *first);
    }
    core.impl->wake();
}

void flow_set::remove(const flow_ref& f) noexcept
{
    core_ptr core = usable(this->core());
    if (!core || f.h_ == nullptr)
        return;
    std::lock_guard<std::mutex> lock(membership_mutex());
    core->drop(f.h_, true);
}

bool flow_set::has(const flow_ref& f) const noexcept
{
    core_ptr core = usable(this->core());
    if (!core)
        return false;
    std::lock_guard<std::mutex> lock(membership_mutex());
    return core->tags.count(f.h_) != 0;
}

void flow_set::zero() noexcept
{
    core_ptr core = usable(this->core());
    if (!core)
        return;
    std::lock_guard<std::mutex> lock(membership_mutex());
    core->drop_all();
}

std::size_t flow_set::size() const noexcept
{
    core_ptr core = usable(this->core());
    if (!core)
        return 0;
    std::lock_guard<std::mutex> lock(membership_mutex());
    return core->tags.size();
}

void flow_set::post(const flow_ref& f, event_type type)
{
    core_ptr held = open_core(core());
    detail::set_core& core = *held;
    detail::flow_use use(f.h_);
    {
        std::lock_guard<std::mutex> lock(membership_mutex());
        if (!core.tags.count(f.h_))
            throw error(EINVAL, "posting an event for a flow that is not in the set");
        detail::retain(f.h_);
        core.posted.emplace_back(f.h_, type);
    }
    core.impl->wake();
}

int flow_set::pollable_fd() const
{
    core_ptr core = open_core(this->core());
    int fd = core->impl->pollable_fd();
    if (fd < 0)
        throw error(-fd,
                    "the " + backend_name() + " backend's flow sets have no pollable descriptor");
    return fd;
}

void flow_set::close() noexcept
{
    core_ptr core = std::atomic_exchange(&core_, core_ptr());
    if (!core)
        return;
    if (core->inherited()) {
        std::lock_guard<std::mutex> lock(membership_mutex());
        core->abandon();
        return;
    }
    core->impl->cancel(); // waiters leave; they hold the core until then
    std::lock_guard<std::mutex> lock(membership_mutex());
    core->drop_all();
}

void flow_set::wait(event_queue& q, timeout t)
{
    core_ptr core = open_core(this->core()); // alive while we wait
    if (!q.empty())
        return; // as fevent(): the queue still holds events
    q.reset();
    q.owner_ = detail::this_process();
    const auto deadline = runtime::deadline_after(t);
    std::vector<detail::event> events;
    for (;;) {
        {
            std::lock_guard<std::mutex> lock(membership_mutex());
            core->take_posted(q.entries_);
        }
        if (!q.entries_.empty())
            return;
        timeout left = t;
        if (t)
            left = runtime::time_left(deadline);
        events.clear();
        int rc = core->impl->wait(events, left);
        if (rc == -ETIMEDOUT)
            throw error(ETIMEDOUT, "waiting for flow events");
        if (rc == -ECANCELED)
            throw error(EBADF, "the flow set was closed while waiting");
        if (rc < 0)
            fail(rc, "waiting for flow events");
        std::lock_guard<std::mutex> lock(membership_mutex());
        core->take_posted(q.entries_); // first: FLOW_ALLOC comes before the flow's SDUs
        for (const detail::event& e : events) {
            auto it = core->by_tag.find(e.tag);
            if (it == core->by_tag.end() || !it->second->is_open())
                continue; // left the set, or is closing, since the wait
            detail::retain(it->second);
            q.entries_.push_back({it->second, e.type});
        }
        if (!q.entries_.empty())
            return;
    }
}

} // namespace ouroboros
