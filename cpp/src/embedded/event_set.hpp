// event_set.hpp - flow sets of the embedded runtime (fset_t / fevent()).
//
// An epoll instance over the members' sockets (level-triggered) and their
// notify eventfds (edge-triggered). What each event means here:
//
//   FLOW_PKT     an SDU can be read: the socket has a record, or part of an
//                SDU is left from a partial read. One per flow and wait,
//                however many SDUs are queued.
//   FLOW_DOWN    the peer marked the flow down (set_flags with Down), or its
//                process ended without deallocating (crash, kill -9).
//   FLOW_UP      the peer cleared the Down mark again.
//   FLOW_ALLOC   the peer took up its end of the flow: flow_accept() and
//                flow_alloc() return as soon as the runtime matched the
//                flow, so the other end may still be pending then.
//   FLOW_DEALLOC the peer deallocated the flow.
//   FLOW_PEER    the peer did not respond for its QoS timeout (FLOW_PEER of
//                0.23's fqtype).
//
// Hang-ups (FLOW_DOWN, FLOW_DEALLOC, FLOW_PEER) come after the SDUs queued
// before them and are reported once; the flow stays in the set.
#pragma once

#include <o7s/detail/backend.hpp>

#include "flow_state.hpp"
#include "flow_table.hpp"

#include <memory>

namespace ouroboros::embedded {

// nullptr with err = -errno when the kernel refuses an epoll instance.
std::unique_ptr<detail::event_set> make_event_set(const flow_table<flow_state>& flows, int& err);

} // namespace ouroboros::embedded
