// server.hpp - the embedded runtime daemon: one thread, one epoll loop.
//
// It accepts control connections from processes (identified by
// SO_PEERCRED), answers IRM requests from its registry, and brokers flows:
// an allocation waits until a process bound to the name accepts, then both
// get one end of a fresh socketpair. A name bound to a program with
// bind_auto gets that program started when nobody accepts. Broadcast
// layers go through the relay. Processes with bindings are watched
// through pidfds, so their state goes when they die.
#pragma once

#include "../proto/wire.hpp"
#include "../util/unique_fd.hpp"
#include "registry.hpp"
#include "relay.hpp"

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <list>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace ouroboros::daemon {

using clock = std::chrono::steady_clock;

// How long an allocation waits for a bound process that is alive but busy
// to accept before an auto-start program is started for it (the IRMd's
// IRMD_REQ_ARR_TIMEOUT).
inline constexpr std::chrono::milliseconds autostart_grace{1000};

// How long an allocation without a timeout waits before the runtime gives
// up (the IRMd's FLOW_ALLOC_TIMEOUT).
inline constexpr std::chrono::seconds default_alloc_timeout{20};

// How long bind_process waits for a process to talk to the runtime before
// refusing it as one that does not use Ouroboros. The IRMd waits 10 ms for
// the announcement its library makes at load; ours connects at first use,
// which a Python server reaches after its imports.
inline constexpr std::chrono::milliseconds bind_wait{2000};

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
    clock::time_point start_at;  // auto-start from then on if nobody accepts
    bool grace_checked = false;  // matched once after start_at
    pid_t started = 0;           // the program instance it waits for
    std::string key{}; // the allocator's public key, relayed to the acceptor
    bool default_deadline = false; // no timeout was given (default_alloc_timeout)
};

// A bind_process of a process that has not talked to the runtime yet.
struct pending_bind {
    std::uint64_t client;
    pid_t pid;
    std::string name;
    clock::time_point deadline;
};

// A program the daemon started for an allocation.
struct child {
    pid_t pid = 0;
    std::string name;    // the name it was started for
    std::string program; // its path
    std::string log;     // where its stdout and stderr go
    util::unique_fd pidfd;
    bool accepted = false; // it asked for a flow at least once
    bool shebang = false;  // started through its #! line
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
    bool autostart_due() const;
    // Why nobody took an allocation to `name`: the bound processes, and
    // which of them never asked for a flow.
    std::string unserved(const std::string& name) const;

    // --- IRM (server_irm.cpp)
    void irm_request(client& c, proto::msg type, proto::reader& r, std::size_t body_size);
    int bind_program(bool script, proto::reader& r, std::size_t body_size, std::string& why);
    void list_bindings(client& c, proto::reader& r);
    int destroy_ipcp(pid_t id, std::string& why);

    // --- bind_process (server_binds.cpp): like the IRMd, only processes
    // that use Ouroboros (here: talk to the runtime) can be bound.
    void bind_process(client& c, proto::reader& r);
    // The process connected: answers the binds that waited for it.
    void complete_binds(pid_t pid);
    void expire_binds();

    // --- programs (server_programs.cpp)
    // Binds a process that connects for the first time to the names of
    // the programs it runs (the IRMd does this when a process announces).
    void announce(pid_t pid);
    // Starts an auto-start program for the allocation if it needs one.
    // False when it failed (and the allocation was answered).
    bool autostart(pending_alloc& a);
    int start_program(const std::string& name, const program_binding& prog, pid_t& pid,
                      std::string& why);
    void on_child_exit(pid_t pid);
    // At shutdown: SIGTERM the programs we started, SIGKILL the stubborn.
    void stop_children();

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
    std::map<pid_t, int> connections_;          // open connections per pid
    std::map<pid_t, util::unique_fd> watched_;  // pidfds of processes with bindings
    std::map<pid_t, child> children_;           // programs we started
    registry registry_;
    relay relay_;
    std::list<pending_accept> accepts_;
    std::list<pending_alloc> allocs_;
    std::list<pending_bind> binds_;
    std::set<pid_t> accepted_; // connected processes that asked for a flow
    std::vector<std::uint64_t> doomed_;
    std::uint64_t next_client_ = 1;
    std::uint64_t next_flow_ = 1;
    bool stopping_ = false;
};

} // namespace ouroboros::daemon
