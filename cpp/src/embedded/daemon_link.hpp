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

#include "runtime/messages.hpp"
#include "runtime/wire.hpp"

#include <cerrno>
#include <chrono>
#include <string>

namespace ouroboros::embedded {

// Sends `request` and waits for the reply, at most `wait` (nullopt: without
// limit, but a signal still interrupts it through detail::interrupted()).
// Returns 0 with `reply` holding an ok or flow_granted record, or -errno
// with the detail left in detail::set_error_detail(); an error record from
// the daemon returns its errno and detail.
int call_daemon(proto::writer& request, proto::message& reply, timeout wait);

// How long an IRM request may take before the daemon counts as hung.
inline constexpr std::chrono::seconds irm_wait{30};

// Sends a request of messages.hpp and decodes its reply into `out`; `raw`
// keeps the reply record (its descriptors). 0 or -errno as call_daemon(),
// or -E2BIG for a request with a string or a body beyond the protocol's
// limits.
template <class Request>
int call(const Request& request, typename Request::reply& out, proto::message& raw,
         timeout wait = irm_wait)
{
    proto::writer w(Request::id);
    try {
        proto::encode(w, request);
        w.record(); // checks the body's size
    } catch (const proto::malformed& e) {
        detail::set_error_detail(std::string("too long for the runtime daemon: ") + e.what());
        return -E2BIG;
    }
    if (int rc = call_daemon(w, raw, wait); rc < 0)
        return rc;
    if (raw.type != Request::reply::id) {
        detail::set_error_detail("unexpected reply type from the runtime daemon");
        return -errc::irmd;
    }
    try {
        auto r = raw.read();
        out = proto::decode_body<typename Request::reply>(r);
        return 0;
    } catch (const proto::malformed& e) {
        detail::set_error_detail(std::string("malformed reply from the runtime daemon: ") +
                                 e.what());
        return -errc::irmd;
    }
}

template <class Request>
int call(const Request& request, typename Request::reply& out, timeout wait = irm_wait)
{
    proto::message raw;
    return call(request, out, raw, wait);
}

// A request whose reply says nothing but "done".
template <class Request> int call(const Request& request)
{
    typename Request::reply out;
    return call(request, out);
}

} // namespace ouroboros::embedded
