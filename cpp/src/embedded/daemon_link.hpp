// daemon_link.hpp - request/reply with the embedded runtime daemon.
//
// Connections are pooled per process and per runtime directory; a request
// takes one, so concurrent requests (one thread blocked in accept, another
// allocating) never share a connection. The daemon identifies the caller by
// SO_PEERCRED, so after fork() the child drops the pool it inherited.
// When no daemon answers, the first caller starts one (see daemon_start).
#pragma once

#include <o7s/timeout.hpp>

#include "../proto/wire.hpp"
#include "../util/unique_fd.hpp"

#include <string>

namespace ouroboros::embedded {

// One request and its reply, on a connection of its own. Closing the
// connection before the reply (the destructor without done()) makes the
// daemon drop the request: the caller gave up.
class daemon_call {
public:
    daemon_call() = default;
    daemon_call(daemon_call&&) noexcept = default;
    daemon_call& operator=(daemon_call&&) noexcept = default;

    // Sends `request`, connecting (and starting the daemon) if need be.
    // 0 or -errno with the detail set.
    int start(proto::writer& request);
    // The connection, which polls readable when the reply has arrived.
    int fd() const noexcept { return conn_.get(); }
    // Waits at most `wait` (nullopt: without limit, but a signal still
    // interrupts it through detail::interrupted()) and reads the reply.
    // 0 with `reply` holding an ok or flow_granted record, or -errno with
    // the detail set; an error record from the daemon returns its errno.
    int finish(proto::message& reply, timeout wait);
    // finish() without waiting: -EAGAIN while the reply is not there.
    int try_finish(proto::message& reply);
    // Sends a message that has no reply (flow_confirm). 0 or -errno.
    int send(proto::writer& message);
    // Returns the connection to the pool once the reply was read; else
    // (no reply yet, or a broken connection) it closes with the call.
    void done() noexcept;

private:
    int read_reply(proto::message& reply);

    std::string dir_;
    util::unique_fd conn_;
    bool answered_ = false;
};

// Sends `request` and waits for the reply, at most `wait`: start(),
// finish() and done() of a daemon_call.
int call_daemon(proto::writer& request, proto::message& reply, timeout wait);

// The pid of the daemon serving this process, starting one if needed.
int daemon_pid();

} // namespace ouroboros::embedded
