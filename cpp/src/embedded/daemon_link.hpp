// daemon_link.hpp - request/reply with the embedded runtime daemon.
//
// Connections are pooled per process and per runtime directory; a request
// takes one, so concurrent requests (one thread blocked in accept, another
// allocating) never share a connection. The daemon identifies the caller by
// SO_PEERCRED, so after fork() the child drops the pool it inherited.
// When no daemon answers, the first caller starts one (see daemon_start).
#pragma once

#include <o7s/detail/services.hpp>
#include <o7s/error.hpp>
#include <o7s/timeout.hpp>

#include "runtime/wire.hpp"

#include <string>

namespace ouroboros::embedded {

// Sends `request` and waits for the reply, at most `wait` (nullopt: without
// limit, but a signal still interrupts it through detail::interrupted()).
// Returns 0 with `reply` holding an ok or flow_granted record, or -errno
// with the detail left in detail::set_error_detail(); an error record from
// the daemon returns its errno and detail.
int call_daemon(proto::writer& request, proto::message& reply, timeout wait);

// The pid of the daemon serving this process, starting one if needed.
int daemon_pid();

// Runs `body` over the fields of a reply; 0, or -EIRMD with the detail
// for a reply that does not follow the protocol.
template <class F> int parse_reply(const proto::message& reply, F&& body)
{
    try {
        auto r = reply.read();
        body(r);
        r.end();
        return 0;
    } catch (const proto::malformed& e) {
        detail::set_error_detail(std::string("malformed reply from the runtime daemon: ") +
                                 e.what());
        return -errc::irmd;
    }
}

} // namespace ouroboros::embedded
