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

#include "flow_census.hpp"
#include "new_flow.hpp"
#include "registry.hpp"
#include "relay.hpp"
#include "state_file.hpp"
#include "runtime/messages.hpp"
#include "runtime/unique_fd.hpp"
#include "runtime/wire.hpp"

#include <sys/resource.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <list>
#include <map>
#include <set>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace ouroboros::daemon {

using clock = std::chrono::steady_clock;

// RLIMIT_NOFILE as the daemon got it (it raises its own soft limit).
inline rlimit inherited_nofile{RLIM_INFINITY, RLIM_INFINITY};

// How long an allocation waits for a bound process that is alive but busy
// to accept before an auto-start program is started for it (the IRMd's
// IRMD_REQ_ARR_TIMEOUT).
inline constexpr std::chrono::milliseconds autostart_grace{1000};
// How long the daemon stops accepting connections when it is out of
// descriptors.
inline constexpr std::chrono::milliseconds accept_pause{100};
// How long a granted allocation waits for the allocator's confirmation
// (which a live allocator sends at once) before it is abandoned.
inline constexpr std::chrono::seconds confirm_wait{5};

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
    runtime::unique_fd fd;
    pid_t pid = -1;
    bool waiting = false; // a flow request of this client awaits its answer
};

struct pending_accept {
    std::uint64_t client;
    pid_t pid;
    clock::time_point deadline;
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
    bool confirm = false; // the acceptor waits for the allocator's flow_confirm
    bool default_deadline = false; // no timeout was given (default_alloc_timeout)
};

// A bind_process of a process that has not talked to the runtime yet.
struct pending_bind {
    std::uint64_t client;
    pid_t pid;
    std::string name;
    clock::time_point deadline;
};

// A flow whose allocator (one that asked to confirm) has its end and has
// not confirmed it yet (proto::flow_confirm); the acceptor gets the
// other end only then.
struct pending_grant {
    std::uint64_t id; // the flow's
    clock::time_point confirm_by; // else it is abandoned
    pending_alloc alloc;
    pending_accept accept;
    new_flow flow; // our copies of the acceptor's end, the page, the eventfd
};

// A program the daemon started for an allocation.
struct child {
    pid_t pid = 0;
    std::string name;    // the name it was started for
    std::string program; // its path
    std::string log;     // where its stdout and stderr go
    runtime::unique_fd pidfd;
    bool accepted = false; // it asked for a flow at least once
    bool shebang = false;  // started through its #! line
};

// A process with bindings, watched so that its bindings go when it exits.
struct watched_process {
    runtime::unique_fd pidfd;
    std::uint64_t start_time = 0; // process_info.hpp: names it across pid reuse
};

// A listening control socket bound at `path` (which must not exist), or an
// empty fd with `why` set.
runtime::unique_fd listen_at(const std::string& path, std::string& why);

class server {
public:
    // `idle_exit`: how long the daemon may go without use (no client, no
    // bound process, no pending request, no broadcast member, no program it
    // started) before it exits; zero: it never does.
    server(runtime::unique_fd listener, std::string socket_path, std::string runtime_dir,
           std::chrono::milliseconds idle_exit = std::chrono::milliseconds(0));
    // Takes the registry from the state file a daemon before us left
    // (state_file.hpp): bound processes that still run stay bound.
    void restore_state();
    // Serves until asked to stop, until its socket is removed or until it
    // was idle for `idle_exit`. Returns the process exit status. Requests still waiting then get an error
    // that says the daemon stopped (a crash leaves them a bare hang-up,
    // which the library takes as the sign to send an accept again).
    int run();

private:
    // --- event loop (server.cpp)
    void on_listener();
    void pause_listener(int err);
    void resume_listener();
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
    // --- idle exit (server.cpp)
    bool in_use() const;
    // Stops the loop once the daemon has been out of use for idle_exit_.
    void check_idle();
    // Leaves the runtime directory to the next daemon: takes the start lock
    // (so that no client starts one before this one is gone), removes the
    // socket, serves any client that connected before it went (then the
    // daemon stays, on a new socket). True when the daemon may exit.
    bool leave_when_idle();
    void answer_waiting_at_stop();

    // --- the state file (state_file.hpp)
    // Writes the registry if it changed since it was last written. 0 or
    // -errno with `why`.
    int save_state(std::string& why);
    // save_state() for changes nobody waits for (a process bound when it
    // connected, or forgotten when it exited): a failure is logged.
    void persist();
    // Runs change() (0 or -errno with `why`) on the registry and saves the
    // state before the change may be acknowledged; a change that cannot be
    // saved is undone and refused (-EIO).
    template <class Change> int saved_change(Change&& change, std::string& why);
    void dispatch(client& c, const proto::message& m);

    // --- requests: one handler per message of runtime/messages.hpp.
    // Flow requests are answered when they are matched (server_flows.cpp);
    // the daemon's own at once (server.cpp); the IRM ones through
    // on<Request>() below, which sends what handle() made of them
    // (server_irm.cpp: 0 or -errno with a sentence in `why`).
    void on(client& c, const proto::flow_alloc& req);
    void on(client& c, const proto::flow_accept& req);
    void on(client& c, const proto::flow_join& req);
    void on(client& c, const proto::flow_confirm& req);
    void on(client& c, const proto::daemon_info& req);
    void on(client& c, const proto::daemon_stop& req);
    template <class Request> void on(client& c, const Request& req);

    int handle(const proto::ipcp_create& req, proto::ipcp_created& out, std::string& why);
    int handle(const proto::ipcp_destroy& req, proto::ok& out, std::string& why);
    int handle(const proto::ipcp_list& req, proto::ipcp_listing& out, std::string& why);
    int handle(const proto::ipcp_bootstrap& req, proto::ok& out, std::string& why);
    int handle(const proto::ipcp_enroll& req, proto::ok& out, std::string& why);
    int handle(const proto::ipcp_connect& req, proto::ok& out, std::string& why);
    int handle(const proto::ipcp_disconnect& req, proto::ok& out, std::string& why);
    int handle(const proto::name_create& req, proto::ok& out, std::string& why);
    int handle(const proto::name_destroy& req, proto::ok& out, std::string& why);
    int handle(const proto::name_list& req, proto::name_listing& out, std::string& why);
    int handle(const proto::name_reg& req, proto::ok& out, std::string& why);
    int handle(const proto::name_unreg& req, proto::ok& out, std::string& why);
    int handle(const proto::bind_program& req, proto::ok& out, std::string& why);
    int handle(const proto::unbind_program& req, proto::ok& out, std::string& why);
    int handle(const proto::unbind_process& req, proto::ok& out, std::string& why);
    int handle(const proto::binding_list& req, proto::binding_part& out, std::string& why);
    // What a request does beyond the registry, once its change is saved.
    template <class Request> void committed(const Request&) {}
    void committed(const proto::ipcp_destroy& req);

    // --- bind_process (server_binds.cpp): like the IRMd, only processes
    // that use Ouroboros (here: talk to the runtime) can be bound; the
    // reply waits for a process that has not yet.
    void on(client& c, const proto::bind_process& req);
    // The process connected: answers the binds that waited for it.
    void complete_binds(pid_t pid);
    void expire_binds();

    // --- flows (server_flows.cpp)
    void match_pending();
    bool grant(const pending_alloc& a, const pending_accept& acc);
    // Sends the acceptor its end. False when it is gone.
    bool hand_to_acceptor(std::uint64_t id, const pending_alloc& a, const pending_accept& acc,
                          const new_flow& f);
    // The allocator left or did something else instead of confirming: the
    // acceptor's request goes back to waiting.
    void abandon_grant(std::uint64_t allocator);
    void expire_pending();
    void fail_alloc(const pending_alloc& a, int err, const std::string& why);
    bool autostart_due() const;
    // Why nobody took an allocation to `name`: the bound processes, and
    // which of them never asked for a flow.
    std::string unserved(const std::string& name) const;

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
    template <class Reply>
    bool reply(client& c, const Reply& r, const int* fds = nullptr, std::size_t nfds = 0)
    {
        proto::writer w(Reply::id);
        proto::encode(w, r);
        return send(c, w, fds, nfds);
    }
    void reply_error(client& c, int err, const std::string& why);
    client* find(std::uint64_t id);

    runtime::unique_fd listener_;
    runtime::unique_fd epoll_;
    runtime::unique_fd signals_;
    std::string socket_path_;
    std::string runtime_dir_;
    std::string state_path_;
    std::uint64_t saved_generation_ = 0; // of the registry in the state file
    ino_t socket_inode_ = 0;
    bool listener_paused_ = false;     // out of descriptors (pause_listener())
    clock::time_point accept_again_at_{};

    std::map<std::uint64_t, client> clients_;
    std::map<pid_t, int> connections_;          // open connections per pid
    std::map<pid_t, watched_process> watched_;  // processes with bindings
    std::map<pid_t, child> children_;           // programs we started
    registry registry_;
    relay relay_;
    std::list<pending_accept> accepts_;
    std::list<pending_alloc> allocs_;
    std::map<std::uint64_t, pending_grant> grants_; // by allocator client
    std::list<pending_bind> binds_;
    std::set<pid_t> accepted_; // connected processes that asked for a flow
    bool rematch_ = false; // an accept came back: match again (run())
    std::vector<std::uint64_t> doomed_;
    std::uint64_t next_client_ = 1;
    std::uint64_t next_flow_ = 1;
    bool stopping_ = false;

    clock::time_point started_ = clock::now();
    std::chrono::milliseconds idle_exit_;
    bool idle_ = false;               // out of use since idle_since_
    clock::time_point idle_since_{};
    runtime::unique_fd exit_lock_;    // the start lock, held from an idle exit on
    flow_census census_;
    // Per direction, the rings of unicast flows (OUROBOROS_FLOW_RING_KIB).
    std::size_t ring_bytes_ = flow_ring_bytes_from_env();
};

template <class Change> int server::saved_change(Change&& change, std::string& why)
{
    registry before = registry_;
    if (int rc = change(); rc < 0)
        return rc;
    if (save_state(why) < 0) {
        registry_ = std::move(before);
        why = "the change was not made: " + why;
        return -EIO;
    }
    return 0;
}

template <class Request> void server::on(client& c, const Request& req)
{
    // A change is acknowledged only once it is in the state file; one that
    // cannot be saved is undone and refused.
    constexpr bool listing = std::is_same_v<Request, proto::ipcp_list> ||
                             std::is_same_v<Request, proto::name_list> ||
                             std::is_same_v<Request, proto::binding_list>;
    typename Request::reply out;
    std::string why;
    int rc = 0;
    if constexpr (listing)
        rc = handle(req, out, why);
    else
        rc = saved_change([&] { return handle(req, out, why); }, why);
    if (rc < 0) {
        reply_error(c, -rc, why);
    } else {
        committed(req);
        reply(c, out);
        // Names and bindings may have changed: waiting allocations may be
        // served now, or have lost their last server.
        match_pending();
    }
    // Also after a failure: a process may be watched for a binding that
    // did not happen.
    unwatch_idle_processes();
}

} // namespace ouroboros::daemon
