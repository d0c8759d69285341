// flow_install.hpp - turning the daemon's grant into a flow of this process.
//
// A flow request (alloc, accept, join) goes to the daemon; its grant
// carries the flow's socket, shared page and eventfd. Installing maps the
// page, checks it, runs the key exchange of an encrypted flow, sets the
// FRCT flags and the peer watch, and enters the flow in the table.
// Releasing undoes all of it.
//
// A request either blocks until its flow is there (request_flow()) or
// never blocks (start_flow_request(), for event loops). A non-blocking
// allocation confirms its grant (proto::flow_confirm): the acceptor gets
// its end only then, so an allocation given up before leaves no flow at
// either end.
#pragma once

#include <o7s/detail/flow_backend.hpp>
#include <o7s/qos.hpp>
#include <o7s/timeout.hpp>

#include "daemon_link.hpp"
#include "flow_crypto.hpp"
#include "flow_state.hpp"
#include "runtime/deadline.hpp"
#include "runtime/messages.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <type_traits>

namespace ouroboros::embedded {

// Frees what a flow holds; the flow is out of the table already.
void release_flow(std::unique_ptr<flow_state> f) noexcept;

// Takes the flow of a grant out of its reply (`raw` holds its
// descriptors): maps and checks the page. 0 or -errno (`f` left empty,
// the descriptors closing with `raw`).
int take_grant(const proto::flow_granted& grant, proto::message& raw,
               std::unique_ptr<flow_state>& f);

// The allocator of an encrypted flow reads the acceptor's half of the key
// exchange, the flow's first record, waiting until `deadline`
// (time_point::min(): not at all, -EAGAIN). 0 or -errno.
int read_acceptor_key(flow_state& f, std::string& peer_key,
                      std::chrono::steady_clock::time_point deadline);

// Makes a granted flow usable and enters it in the table. An encrypted
// flow's acceptor makes its key pair now and sends its public key as the
// flow's first record (an accept of a plaintext flow makes none: it would
// cost most of an allocation); the allocator has read it already
// (read_acceptor_key()) and `keys` holds its own half. Returns the flow
// descriptor or -errno (the flow released: the peer sees it go); `qos_out`
// (may be nullptr) gets the flow's QoS.
int install_flow(flow_table<flow_state>& table, std::unique_ptr<flow_state> f, key_pair& keys,
                 const std::string& peer_key, qos_spec* qos_out);

// How much longer than a flow request's own timeout we wait for the daemon
// to take the connection and answer (with the flow, or with its own
// ETIMEDOUT) before declaring it unresponsive.
// ouroboros.asyncio.REPLY_GRACE is the same.
inline constexpr std::chrono::seconds reply_grace{5};

// Sends a flow request (flow_alloc, flow_accept, flow_join) and installs
// the flow the daemon grants.
template <class Request>
int request_flow(flow_table<flow_state>& table, const Request& request, key_pair keys,
                 qos_spec* qos_out, timeout t)
{
    const auto deadline = runtime::deadline_after(t);
    const auto reply_by = t ? runtime::deadline_after(runtime::saturating_add(*t, reply_grace))
                            : steady::time_point::max();
    proto::flow_granted grant;
    proto::message raw;
    // An accept did nothing until it is answered, so when the daemon dies
    // meanwhile it is sent again (with the time left), to the daemon
    // started afresh: a server waiting in flow_accept() keeps serving
    // across a daemon crash. An allocation or a join reports the loss (the
    // acceptor may have got its end).
    constexpr bool accept = std::is_same_v<Request, proto::flow_accept>;
    for (int quick = 0;;) {
        Request again = request;
        if constexpr (accept)
            if (t)
                again.timeout_ns = runtime::time_left(deadline).count();
        proto::writer w(Request::id);
        if (int rc = encode_message(again, w); rc < 0)
            return rc;
        daemon_call c;
        int rc = c.start(w, reply_by);
        if (rc == 0)
            rc = c.finish(raw, reply_by);
        c.done();
        if (rc < 0 && accept && retry_after_loss(c, reply_by, quick))
            continue;
        if (rc < 0)
            return rc;
        if (rc = decode_reply(raw, grant); rc < 0)
            return rc;
        break;
    }
    std::unique_ptr<flow_state> f;
    if (int rc = take_grant(grant, raw, f); rc < 0)
        return rc;
    if (f->side == 0 && f->qos.cypher_s > 0)
        if (int rc = read_acceptor_key(*f, grant.peer_key, deadline); rc < 0) {
            release_flow(std::move(f));
            return rc;
        }
    return install_flow(table, std::move(f), keys, grant.peer_key, qos_out);
}

// A request of start_flow_request() laid out in `request`; `accept` for
// flow_accept (which ends at `accept_by`: sent again to a daemon started
// afresh, it asks for the time left), `confirm` for a flow_alloc that
// asked to confirm.
std::unique_ptr<detail::pending_flow> start_pending(flow_table<flow_state>& table,
                                                    proto::writer request, bool accept,
                                                    steady::time_point accept_by, bool confirm,
                                                    key_pair keys, int& err);

// Sends a flow request that never blocks (detail::pending_flow): poll()
// reads the grant once the connection is readable. nullptr with -errno in
// `err` when it cannot be sent.
template <class Request>
std::unique_ptr<detail::pending_flow> start_flow_request(flow_table<flow_state>& table,
                                                         const Request& request, key_pair keys,
                                                         int& err)
{
    proto::writer w(Request::id);
    if (err = encode_message(request, w); err < 0)
        return nullptr;
    bool confirm = false;
    steady::time_point accept_by = steady::time_point::max();
    if constexpr (std::is_same_v<Request, proto::flow_alloc>)
        confirm = request.confirm;
    if constexpr (std::is_same_v<Request, proto::flow_accept>)
        accept_by = runtime::deadline_after_ns(request.timeout_ns);
    return start_pending(table, std::move(w), std::is_same_v<Request, proto::flow_accept>,
                         accept_by, confirm, std::move(keys), err);
}

} // namespace ouroboros::embedded
