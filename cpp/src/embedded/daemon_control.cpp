// daemon_control.cpp - o7s/runtime_daemon.hpp: the daemon's status, and
// stopping it.
#include <o7s/runtime_daemon.hpp>

#include "daemon_link.hpp"
#include "daemon_process.hpp"
#include "runtime/runtime_dir.hpp"

#include <o7s/detail/services.hpp>
#include <o7s/error.hpp>

#include <signal.h>
#include <sys/stat.h>

#include <cerrno>

namespace ouroboros {
namespace {

// Sends `request` to the daemon if one runs (never starting one) and
// decodes its reply. 0, -ECONNREFUSED when none runs, or -errno with the
// detail set.
template <class Request> int ask_running(const Request& request, typename Request::reply& out)
{
    proto::writer w(Request::id);
    if (int rc = embedded::encode_message(request, w); rc < 0)
        return rc;
    embedded::daemon_call call;
    proto::message raw;
    const auto deadline = runtime::deadline_after(embedded::irm_wait);
    int rc = call.start(w, deadline, /*may_start=*/false);
    if (rc == 0)
        rc = call.finish(raw, deadline);
    if (rc == 0)
        rc = embedded::decode_reply(raw, out);
    call.done();
    return rc;
}

} // namespace

runtime_daemon_status runtime_daemon()
{
    runtime_daemon_status s;
    s.runtime_dir = runtime::runtime_dir();
    struct stat st{};
    if (::stat(s.runtime_dir.c_str(), &st) != 0)
        return s; // no directory, no daemon

    proto::daemon_facts f;
    int rc = ask_running(proto::daemon_info{}, f);
    if (rc == -ECONNREFUSED) {
        detail::take_error_detail();
        return s;
    }
    if (rc == -EINTR)
        throw error(EINTR, "interrupted while asking the runtime daemon");
    s.running = true;
    if (rc < 0) {
        s.pid = embedded::daemon_pid_in_file(s.runtime_dir);
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
        proto::ok done;
        int rc = ask_running(proto::daemon_stop{}, done);
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
        if (s.pid <= 0 || !embedded::runs_daemon(s.pid))
            throw error(ESRCH, "cannot stop the runtime daemon of " + s.runtime_dir +
                                   ": its pid file names no o7s-irmd (" + s.problem + ")");
        if (::kill(s.pid, SIGTERM) != 0 && errno != ESRCH)
            throw error(errno, "cannot signal the runtime daemon (pid " +
                                   std::to_string(s.pid) + ")");
    }
    if (!embedded::wait_exit(s.pid, timeout))
        throw error(ETIMEDOUT, "the runtime daemon (pid " + std::to_string(s.pid) +
                                   ") did not exit within " +
                                   std::to_string(timeout.count()) + " ms");
    return true;
}

} // namespace ouroboros
