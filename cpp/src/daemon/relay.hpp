// relay.hpp - broadcast layers: every SDU a member writes reaches every
// other member of the layer.
//
// A member's flow is a socketpair like a unicast flow; the daemon keeps the
// other end and fans each SDU it reads there out to the other members'
// ends, in the order it read them, so each sender's SDUs stay in order.
// The relay never blocks: what a member's socket cannot take waits in a
// bounded queue for that member, and when the queue is full the member
// misses SDUs (a broadcast layer is a datagram medium; the others are not
// held up by a slow reader). A member that closes its flow or dies leaves.
//
// Each member's flow page counts like a unicast flow's, with the relay as
// the peer: rx queue length = SDUs relayed to the member and not yet read;
// tx queue length = SDUs the member wrote that the relay has not yet read.
#pragma once

#include "runtime/flow_page.hpp"
#include "runtime/unique_fd.hpp"

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace ouroboros::daemon {

class relay {
public:
    // What may wait in the daemon for one member that reads too slowly.
    static constexpr std::size_t max_queued_sdus = 1024;
    static constexpr std::size_t max_queued_bytes = std::size_t(1) << 20;
    // SDUs read from one member per event, so a busy one cannot starve the rest.
    static constexpr int read_budget = 32;

    // Registers member sockets with `epoll_fd` (tag_kind::member).
    explicit relay(int epoll_fd);
    ~relay();
    relay(const relay&) = delete;
    relay& operator=(const relay&) = delete;

    // Adds process `pid` to the layer of IPCP `layer`. On success `sock`
    // and `page` are the member's end of its new flow. 0 or -errno.
    int join(pid_t layer, pid_t pid, std::uint64_t flow_id, runtime::unique_fd& sock,
             runtime::unique_fd& page, std::string& why);
    // Handles epoll events on member `id`'s socket.
    void on_event(std::uint64_t id, std::uint32_t events);
    // Takes every member of the layer down (its IPCP was destroyed): they
    // see their flows go down.
    void drop_layer(pid_t layer);

    std::size_t members_of(pid_t layer) const;
    // Members of every layer.
    std::size_t members() const;
    // SDUs that some member missed because it read too slowly.
    std::uint64_t dropped() const { return dropped_; }

private:
    using sdu = std::vector<std::uint8_t>;

    struct member {
        std::uint64_t id = 0;
        pid_t layer = 0;
        pid_t pid = 0;
        runtime::unique_fd sock;      // the relay's end, non-blocking
        runtime::flow_page* page = nullptr;
        std::deque<std::shared_ptr<const sdu>> queue;
        std::size_t queued_bytes = 0;
        std::uint64_t dropped = 0;
        bool dropping = false;     // logged the start of a run of drops
        bool want_out = false;     // EPOLLOUT requested
        bool gone = false;
    };

    void receive(member& from);
    void deliver(member& to, const std::shared_ptr<const sdu>& data);
    void flush(member& m);
    void want_writable(member& m, bool on);
    void remove(std::uint64_t id, const char* why);
    void remove_gone();

    int epoll_;
    std::map<std::uint64_t, member> members_;
    std::vector<std::uint8_t> buf_;
    std::uint64_t next_id_ = 1;
    std::uint64_t dropped_ = 0;
};

} // namespace ouroboros::daemon
