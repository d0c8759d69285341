// epoll_tags.hpp - what each epoll event of the daemon is about.
//
// The 64-bit epoll data holds a kind in the top byte and a value (client
// id, pid, relay member id) below it.
#pragma once

#include <sys/epoll.h>

#include <cstdint>

namespace ouroboros::daemon {

enum class tag_kind : std::uint64_t {
    listener = 1,
    client = 2,
    process = 3, // a process with bindings, watched through its pidfd
    signal = 4,
    child = 5,   // a program the daemon started
    member = 6,  // a broadcast relay member's socket
};

constexpr std::uint64_t value_mask = (std::uint64_t(1) << 56) - 1;

constexpr std::uint64_t tag(tag_kind kind, std::uint64_t value)
{
    return (static_cast<std::uint64_t>(kind) << 56) | (value & value_mask);
}

constexpr tag_kind kind_of(std::uint64_t data)
{
    return static_cast<tag_kind>(data >> 56);
}

constexpr std::uint64_t value_of(std::uint64_t data)
{
    return data & value_mask;
}

// Returns 0 or -errno.
int epoll_watch(int ep, int fd, std::uint64_t data, std::uint32_t events = EPOLLIN);
int epoll_rewatch(int ep, int fd, std::uint64_t data, std::uint32_t events);
void epoll_unwatch(int ep, int fd);

} // namespace ouroboros::daemon
