// server_binds.cpp - bind_process: only processes that use Ouroboros.
//
// The IRMd binds a process only once its library has announced it (it
// waits 10 ms for that), so binding the pid of a wrapper, a shell or any
// process that never uses Ouroboros fails instead of leaving allocations
// to wait for a server that will never accept. Here a process uses
// Ouroboros once it has connected to the runtime; a bind of a process that
// has not waits for it (bind_wait), then gives up.
#include "server.hpp"

#include "log.hpp"
#include "runtime/names.hpp"

#include <cerrno>

namespace ouroboros::daemon {

void server::on(client& c, const proto::bind_process& req)
{
    std::string why;
    int rc = runtime::check_name(req.name, why);
    if (rc == 0)
        rc = watch_process(req.pid, why); // it exists, is a process and is ours
    if (rc == 0 && !connections_.count(req.pid) && !children_.count(req.pid)) {
        c.waiting = true;
        binds_.push_back(pending_bind{c.id, req.pid, req.name, clock::now() + bind_wait});
        unwatch_idle_processes(); // watched again once bound
        return;
    }
    if (rc == 0)
        rc = saved_change([&] { return registry_.bind_process(req.pid, req.name, why); }, why);
    if (rc < 0) {
        reply_error(c, -rc, why);
    } else {
        reply(c, proto::ok{});
        match_pending(); // allocations to the name may be served now
    }
    unwatch_idle_processes();
}

void server::complete_binds(pid_t pid)
{
    bool bound = false;
    for (auto b = binds_.begin(); b != binds_.end();) {
        if (b->pid != pid) {
            ++b;
            continue;
        }
        if (client* c = find(b->client)) {
            c->waiting = false;
            std::string why;
            int rc = watch_process(pid, why);
            if (rc == 0)
                rc = saved_change([&] { return registry_.bind_process(pid, b->name, why); }, why);
            if (rc < 0) {
                reply_error(*c, -rc, why);
            } else {
                reply(*c, proto::ok{});
                bound = true;
            }
        }
        b = binds_.erase(b);
    }
    if (bound)
        match_pending();
    unwatch_idle_processes();
}

void server::expire_binds()
{
    const auto now = clock::now();
    for (auto b = binds_.begin(); b != binds_.end();) {
        if (b->deadline > now) {
            ++b;
            continue;
        }
        O7S_INFO("process %d does not use Ouroboros: not bound to '%s'", static_cast<int>(b->pid),
                 b->name.c_str());
        if (client* c = find(b->client)) {
            c->waiting = false;
            reply_error(*c, ESRCH,
                        "process " + std::to_string(b->pid) +
                            " is not known to the runtime: only processes that use Ouroboros "
                            "can be bound, and it did not talk to the runtime within " +
                            std::to_string(bind_wait.count() / 1000) +
                            " s (a wrapper's pid, such as a shell's, is not its server's)");
        }
        b = binds_.erase(b);
    }
}

} // namespace ouroboros::daemon
