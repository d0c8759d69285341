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

#include "flow_crypto.hpp"
#include "flow_state.hpp"
#include "runtime/wire.hpp"

#include <memory>

namespace ouroboros::embedded {

// Sends a flow request and installs the flow the daemon grants. `keys`
// holds our half of the key exchange when the request carried a public
// key. Returns the flow descriptor or -errno; `qos_out` (may be nullptr)
// gets the flow's QoS.
int request_flow(flow_table<flow_state>& table, proto::writer& request, key_pair keys,
                 qos_spec* qos_out, timeout t);

// Frees what a flow holds; the flow is out of the table already.
void release_flow(std::unique_ptr<flow_state> f) noexcept;

} // namespace ouroboros::embedded
