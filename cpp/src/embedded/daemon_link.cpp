// daemon_link.cpp - the per-process pool of daemon connections.
#include "daemon_link.hpp"

#include "daemon_process.hpp"
#include "daemon_start.hpp"
#include "runtime/deadline.hpp"
#include "runtime/runtime_dir.hpp"
#include "wait_fd.hpp"

#include <o7s/detail/backend.hpp>
#include <o7s/error.hpp>

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <mutex>
#include <vector>

namespace ouroboros::embedded {
namespace {

constexpr std::size_t max_idle = 4;

struct pool {
    std::mutex m;
    pid_t pid = -1;
    std::string dir;
    std::vector<runtime::unique_fd> idle;
};

pool& the_pool()
{
    static pool* p = new pool; // never destroyed: used from atexit paths too
    return *p;
}

// An idle connection to the daemon of `dir`, or a new one. `pooled` tells
// which, because a pooled one may be stale (the daemon was restarted).
int take(const std::string& dir, steady::time_point deadline, runtime::unique_fd& out,
         bool& pooled, bool may_start)
{
    pool& p = the_pool();
    {
        std::lock_guard<std::mutex> lock(p.m);
        if (p.pid != ::getpid() || p.dir != dir) {
            // Inherited across fork() or another runtime: the daemon would
            // take these connections for the wrong process or runtime.
            p.idle.clear();
            p.pid = ::getpid();
            p.dir = dir;
        }
        if (!p.idle.empty()) {
            out = std::move(p.idle.back());
            p.idle.pop_back();
            pooled = true;
            return 0;
        }
    }
    pooled = false;
    std::string why;
    int rc = connect_daemon(dir, deadline, out, why, may_start);
    if (rc < 0)
        detail::set_error_detail(why);
    return rc;
}

void give_back(const std::string& dir, runtime::unique_fd fd)
{
    pool& p = the_pool();
    std::lock_guard<std::mutex> lock(p.m);
    if (p.pid == ::getpid() && p.dir == dir && p.idle.size() < max_idle)
        p.idle.push_back(std::move(fd));
}

} // namespace

int daemon_call::start(proto::writer& request, steady::time_point deadline, bool may_start)
{
    dir_ = runtime::runtime_dir();
    answered_ = lost_ = false;
    other_version_.clear();
    const auto connect_by = std::min(deadline, runtime::deadline_after(connect_wait));
    bool pooled = false;
    // What a failed take() means to the caller: no daemon to talk to.
    auto unreachable = [may_start](int r) {
        return r == -EINTR || (!may_start && r == -ECONNREFUSED) ? r : -errc::irmd;
    };
    int rc = take(dir_, connect_by, conn_, pooled, may_start);
    if (rc < 0)
        return unreachable(rc);

    // A request never waits for room: one connection carries one request
    // at a time, so a full socket means a daemon that does not read.
    rc = proto::send_message(conn_.get(), request, nullptr, 0, /*dontwait=*/true);
    if (rc < 0 && pooled) {
        // The daemon behind a pooled connection went away before it saw the
        // request, so sending it again on a fresh connection is safe.
        conn_.reset();
        pooled = false;
        if (int r = take(dir_, connect_by, conn_, pooled, may_start); r < 0)
            return unreachable(r);
        rc = proto::send_message(conn_.get(), request, nullptr, 0, /*dontwait=*/true);
    }
    sent_at_ = steady::now();
    if (rc < 0) {
        conn_.reset();
        detail::set_error_detail("cannot send to the runtime daemon: " + ouroboros::strerror(-rc));
        return -errc::irmd;
    }
    return 0;
}

int daemon_call::finish(proto::message& reply, steady::time_point deadline)
{
    int rc = wait_fd(conn_.get(), POLLIN, deadline);
    if (rc == -EINTR)
        return rc; // the connection closes: the daemon drops the request
    if (rc == -ETIMEDOUT) {
        detail::set_error_detail("the runtime daemon did not answer in time");
        return -errc::irmd;
    }
    return read_reply(reply);
}

int daemon_call::try_finish(proto::message& reply)
{
    pollfd p{conn_.get(), POLLIN, 0};
    if (::poll(&p, 1, 0) == 0)
        return -EAGAIN;
    return read_reply(reply);
}

int daemon_call::read_reply(proto::message& reply)
{
    std::string why;
    int rc = proto::recv_message(conn_.get(), reply, &why);
    if (rc < 0)
        conn_.reset(); // whatever follows on it cannot be trusted
    else
        answered_ = true;
    if (rc == -ECONNRESET) {
        lost_ = true;
        detail::set_error_detail("the runtime daemon exited before it answered (it is started "
                                 "again on the next call; see " + runtime::paths_for(dir_).log +
                                 ")");
        return -errc::irmd;
    }
    if (rc == -EPROTONOSUPPORT) {
        other_version_ = why;
        detail::set_error_detail(other_version_message(dir_, why));
        return -errc::irmd;
    }
    if (rc < 0) {
        detail::set_error_detail("bad reply from the runtime daemon: " +
                                 (why.empty() ? ouroboros::strerror(-rc) : why));
        return -errc::irmd;
    }
    if (reply.type == proto::msg::error) {
        try {
            auto r = reply.read();
            auto e = proto::decode_body<proto::error_reply>(r);
            detail::set_error_detail(e.detail);
            return e.err > 0 ? -e.err : -errc::irmd;
        } catch (const proto::malformed&) {
            detail::set_error_detail("malformed error reply from the runtime daemon");
            return -errc::irmd;
        }
    }
    return 0;
}

int daemon_call::send(proto::writer& message)
{
    int rc = proto::send_message(conn_.get(), message);
    if (rc < 0) {
        conn_.reset();
        detail::set_error_detail("cannot send to the runtime daemon: " + ouroboros::strerror(-rc));
        return -errc::irmd;
    }
    return 0;
}

void daemon_call::done() noexcept
{
    if (conn_ && answered_)
        give_back(dir_, std::move(conn_));
}

bool retry_after_loss(const daemon_call& call, steady::time_point deadline, int& quick)
{
    if (!call.daemon_lost() || steady::now() >= deadline)
        return false;
    quick = steady::now() - call.started() < quick_loss ? quick + 1 : 0;
    if (quick >= quick_losses_tolerated) {
        detail::set_error_detail("the runtime daemon exited " + std::to_string(quick) +
                                 " times in a row while it handled this request (see " +
                                 runtime::paths_for(runtime::runtime_dir()).log + ")");
        return false;
    }
    detail::take_error_detail();
    return true;
}

int call_daemon(proto::writer& request, proto::message& reply, steady::time_point deadline)
{
    for (bool replaced = false;; replaced = true) {
        daemon_call call;
        int rc = call.start(request, deadline);
        if (rc == 0)
            rc = call.finish(reply, deadline);
        call.done(); // an error record ends the exchange cleanly too
        if (rc == 0 || call.other_version().empty() || replaced)
            return rc;
        // A daemon of another version refused the request unread: once it
        // is replaced (when nothing uses it), the request goes to ours.
        std::string why;
        if (replace_other_version(runtime::runtime_dir(), call.other_version(), why) < 0) {
            detail::set_error_detail(why);
            return rc;
        }
        detail::take_error_detail();
    }
}

} // namespace ouroboros::embedded
