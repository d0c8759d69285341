// server.hpp - the embedded runtime daemon: one thread, one epoll loop.
//
// It accepts control connections from processes (identified by
// SO_PEERCRED), answers IRM requests from its registry, and brokers flows:
// an allocation waits until a process bound to the name accepts, then both
// get one end of a fresh socketpair. Processes with bindings are watched
// through pidfds, so their state goes when they die.
#pragma once

#include "../proto/wire.hpp"
#include "../util/unique_fd.hpp"
#include "registry.hpp"

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <list>
#include <map>
#include <string>
#include <vector>

namespace ouroboros::daemon {

using clock = std::chrono::steady_clock;

struct client {
    std::uint64_t id = 0;
    util::unique_fd fd;
    pid_t pid = -1;
    bool waiting = false; // a flow request of this client awaits its answer
};

struct pending_accept {
    std::uint64_t client;
    pid_t pid;
    clock::time_point deadline;
    std::string key; // the acceptor's public key, relayed to the allocator
};

struct pending_alloc {
    std::uint64_t client;
    pid_t pid;
    std::string name;
    qos_spec qos;
    clock::time_point deadline;
    std::string key; // the allocator's public key, relayed to the acceptor
};

class server {
public:
    server(util::unique_fd listener, std::string socket_path, std::string runtime_dir);
    // Serves until asked to stop or until its socket is removed. Returns
    // the process exit status.
    int run();

private:
    // --- event loop (server.cpp)
    void on_listener();
    void on_client(std::uint64_t id);
    void drop_client(std::uint64_t id);
    // Drops the clients found dead while pending requests were being
    // matched (dropping them there would pull entries from under the loop).
    void drop_doomed();
    void on_process_exit(pid_t pid);
    void on_signal();
    int watch_process(pid_t pid, std::string& why);
    void unwatch_idle_processes();
    int poll_timeout_ms() const;
    bool socket_still_ours() const;
    void dispatch(client& c, const proto::message& m);

    // --- flows (server_flows.cpp)
    void flow_alloc(client& c, proto::reader& r);
    void flow_accept(client& c, proto::reader& r);
    void flow_join(client& c, proto::reader& r);
    void match_pending();
    bool grant(const pending_alloc& a, const pending_accept& acc);
    void expire_pending();
    void fail_alloc(const pending_alloc& a, int err, const std::string& why);

    // --- IRM (server_irm.cpp)
    void irm_request(client& c, proto::msg type, proto::reader& r);

    // --- replies
    bool send(client& c, proto::writer& w, const int* fds = nullptr, std::size_t nfds = 0);
    void reply_ok(client& c);
    void reply_error(client& c, int err, const std::string& why);
    client* find(std::uint64_t id);

    util::unique_fd listener_;
    util::unique_fd epoll_;
    util::unique_fd signals_;
    std::string socket_path_;
    std::string runtime_dir_;
    ino_t socket_inode_ = 0;

    std::map<std::uint64_t, client> clients_;
    std::map<pid_t, util::unique_fd> watched_; // pidfds of processes with state
    registry registry_;
    std::list<pending_accept> accepts_;
    std::list<pending_alloc> allocs_;
    std::vector<std::uint64_t> doomed_;
    std::uint64_t next_client_ = 1;
    std::uint64_t next_flow_ = 1;
    bool stopping_ = false;
};

} // namespace ouroboros::daemon
