// server.cpp - the daemon's event loop, connections and process watching.
#include "server.hpp"

#include "epoll_tags.hpp"
#include "log.hpp"
#include "process_info.hpp"
#include "runtime/deadline.hpp"
#include "runtime/runtime_dir.hpp"

#include <o7s/error.hpp>

#include <signal.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <utility>

namespace ouroboros::daemon {
namespace {

constexpr int liveness_check_ms = 2000;

int pidfd_open(pid_t pid)
{
    return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

template <class Duration> std::uint64_t ms(Duration d)
{
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}

} // namespace

runtime::unique_fd listen_at(const std::string& path, std::string& why)
{
    runtime::unique_fd listener(
        ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
    if (!listener || ::bind(listener.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
        ::listen(listener.get(), 128) != 0) {
        why = "cannot listen on " + path + ": " + std::strerror(errno);
        return {};
    }
    return listener;
}

server::server(runtime::unique_fd listener, std::string socket_path, std::string runtime_dir,
               std::chrono::milliseconds idle_exit)
    : listener_(std::move(listener)), epoll_(::epoll_create1(EPOLL_CLOEXEC)),
      socket_path_(std::move(socket_path)), runtime_dir_(std::move(runtime_dir)),
      state_path_(runtime::paths_for(runtime_dir_).state), relay_(epoll_.get()),
      idle_exit_(idle_exit)
{
    struct stat st{};
    if (::stat(socket_path_.c_str(), &st) == 0)
        socket_inode_ = st.st_ino;

    sigset_t set;
    sigemptyset(&set);
    for (int sig : {SIGTERM, SIGINT, SIGHUP})
        sigaddset(&set, sig);
    ::sigprocmask(SIG_BLOCK, &set, nullptr);
    signals_.reset(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));

    epoll_watch(epoll_.get(), listener_.get(), tag(tag_kind::listener, 0));
    epoll_watch(epoll_.get(), signals_.get(), tag(tag_kind::signal, 0));
}

int server::run()
{
    O7S_INFO("serving %s (pid %d)", socket_path_.c_str(), static_cast<int>(::getpid()));
    epoll_event events[64];
    while (!stopping_) {
        int n = ::epoll_wait(epoll_.get(), events, 64, poll_timeout_ms());
        if (n < 0) {
            if (errno == EINTR)
                continue;
            O7S_WARN("epoll_wait: %s", std::strerror(errno));
            return 1;
        }
        for (int i = 0; i < n; ++i) {
            std::uint64_t data = events[i].data.u64;
            std::uint64_t value = value_of(data);
            switch (kind_of(data)) {
            case tag_kind::listener: on_listener(); break;
            case tag_kind::client: on_client(value); break;
            case tag_kind::process: on_process_exit(static_cast<pid_t>(value)); break;
            case tag_kind::signal: on_signal(); break;
            case tag_kind::child: on_child_exit(static_cast<pid_t>(value)); break;
            case tag_kind::member: relay_.on_event(value, events[i].events); break;
            }
        }
        if (autostart_due() || std::exchange(rematch_, false))
            match_pending();
        expire_pending();
        expire_binds();
        drop_doomed();
        persist();
        resume_listener();
        log_tick();
        check_idle();
        if (!stopping_ && !socket_still_ours()) {
            O7S_INFO("socket %s was removed or replaced; exiting", socket_path_.c_str());
            answer_waiting_at_stop();
            stop_children();
            return 0;
        }
    }
    answer_waiting_at_stop();
    stop_children();
    O7S_INFO("stopping");
    return 0;
}

bool server::in_use() const
{
    if (!clients_.empty() || !accepts_.empty() || !allocs_.empty() || !grants_.empty() ||
        !children_.empty() || relay_.members() > 0)
        return true;
    for (const auto& [pid, _] : watched_)
        if (registry_.has_bindings(pid))
            return true;
    return false;
}

void server::check_idle()
{
    if (idle_exit_.count() == 0 || stopping_)
        return;
    if (in_use()) {
        idle_ = false;
        return;
    }
    if (!idle_) {
        idle_ = true;
        idle_since_ = clock::now();
    }
    if (clock::now() - idle_since_ < idle_exit_)
        return;
    if (!leave_when_idle()) {
        idle_ = false; // someone came: count the idle time afresh
        return;
    }
    O7S_INFO("no client, bound process, request or broadcast member for %lld ms: exiting (the "
             "state is saved; the next use starts a daemon again)",
             static_cast<long long>(idle_exit_.count()));
    stopping_ = true;
}

bool server::leave_when_idle()
{
    // A client that found no daemon takes the start lock before it starts
    // one; holding it, no client can start one until this daemon (and its
    // pid lock) is gone (main.cpp lets the pid lock go first).
    const std::string lock_path = runtime::paths_for(runtime_dir_).start_lock;
    runtime::unique_fd lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!lock || ::flock(lock.get(), LOCK_EX | LOCK_NB) != 0)
        return false; // a client is starting a daemon: it will find this one
    if (!socket_still_ours())
        return true;
    ::unlink(socket_path_.c_str());
    // A client may have connected before the socket went: serve it, on a
    // new socket for those who come after it.
    on_listener();
    if (clients_.empty()) {
        epoll_unwatch(epoll_.get(), listener_.get());
        listener_.reset(); // whoever is still in its queue gets refused
        exit_lock_ = std::move(lock);
        return true;
    }
    std::string why;
    runtime::unique_fd fresh = listen_at(socket_path_, why);
    if (!fresh) {
        O7S_WARN("%s; exiting", why.c_str());
        stopping_ = true;
        return false;
    }
    epoll_unwatch(epoll_.get(), listener_.get());
    listener_ = std::move(fresh);
    epoll_watch(epoll_.get(), listener_.get(), tag(tag_kind::listener, 0));
    struct stat st{};
    if (::stat(socket_path_.c_str(), &st) == 0)
        socket_inode_ = st.st_ino;
    return false;
}

void server::answer_waiting_at_stop()
{
    for (auto& [id, c] : clients_)
        if (c.waiting)
            reply_error(c, errc::irmd,
                        "the runtime daemon was stopped (it starts again on the next call)");
}

void server::restore_state()
{
    // A write that a crash interrupted left its temporary file: irmd.state
    // itself is whole.
    ::unlink((state_path_ + ".tmp").c_str());
    saved_state saved;
    std::string why;
    switch (read_state(state_path_, saved, why)) {
    case state_read::absent:
        return;
    case state_read::set_aside:
        O7S_WARN("%s", why.c_str());
        return;
    case state_read::loaded:
        break;
    }
    registry restored;
    if (restored.restore(saved.registry, why) < 0) {
        std::string aside = set_state_aside(state_path_);
        O7S_WARN("state file %s holds what no request could have made (%s); set it aside as %s "
                 "and starting with a fresh registry",
                 state_path_.c_str(), why.c_str(), aside.c_str());
        return;
    }
    registry_ = std::move(restored);
    saved_generation_ = registry_.generation();
    // A bound process keeps its bindings if it still runs: the same pid,
    // started at the same time (else the pid was reused meanwhile).
    std::map<pid_t, std::uint64_t> started;
    for (const saved_process& p : saved.processes)
        started[p.pid] = p.start_time;
    std::size_t kept = 0, gone = 0;
    const registry_image img = registry_.image(); // forget_process() changes registry_
    for (const name_record& n : img.names)
        for (const process_binding& b : n.processes) {
            if (watched_.count(b.pid))
                continue;
            auto it = started.find(b.pid);
            if (it != started.end() && it->second != 0 && start_time(b.pid) == it->second &&
                watch_process(b.pid, why) == 0) {
                ++kept;
                continue;
            }
            registry_.forget_process(b.pid);
            ++gone;
        }
    O7S_INFO("restored the state of %s: %zu IPCPs, %zu names, %zu bound processes (%zu gone "
             "meanwhile)",
             state_path_.c_str(), registry_.ipcps().size(), registry_.names().size(), kept, gone);
    persist();
}

int server::save_state(std::string& why)
{
    if (registry_.generation() == saved_generation_)
        return 0;
    saved_state s;
    s.registry = registry_.image();
    for (const auto& [pid, w] : watched_)
        if (registry_.has_bindings(pid))
            s.processes.push_back(saved_process{pid, w.start_time});
    if (int rc = write_state(state_path_, s, why); rc < 0)
        return rc;
    saved_generation_ = registry_.generation();
    return 0;
}

void server::persist()
{
    std::string why;
    if (save_state(why) < 0)
        O7S_WARN("cannot save the state: %s", why.c_str());
}

void server::on_signal()
{
    signalfd_siginfo info;
    while (::read(signals_.get(), &info, sizeof info) == sizeof info)
        stopping_ = true;
}

bool server::socket_still_ours() const
{
    static clock::time_point last_check = clock::now();
    if (clock::now() - last_check < std::chrono::milliseconds(liveness_check_ms))
        return true;
    last_check = clock::now();
    struct stat st{};
    return ::stat(socket_path_.c_str(), &st) == 0 && st.st_ino == socket_inode_;
}

int server::poll_timeout_ms() const
{
    auto soonest = runtime::deadline_after(std::chrono::milliseconds(liveness_check_ms));
    if (listener_paused_)
        soonest = std::min(soonest, accept_again_at_);
    for (const auto& a : accepts_)
        soonest = std::min(soonest, a.deadline);
    for (const auto& g : grants_)
        soonest = std::min(soonest, g.second.confirm_by);
    for (const auto& b : binds_)
        soonest = std::min(soonest, b.deadline);
    for (const auto& a : allocs_) {
        soonest = std::min(soonest, a.deadline);
        if (!a.grace_checked)
            soonest = std::min(soonest, a.start_at);
    }
    if (idle_)
        soonest = std::min(soonest, idle_since_ + idle_exit_);
    return runtime::poll_timeout_ms(soonest);
}

void server::on_listener()
{
    for (;;) {
        runtime::unique_fd fd(
            ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
        if (!fd) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                pause_listener(errno);
            return; // EAGAIN: no connection is waiting
        }
        ucred cred{};
        socklen_t len = sizeof cred;
        if (::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
            cred.uid != ::geteuid()) {
            O7S_WARN("refused a connection from uid %d", static_cast<int>(cred.uid));
            continue;
        }
        client c;
        c.id = next_client_++;
        c.pid = cred.pid;
        c.fd = std::move(fd);
        epoll_watch(epoll_.get(), c.fd.get(), tag(tag_kind::client, c.id));
        clients_.emplace(c.id, std::move(c));
        if (connections_[cred.pid]++ == 0) {
            announce(cred.pid);
            complete_binds(cred.pid);
        }
    }
}

// Out of descriptors (or memory): the waiting connection stays in the
// listen queue and would wake the loop at once, again and again. Stop
// watching the listener for a while instead, and keep serving the
// connections we have; they free descriptors when they close.
void server::pause_listener(int err)
{
    O7S_WARN("cannot accept connections: %s (%zu open); not accepting for %lld ms",
             std::strerror(err), clients_.size(),
             static_cast<long long>(accept_pause.count()));
    epoll_unwatch(epoll_.get(), listener_.get());
    listener_paused_ = true;
    accept_again_at_ = runtime::deadline_after(accept_pause);
}

void server::resume_listener()
{
    if (!listener_paused_ || clock::now() < accept_again_at_)
        return;
    listener_paused_ = false;
    epoll_watch(epoll_.get(), listener_.get(), tag(tag_kind::listener, 0));
}

void server::on_client(std::uint64_t id)
{
    client* c = find(id);
    if (c == nullptr)
        return;
    proto::message m;
    std::string why;
    int rc = proto::recv_message(c->fd.get(), m, &why);
    if (rc == -EAGAIN || rc == -EINTR)
        return;
    if (rc == -EPROTO || rc == -EPROTONOSUPPORT) {
        O7S_WARN("malformed record from pid %d: %s", static_cast<int>(c->pid), why.c_str());
        reply_error(*c, EPROTO, "malformed request: " + why);
        drop_client(id);
        return;
    }
    if (rc < 0) {
        drop_client(id); // the process closed the connection or died
        return;
    }
    if (c->waiting) {
        reply_error(*c, EPROTO, "a request arrived while another one is pending");
        drop_client(id);
        return;
    }
    if (m.type != proto::msg::flow_confirm)
        abandon_grant(id); // a grant not confirmed first never will be
    try {
        dispatch(*c, m);
    } catch (const proto::malformed& e) {
        if ((c = find(id)) != nullptr)
            reply_error(*c, EINVAL, std::string("malformed request: ") + e.what());
    }
}

void server::dispatch(client& c, const proto::message& m)
{
    proto::reader r = m.read();
    if (!proto::dispatch(proto::requests{}, m.type, r, [&](const auto& req) { on(c, req); }))
        reply_error(c, ENOTSUP, "unknown request type " + std::to_string(static_cast<int>(m.type)));
}

void server::on(client& c, const proto::daemon_info&)
{
    proto::daemon_facts f;
    f.pid = static_cast<std::int32_t>(::getpid());
    f.version = proto::version;
    f.software = O7S_VERSION;
    f.runtime_dir = runtime_dir_;
    f.uptime_ms = ms(clock::now() - started_);
    std::set<pid_t> processes, bound;
    std::set<std::string> programs;
    for (const auto& [pid, n] : connections_)
        if (pid != c.pid || n > 1) // the asking connection does not count
            processes.insert(pid);
    for (const auto& [name, n] : registry_.names()) {
        for (const process_binding& b : n.processes)
            bound.insert(b.pid);
        for (const program_binding& p : n.programs)
            programs.insert(p.path);
    }
    processes.insert(bound.begin(), bound.end());
    f.processes = static_cast<std::uint32_t>(processes.size());
    f.ipcps = static_cast<std::uint32_t>(registry_.ipcps().size());
    f.names = static_cast<std::uint32_t>(registry_.names().size());
    f.bound_processes = static_cast<std::uint32_t>(bound.size());
    f.bound_programs = static_cast<std::uint32_t>(programs.size());
    f.flows = static_cast<std::uint32_t>(census_.open());
    f.members = static_cast<std::uint32_t>(relay_.members());
    f.pending = static_cast<std::uint32_t>(accepts_.size() + allocs_.size() + grants_.size());
    f.children = static_cast<std::uint32_t>(children_.size());
    f.idle_exit_ms = static_cast<std::uint64_t>(idle_exit_.count());
    reply(c, f);
}

void server::on(client& c, const proto::daemon_stop&)
{
    reply(c, proto::ok{});
    stopping_ = true;
}

void server::drop_client(std::uint64_t id)
{
    auto it = clients_.find(id);
    if (it == clients_.end())
        return;
    epoll_unwatch(epoll_.get(), it->second.fd.get());
    // A pending request dies with its connection (the caller gave up).
    auto mine = [id](const auto& p) { return p.client == id; };
    accepts_.remove_if(mine);
    allocs_.remove_if(mine);
    binds_.remove_if(mine);
    abandon_grant(id);
    // A process that connects again after closing all its connections is
    // announced again, as a process that restarted would be.
    pid_t pid = it->second.pid;
    if (--connections_[pid] <= 0) {
        connections_.erase(pid);
        accepted_.erase(pid);
    }
    clients_.erase(it);
}

void server::drop_doomed()
{
    std::vector<std::uint64_t> doomed;
    doomed.swap(doomed_);
    for (std::uint64_t id : doomed)
        drop_client(id);
}

int server::watch_process(pid_t pid, std::string& why)
{
    if (watched_.count(pid))
        return 0;
    if (pid <= 0) {
        why = "invalid process id " + std::to_string(pid);
        return -EINVAL;
    }
    runtime::unique_fd fd(pidfd_open(pid));
    if (!fd) {
        int err = errno;
        if (err == ESRCH || err == EINVAL)
            why = pid >= first_ipcp_id
                      ? "pid " + std::to_string(pid) +
                            " is an embedded IPCP, not a process; it cannot be bound"
                      : "no process with pid " + std::to_string(pid);
        else
            why = "cannot watch process " + std::to_string(pid); // the error adds strerror(err)
        return err == EINVAL ? -ESRCH : -err;
    }
    if (!same_user(pid)) {
        why = "process " + std::to_string(pid) + " belongs to another user";
        return -EPERM;
    }
    epoll_watch(epoll_.get(), fd.get(), tag(tag_kind::process, static_cast<std::uint64_t>(pid)));
    watched_.emplace(pid, watched_process{std::move(fd), start_time(pid)});
    return 0;
}

void server::unwatch_idle_processes()
{
    for (auto it = watched_.begin(); it != watched_.end();) {
        if (registry_.has_bindings(it->first)) {
            ++it;
            continue;
        }
        epoll_unwatch(epoll_.get(), it->second.pidfd.get());
        it = watched_.erase(it);
    }
}

void server::on_process_exit(pid_t pid)
{
    // Every process with bindings is watched, so an unwatched one has
    // nothing to forget (its exit may have been handled already).
    auto it = watched_.find(pid);
    if (it == watched_.end())
        return;
    O7S_INFO("process %d exited; forgetting its bindings", static_cast<int>(pid));
    registry_.forget_process(pid);
    epoll_unwatch(epoll_.get(), it->second.pidfd.get());
    watched_.erase(it);
    match_pending(); // allocations that only this process could serve fail now
}

client* server::find(std::uint64_t id)
{
    auto it = clients_.find(id);
    return it == clients_.end() ? nullptr : &it->second;
}

bool server::send(client& c, proto::writer& w, const int* fds, std::size_t nfds)
{
    // Never block the whole daemon on one client that does not read: one
    // whose socket is full or closed is dropped.
    if (proto::send_message(c.fd.get(), w, fds, nfds, /*dontwait=*/true) == 0)
        return true;
    doomed_.push_back(c.id);
    return false;
}

void server::reply_error(client& c, int err, const std::string& why)
{
    reply(c, proto::error_reply{err, why.substr(0, proto::max_string)});
}

} // namespace ouroboros::daemon
