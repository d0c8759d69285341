// relay.cpp - fanning broadcast SDUs out to the members of a layer.
#include "relay.hpp"

#include "runtime/flow_socket.hpp"
#include "epoll_tags.hpp"
#include "log.hpp"
#include "new_flow.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace ouroboros::daemon {
namespace {

constexpr int member_side = 0;
constexpr int relay_side = 1;

bool transient(int err)
{
    return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}

} // namespace

relay::relay(int epoll_fd) : epoll_(epoll_fd) {}

relay::~relay()
{
    for (auto& [_, m] : members_)
        if (m.page)
            ::munmap(m.page, runtime::flow_page_size);
}

int relay::join(pid_t layer, pid_t pid, std::uint64_t flow_id, runtime::unique_fd& sock,
                runtime::unique_fd& page, std::string& why)
{
    new_flow f;
    // No rings: the relay moves SDUs between member sockets.
    if (int rc = make_flow(flow_id, /*ring_bytes=*/0, f, why); rc < 0)
        return rc;
    runtime::flow_page* mapped = nullptr;
    if (int rc = map_flow_page(f.page.get(), mapped, why); rc < 0)
        return rc;
    int flags = ::fcntl(f.end[relay_side].get(), F_GETFL);
    ::fcntl(f.end[relay_side].get(), F_SETFL, flags | O_NONBLOCK);

    member m;
    m.id = next_id_++;
    m.layer = layer;
    m.pid = pid;
    m.sock = std::move(f.end[relay_side]);
    m.page = mapped;
    if (int rc = epoll_watch(epoll_, m.sock.get(), tag(tag_kind::member, m.id)); rc < 0) {
        ::munmap(mapped, runtime::flow_page_size);
        why = std::string("cannot watch the relay socket: ") + std::strerror(-rc);
        return rc;
    }
    std::uint64_t id = m.id;
    members_.emplace(id, std::move(m));
    sock = std::move(f.end[member_side]);
    page = std::move(f.page);
    return 0;
}

void relay::on_event(std::uint64_t id, std::uint32_t events)
{
    auto it = members_.find(id);
    if (it == members_.end())
        return;
    member& m = it->second;
    if (events & EPOLLOUT)
        flush(m);
    // Read what the member sent before noticing that it hung up, so its
    // last SDUs still reach the others.
    if (!m.gone && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        receive(m);
    remove_gone();
}

void relay::receive(member& from)
{
    if (buf_.empty())
        buf_.resize(runtime::max_sdu());
    for (int n = 0; n < read_budget && !from.gone; ++n) {
        ssize_t got = ::recv(from.sock.get(), buf_.data(), buf_.size(), MSG_DONTWAIT | MSG_TRUNC);
        if (got == 0) {
            from.gone = true; // the member deallocated its flow or died
            break;
        }
        if (got < 0) {
            if (!transient(errno))
                from.gone = true;
            break;
        }
        from.page->end[relay_side].consumed.fetch_add(1, std::memory_order_relaxed);
        if (static_cast<std::size_t>(got) > buf_.size()) {
            O7S_WARN("relay: dropped an SDU of %zd bytes from pid %d (the limit is %zu)", got,
                     static_cast<int>(from.pid), buf_.size());
            continue;
        }
        auto data = std::make_shared<const sdu>(buf_.begin(), buf_.begin() + got);
        for (auto& [_, to] : members_)
            if (to.layer == from.layer && to.id != from.id && !to.gone)
                deliver(to, data);
    }
}

void relay::deliver(member& to, const std::shared_ptr<const sdu>& data)
{
    if (to.queue.empty()) {
        ssize_t n = ::send(to.sock.get(), data->data(), data->size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n >= 0) {
            to.page->end[relay_side].sent.fetch_add(1, std::memory_order_relaxed);
            to.dropping = false;
            return;
        }
        if (!transient(errno)) {
            to.gone = true;
            return;
        }
    }
    if (to.queue.size() >= max_queued_sdus ||
        (!to.queue.empty() && to.queued_bytes + data->size() > max_queued_bytes)) {
        ++to.dropped;
        ++dropped_;
        if (!to.dropping)
            O7S_WARN("relay: pid %d reads too slowly; it misses SDUs until it catches up",
                     static_cast<int>(to.pid));
        to.dropping = true;
        return;
    }
    to.queue.push_back(data);
    to.queued_bytes += data->size();
    want_writable(to, true);
}

void relay::flush(member& m)
{
    while (!m.queue.empty()) {
        const auto& data = m.queue.front();
        ssize_t n = ::send(m.sock.get(), data->data(), data->size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0) {
            if (!transient(errno))
                m.gone = true;
            return; // still full: EPOLLOUT stays requested
        }
        m.page->end[relay_side].sent.fetch_add(1, std::memory_order_relaxed);
        m.queued_bytes -= data->size();
        m.queue.pop_front();
    }
    m.dropping = false;
    want_writable(m, false);
}

void relay::want_writable(member& m, bool on)
{
    if (m.want_out == on)
        return;
    m.want_out = on;
    epoll_rewatch(epoll_, m.sock.get(), tag(tag_kind::member, m.id),
                  EPOLLIN | (on ? EPOLLOUT : 0u));
}

void relay::remove(std::uint64_t id, const char* why)
{
    auto it = members_.find(id);
    if (it == members_.end())
        return;
    member& m = it->second;
    O7S_INFO("relay: pid %d left layer %d (%s; it missed %llu SDUs)", static_cast<int>(m.pid),
             static_cast<int>(m.layer), why, static_cast<unsigned long long>(m.dropped));
    epoll_unwatch(epoll_, m.sock.get());
    ::munmap(m.page, runtime::flow_page_size);
    members_.erase(it);
}

void relay::remove_gone()
{
    for (auto it = members_.begin(); it != members_.end();) {
        auto next = std::next(it);
        if (it->second.gone)
            remove(it->first, "flow closed");
        it = next;
    }
}

void relay::drop_layer(pid_t layer)
{
    for (auto it = members_.begin(); it != members_.end();) {
        auto next = std::next(it);
        if (it->second.layer == layer)
            remove(it->first, "layer destroyed");
        it = next;
    }
}

std::size_t relay::members_of(pid_t layer) const
{
    std::size_t n = 0;
    for (const auto& [_, m] : members_)
        n += m.layer == layer && !m.gone ? 1 : 0;
    return n;
}

std::size_t relay::members() const
{
    std::size_t n = 0;
    for (const auto& [_, m] : members_)
        n += m.gone ? 0 : 1;
    return n;
}

} // namespace ouroboros::daemon
