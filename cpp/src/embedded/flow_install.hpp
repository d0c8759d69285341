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
// to answer it before declaring the daemon unresponsive.
inline constexpr std::chrono::seconds reply_grace{5};

// Sends a flow request (flow_alloc, flow_accept, flow_join) and installs
// the flow the daemon grants.
template <class Request>
int request_flow(flow_table<flow_state>& table, const Request& request, key_pair keys,
                 qos_spec* qos_out, timeout t)
{
    const auto deadline = t ? std::chrono::steady_clock::now() + *t
                            : std::chrono::steady_clock::time_point::max();
    proto::flow_granted grant;
    proto::message raw;
    if (int rc = call(request, grant, raw, t ? timeout(*t + reply_grace) : timeout()); rc < 0)
        return rc;
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
// flow_accept, `confirm` for a flow_alloc that asked to confirm.
std::unique_ptr<detail::pending_flow> start_pending(flow_table<flow_state>& table,
                                                    proto::writer request, bool accept,
                                                    bool confirm, key_pair keys, int& err);

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
    if constexpr (std::is_same_v<Request, proto::flow_alloc>)
        confirm = request.confirm;
    return start_pending(table, std::move(w), std::is_same_v<Request, proto::flow_accept>,
                         confirm, std::move(keys), err);
}

} // namespace ouroboros::embedded
