// event_set.hpp - flow sets of the embedded runtime (fset_t / fevent()).
//
// An epoll instance over the members' sockets (level-triggered), their
// notify eventfds (edge-triggered) and, for flows with rings, their data
// bells (level-triggered, set while the ring has records; the socket then
// only tells the hang-up). What each event means here:
//
//   FLOW_PKT     an SDU can be read: the ring (or, without rings, the
//                socket) has a record, or part of an SDU is left from a
//                partial read. One per flow and wait,
//                however many SDUs are queued.
//   FLOW_DOWN    the peer marked the flow down (set_flags with Down), or its
//                process ended without deallocating (crash, kill -9).
//   FLOW_UP      the peer cleared the Down mark again.
//   FLOW_DEALLOC the peer deallocated the flow.
//   FLOW_PEER    the peer did not respond for its QoS timeout (FLOW_PEER of
//                0.23's fqtype).
//
// Hang-ups (FLOW_DOWN, FLOW_DEALLOC, FLOW_PEER) come after the SDUs queued
// before them and are reported once; the flow stays in the set. FLOW_ALLOC
// does not come from here: flow_alloc() and flow_accept() return allocated
// flows; the flow_set layer posts it for flows allocated while pending in a
// set (see flow_set::post()).
#pragma once

#include <o7s/detail/backend.hpp>

#include "flow_state.hpp"
#include "runtime/flow_table.hpp"

#include <memory>

namespace ouroboros::embedded {

// nullptr with err = -errno when the kernel refuses an epoll instance.
std::unique_ptr<detail::event_set> make_event_set(const flow_table<flow_state>& flows, int& err);

} // namespace ouroboros::embedded
