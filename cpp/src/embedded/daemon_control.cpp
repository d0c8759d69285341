// daemon_control.cpp - o7s/runtime_daemon.hpp: the daemon's status, and
// stopping it.
#include <o7s/runtime_daemon.hpp>

#include "daemon_link.hpp"
#include "runtime/runtime_dir.hpp"

#include <o7s/detail/services.hpp>
#include <o7s/error.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>

namespace ouroboros {
namespace {

using embedded::steady;

// The pid the daemon wrote in its pid file, 0 when there is none.
int pid_in_file(const std::string& dir)
{
    std::ifstream f(runtime::paths_for(dir).pid_lock);
    long pid = 0;
    return f >> pid && pid > 0 ? static_cast<int>(pid) : 0;
}

// Whether `pid` runs o7s-irmd (a pid file names no other process).
bool is_daemon(int pid)
{
    std::ifstream f("/proc/" + std::to_string(pid) + "/comm");
    std::string comm;
    return std::getline(f, comm) && comm == "o7s-irmd";
}

// Waits until process `pid` has exited, at most `timeout`. True when it has.
bool wait_exit(int pid, std::chrono::milliseconds timeout)
{
    runtime::unique_fd fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (!fd)
        return errno == ESRCH;
    const auto deadline = runtime::deadline_after(timeout);
    for (;;) {
        pollfd p{fd.get(), POLLIN, 0};
        int rc = ::poll(&p, 1, runtime::poll_timeout_ms(deadline));
        if (rc > 0)
            return true;
        if (rc == 0 && steady::now() >= deadline)
            return false;
        if (rc < 0 && errno == EINTR && detail::interrupted())
            throw error(EINTR, "interrupted while waiting for the runtime daemon to stop");
    }
}

} // namespace

runtime_daemon_status runtime_daemon()
{
    runtime_daemon_status s;
    s.runtime_dir = runtime::runtime_dir();
    struct stat st{};
    if (::stat(s.runtime_dir.c_str(), &st) != 0)
        return s; // no directory, no daemon

    proto::writer w(proto::daemon_info::id);
    embedded::encode_message(proto::daemon_info{}, w);
    embedded::daemon_call call;
    proto::message raw;
    const auto deadline = runtime::deadline_after(embedded::irm_wait);
    int rc = call.start(w, deadline, /*may_start=*/false);
    if (rc == -ECONNREFUSED) {
        detail::take_error_detail();
        return s;
    }
    if (rc == -EINTR)
        throw error(EINTR, "interrupted while asking the runtime daemon");
    if (rc == 0)
        rc = call.finish(raw, deadline);
    proto::daemon_facts f;
    if (rc == 0)
        rc = embedded::decode_reply(raw, f);
    call.done();
    s.running = true;
    if (rc < 0) {
        s.pid = pid_in_file(s.runtime_dir);
        s.problem = detail::take_error_detail();
        if (s.problem.empty())
            s.problem = ouroboros::strerror(-rc);
        return s;
    }
    s.pid = f.pid;
    s.version = f.software;
    s.protocol = f.version;
    s.uptime = std::chrono::milliseconds(f.uptime_ms);
    s.processes = f.processes;
    s.ipcps = f.ipcps;
    s.names = f.names;
    s.bound_processes = f.bound_processes;
    s.bound_programs = f.bound_programs;
    s.flows = f.flows;
    s.members = f.members;
    s.pending = f.pending;
    s.children = f.children;
    s.idle_exit = std::chrono::milliseconds(f.idle_exit_ms);
    return s;
}

bool stop_runtime_daemon(std::chrono::milliseconds timeout)
{
    runtime_daemon_status s = runtime_daemon();
    if (!s.running)
        return false;
    if (s.problem.empty()) {
        proto::writer w(proto::daemon_stop::id);
        embedded::encode_message(proto::daemon_stop{}, w);
        embedded::daemon_call call;
        proto::message raw;
        const auto deadline = runtime::deadline_after(embedded::irm_wait);
        int rc = call.start(w, deadline, /*may_start=*/false);
        if (rc == 0)
            rc = call.finish(raw, deadline);
        call.done();
        if (rc == -ECONNREFUSED) { // it stopped meanwhile
            detail::take_error_detail();
            return true;
        }
        if (rc < 0) {
            std::string why = detail::take_error_detail();
            throw error(-rc, "cannot stop the runtime daemon: " + why);
        }
    } else {
        // One that cannot be asked (another protocol, or hung) gets SIGTERM,
        // which it takes as the same request.
        if (s.pid <= 0 || !is_daemon(s.pid))
            throw error(ESRCH, "cannot stop the runtime daemon of " + s.runtime_dir +
                                   ": its pid file names no o7s-irmd (" + s.problem + ")");
        if (::kill(s.pid, SIGTERM) != 0 && errno != ESRCH)
            throw error(errno, "cannot signal the runtime daemon (pid " +
                                   std::to_string(s.pid) + ")");
    }
    if (!wait_exit(s.pid, timeout))
        throw error(ETIMEDOUT, "the runtime daemon (pid " + std::to_string(s.pid) +
                                   ") did not exit within " +
                                   std::to_string(timeout.count()) + " ms");
    return true;
}

} // namespace ouroboros
