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

#include "runtime/deadline.hpp"
#include "runtime/messages.hpp"
#include "runtime/wire.hpp"

#include <cerrno>
#include <chrono>
#include <string>

namespace ouroboros::embedded {

using runtime::steady;

// How long connecting to the daemon (and starting it) may take when the
// caller's own limit is longer or none.
inline constexpr std::chrono::seconds connect_wait{10};
// How long an IRM request may take, connecting included, before the daemon
// counts as hung (it answers IRM requests at once).
inline constexpr std::chrono::seconds irm_wait{10};

// One request and its reply, on a connection of its own. Closing the
// connection before the reply (the destructor without done()) makes the
// daemon drop the request: the caller gave up.
class daemon_call {
public:
    daemon_call() = default;
    daemon_call(daemon_call&&) noexcept = default;
    daemon_call& operator=(daemon_call&&) noexcept = default;

    // Sends `request`, connecting (and starting the daemon) if need be, by
    // `deadline` at the latest (and within connect_wait). 0 or -errno with
    // the detail set. Without `may_start`, no daemon: -ECONNREFUSED.
    int start(proto::writer& request, steady::time_point deadline = steady::time_point::max(),
              bool may_start = true);
    // The connection, which polls readable when the reply has arrived.
    int fd() const noexcept { return conn_.get(); }
    // Waits until `deadline` (time_point::max(): without limit, but a
    // signal still interrupts it through detail::interrupted()) and reads
    // the reply. 0 with `reply` holding an ok or flow_granted record, or
    // -errno with the detail set; an error record from the daemon returns
    // its errno.
    int finish(proto::message& reply, steady::time_point deadline);
    // finish() without waiting: -EAGAIN while the reply is not there.
    int try_finish(proto::message& reply);
    // Sends a message that has no reply (flow_confirm). 0 or -errno.
    int send(proto::writer& message);
    // Returns the connection to the pool once the reply was read; else
    // (no reply yet, or a broken connection) it closes with the call.
    void done() noexcept;
    // After a failed finish(): the daemon went away without answering (it
    // crashed or was killed), so the request died with it. A daemon that
    // stops on purpose answers its waiting requests with an error instead.
    bool daemon_lost() const noexcept { return lost_; }
    // When the request went out (start()).
    steady::time_point started() const noexcept { return sent_at_; }
    // After a failed finish(): "" or, when a daemon of another protocol
    // version answered (and so did not act on the request), what it said.
    const std::string& other_version() const noexcept { return other_version_; }

private:
    int read_reply(proto::message& reply);

    std::string dir_;
    runtime::unique_fd conn_;
    bool answered_ = false;
    bool lost_ = false;
    std::string other_version_;
    steady::time_point sent_at_{};
};

// A request that did nothing until it was answered (an accept) may be sent
// again when the daemon dies before it answers, to the daemon started
// afresh (which reloads its state). A daemon that dies this soon after
// each of this many requests in a row is crashing on them: give up.
inline constexpr std::chrono::seconds quick_loss{1};
inline constexpr int quick_losses_tolerated = 3;

// Whether a request that lost its daemon (`call`) should be sent again
// (time is left until `deadline`, the daemon is not crashing on it),
// counting the quick losses in `quick`.
bool retry_after_loss(const daemon_call& call, steady::time_point deadline, int& quick);

// Sends `request` and waits for the reply until `deadline`: start(),
// finish() and done() of a daemon_call. A daemon lost meanwhile is
// reported (-errc::irmd): the request may or may not have acted. One of
// another protocol version is replaced when nothing uses it
// (daemon_process.hpp), and the request sent again.
int call_daemon(proto::writer& request, proto::message& reply, steady::time_point deadline);

// Lays a message of messages.hpp out in `w`. 0, or -E2BIG for one with a
// string or a body beyond the protocol's limits.
template <class Message> int encode_message(const Message& m, proto::writer& w)
{
    w = proto::writer(Message::id);
    try {
        proto::encode(w, m);
        w.record(); // checks the body's size
        return 0;
    } catch (const proto::malformed& e) {
        detail::set_error_detail(std::string("too long for the runtime daemon: ") + e.what());
        return -E2BIG;
    }
}

// Decodes the reply record `raw` into `out`. 0 or -errc::irmd.
template <class Reply> int decode_reply(const proto::message& raw, Reply& out)
{
    if (raw.type != Reply::id) {
        detail::set_error_detail("unexpected reply type from the runtime daemon");
        return -errc::irmd;
    }
    try {
        auto r = raw.read();
        out = proto::decode_body<Reply>(r);
        return 0;
    } catch (const proto::malformed& e) {
        detail::set_error_detail(std::string("malformed reply from the runtime daemon: ") +
                                 e.what());
        return -errc::irmd;
    }
}

// Sends a request of messages.hpp and decodes its reply into `out`; `raw`
// keeps the reply record (its descriptors). 0 or -errno as call_daemon(),
// or -E2BIG for a request beyond the protocol's limits.
template <class Request>
int call(const Request& request, typename Request::reply& out, proto::message& raw,
         steady::time_point deadline)
{
    proto::writer w(Request::id);
    if (int rc = encode_message(request, w); rc < 0)
        return rc;
    if (int rc = call_daemon(w, raw, deadline); rc < 0)
        return rc;
    return decode_reply(raw, out);
}

// An IRM request: at most irm_wait.
template <class Request> int call(const Request& request, typename Request::reply& out)
{
    proto::message raw;
    return call(request, out, raw, runtime::deadline_after(irm_wait));
}

// A request whose reply says nothing but "done".
template <class Request> int call(const Request& request)
{
    typename Request::reply out;
    return call(request, out);
}

} // namespace ouroboros::embedded
