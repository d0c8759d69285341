// epoll_tags.cpp - epoll registration helpers.
#include "epoll_tags.hpp"

#include <cerrno>

namespace ouroboros::daemon {
namespace {

int control(int ep, int op, int fd, std::uint64_t data, std::uint32_t events)
{
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = data;
    return ::epoll_ctl(ep, op, fd, &ev) == 0 ? 0 : -errno;
}

} // namespace

int epoll_watch(int ep, int fd, std::uint64_t data, std::uint32_t events)
{
    return control(ep, EPOLL_CTL_ADD, fd, data, events);
}

int epoll_rewatch(int ep, int fd, std::uint64_t data, std::uint32_t events)
{
    return control(ep, EPOLL_CTL_MOD, fd, data, events);
}

void epoll_unwatch(int ep, int fd)
{
    ::epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
}

} // namespace ouroboros::daemon
