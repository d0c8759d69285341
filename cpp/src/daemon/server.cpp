// server.cpp - the daemon's event loop, connections and process watching.
#include "server.hpp"

#include "log.hpp"

#include <o7s/error.hpp>

#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace ouroboros::daemon {
namespace {

// epoll tags: what kind of descriptor an event is for, and which one.
enum : std::uint64_t { tag_listener = 1, tag_client = 2, tag_process = 3, tag_signal = 4 };
constexpr std::uint64_t tag(std::uint64_t kind, std::uint64_t value)
{
    return (kind << 56) | value;
}

constexpr int liveness_check_ms = 2000;

int pidfd_open(pid_t pid)
{
    return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

void add_to_epoll(int ep, int fd, std::uint64_t data)
{
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = data;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

} // namespace

server::server(util::unique_fd listener, std::string socket_path, std::string runtime_dir)
    : listener_(std::move(listener)), epoll_(::epoll_create1(EPOLL_CLOEXEC)),
      socket_path_(std::move(socket_path)), runtime_dir_(std::move(runtime_dir))
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

    add_to_epoll(epoll_.get(), listener_.get(), tag(tag_listener, 0));
    add_to_epoll(epoll_.get(), signals_.get(), tag(tag_signal, 0));
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
            std::uint64_t value = data & ((std::uint64_t(1) << 56) - 1);
            switch (data >> 56) {
            case tag_listener: on_listener(); break;
            case tag_client: on_client(value); break;
            case tag_process: on_process_exit(static_cast<pid_t>(value)); break;
            case tag_signal: on_signal(); break;
            }
        }
        expire_pending();
        drop_doomed();
        if (!socket_still_ours()) {
            O7S_INFO("socket %s was removed or replaced; exiting", socket_path_.c_str());
            return 0;
        }
    }
    O7S_INFO("stopping");
    return 0;
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
    auto soonest = clock::now() + std::chrono::milliseconds(liveness_check_ms);
    for (const auto& a : accepts_)
        soonest = std::min(soonest, a.deadline);
    for (const auto& a : allocs_)
        soonest = std::min(soonest, a.deadline);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(soonest - clock::now()).count();
    return ms < 0 ? 0 : static_cast<int>(ms) + 1;
}

void server::on_listener()
{
    for (;;) {
        util::unique_fd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
        if (!fd)
            return;
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
        add_to_epoll(epoll_.get(), c.fd.get(), tag(tag_client, c.id));
        clients_.emplace(c.id, std::move(c));
    }
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
    if (rc == -EPROTO) {
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
    switch (m.type) {
    case proto::msg::flow_alloc: return flow_alloc(c, r);
    case proto::msg::flow_accept: return flow_accept(c, r);
    case proto::msg::flow_join: return flow_join(c, r);
    case proto::msg::daemon_info: {
        r.end();
        proto::writer w(proto::msg::ok);
        w.i32(static_cast<std::int32_t>(::getpid())).u16(proto::version).str(runtime_dir_);
        send(c, w);
        return;
    }
    case proto::msg::daemon_stop:
        r.end();
        reply_ok(c);
        stopping_ = true;
        return;
    default:
        return irm_request(c, m.type, r);
    }
}

void server::drop_client(std::uint64_t id)
{
    auto it = clients_.find(id);
    if (it == clients_.end())
        return;
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, it->second.fd.get(), nullptr);
    // A pending request dies with its connection (the caller gave up).
    auto mine = [id](const auto& p) { return p.client == id; };
    accepts_.remove_if(mine);
    allocs_.remove_if(mine);
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
    util::unique_fd fd(pidfd_open(pid));
    if (!fd) {
        int err = errno;
        why = err == ESRCH ? "no process with pid " + std::to_string(pid)
                           : "cannot watch process " + std::to_string(pid) + ": " + std::strerror(err);
        return -err;
    }
    add_to_epoll(epoll_.get(), fd.get(), tag(tag_process, static_cast<std::uint64_t>(pid)));
    watched_.emplace(pid, std::move(fd));
    return 0;
}

void server::unwatch_idle_processes()
{
    for (auto it = watched_.begin(); it != watched_.end();) {
        if (registry_.has_bindings(it->first)) {
            ++it;
            continue;
        }
        ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, it->second.get(), nullptr);
        it = watched_.erase(it);
    }
}

void server::on_process_exit(pid_t pid)
{
    O7S_INFO("process %d exited; forgetting its bindings", static_cast<int>(pid));
    registry_.forget_process(pid);
    auto it = watched_.find(pid);
    if (it != watched_.end()) {
        ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, it->second.get(), nullptr);
        watched_.erase(it);
    }
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

void server::reply_ok(client& c)
{
    proto::writer w(proto::msg::ok);
    send(c, w);
}

void server::reply_error(client& c, int err, const std::string& why)
{
    proto::writer w(proto::msg::error);
    w.i32(err).str(why.substr(0, proto::max_string));
    send(c, w);
}

} // namespace ouroboros::daemon
