// peer_watch.hpp - enforcing the QoS peer timeout of embedded flows.
//
// A flow whose QoS has timeout > 0 is watched by a ticker thread of its
// process. Every tick it stamps this end's heartbeat in the shared flow
// page and checks the peer's: a peer whose heartbeat is older than the
// timeout (a stopped, hung or frozen process) gets the flow marked
// peer_timed_out and its socket shut down, which wakes blocked readers and
// writers (they return -EFLOWPEER) and event sets (FLOW_PEER). Ouroboros
// does the same with keepalive packets from a library thread; a heartbeat
// in shared memory costs the data path nothing.
//
// The thread runs only while watched flows exist; it ticks at a quarter of
// the smallest timeout (between 5 ms and 1 s). After fork() the child's
// ticker starts again with its next watched flow.
#pragma once

namespace ouroboros::embedded {

struct flow_state;

// Starts watching f (its qos.timeout must be > 0) and stamps our heartbeat.
void watch_peer(flow_state& f);

// Stops watching f; once it returns the ticker no longer touches f.
void unwatch_peer(flow_state& f) noexcept;

} // namespace ouroboros::embedded
