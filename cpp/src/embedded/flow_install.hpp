// flow_install.hpp - turning the daemon's grant into a flow of this process.
//
// A flow request (alloc, accept, join) goes to the daemon; its grant
// carries the flow's socket, shared page and eventfd. Installing maps the
// page, checks it, runs the acceptor's half of the key exchange on an
// encrypted flow, sets the FRCT flags and the peer watch, and enters the
// flow in the table. Releasing undoes all of it.
#pragma once

#include <o7s/qos.hpp>
#include <o7s/timeout.hpp>

#include "daemon_link.hpp"
#include "flow_crypto.hpp"
#include "flow_state.hpp"
#include "runtime/messages.hpp"

#include <chrono>
#include <memory>

namespace ouroboros::embedded {

// Installs the flow of a grant (`raw` holds its descriptors). `keys` holds
// our half of the key exchange when the request carried a public key.
// Returns the flow descriptor or -errno; `qos_out` (may be nullptr) gets
// the flow's QoS.
int install_flow(flow_table<flow_state>& table, const proto::flow_granted& grant,
                 proto::message& raw, key_pair keys, qos_spec* qos_out,
                 std::chrono::steady_clock::time_point deadline);

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
    return install_flow(table, grant, raw, std::move(keys), qos_out, deadline);
}

// Frees what a flow holds; the flow is out of the table already.
void release_flow(std::unique_ptr<flow_state> f) noexcept;

} // namespace ouroboros::embedded
