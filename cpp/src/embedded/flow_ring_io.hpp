// flow_ring_io.hpp - SDUs through a flow's shared-memory rings
// (runtime/flow_ring.hpp): waiting for records and for room, the data
// bells, the in_socket records of SDUs too large for a ring, and what
// fileno() and event sets watch.
//
// Bells. The peer writes my_bell when it puts a record into our empty ring
// while we are armed. A blocking read arms, checks the ring again, then
// sleeps in poll() on [my_bell, the socket] (the socket only for its
// hang-up: the kernel wakes us when the peer dies) and disarms. A watched
// flow (fileno() taken or in an event set) stays armed and keeps my_bell
// readable exactly while the ring has records: the reader clears it when
// it finds the ring empty and then checks again, setting it back if a
// record came meanwhile (settle_bell()). One race is left: a writer that
// saw the ring empty may write the bell just after the reader took that
// very record and settled, so a watched flow can poll readable once with
// nothing to read; the next read (EAGAIN) or event-set wait clears it.
//
// Hang-ups. A dead peer's records stay readable (the memory is ours too):
// a reader that sees the socket hang up reads the ring dry first. A clean
// deallocation shows in the page's state words, which every write loads. A
// killed reader shows only on the socket, which costs a system call to
// ask: a write asks it unless the reader consumed something since the
// previous write (then it was alive a moment ago), so a flood to a live
// reader asks rarely, a write to a dead one is refused (at most one SDU
// after the reader's last read is taken and lost, as on a network), and a
// writer waiting for room asks between its slices.
#pragma once

#include "flow_state.hpp"

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>

namespace ouroboros::embedded {

// A writer waiting for room looks at the socket and the page this often.
inline constexpr std::int64_t room_wait_slice_ns = 10'000'000;

// --- reading (f.reading held)

// The next record, waiting as the flow's flags, timeouts and busy polling
// say. 0 with `rec` filled in, or -errno (-EFLOWDOWN when the ring is
// broken or the peer gone and the ring dry).
int ring_next(flow_state& f, runtime::ring_reader::record& rec);

// The SDU an in_socket record stands for, from the socket into `mh` (it
// is queued already: the writer sends it before it publishes the record).
// Its size, or -errno; a record of another size breaks the ring.
ssize_t ring_socket_sdu(flow_state& f, msghdr& mh, std::uint32_t length);

// After the record ring_next() returned was copied out: steps past it,
// counts it consumed and, unless `more` (a batch going on), publishes the
// head (waking a writer waiting for room) and settles a watched flow's bell.
void ring_done(flow_state& f, bool more = false);
// Publishes the head after a batch of ring_done(f, true).
void ring_done_batch(flow_state& f);

// --- writing (f.writing held)

// One SDU (a sealed record on an encrypted flow) into our ring, or into the
// socket with an in_socket record when it is larger than a ring record.
// 0 or -errno (-EAGAIN: full and non-blocking; -ETIMEDOUT).
int ring_send(flow_state& f, const void* buf, std::size_t n, flow_flags flags);

// Whether the peer is known gone (clean deallocation, peer timeout, our own
// interrupt) or, unless `batch` (an SDU after the first of a batch), found
// gone on the socket as the header says. 0, or the error a write gets.
int ring_write_check(flow_state& f, bool batch);

// Writes the peer's data bell.
void ring_bell(const flow_state& f) noexcept;

// Marks the flow down at this end because the peer corrupted a ring;
// returns -EFLOWDOWN with a detail saying so.
int ring_fault(flow_state& f);

// --- readiness

// Arms the flow for good (fileno(), event sets) and sets my_bell if the ring
// has records already.
void watch_ring(flow_state& f) noexcept;
// fileno() of a flow with rings: an epoll instance (made on first use) over
// my_bell and the socket's hang-up, readable when an SDU can be read or the
// flow hung up. The descriptor or -errno.
int ring_pollable_fd(flow_state& f);
// Whether an SDU can be read from the ring (for event sets: my_bell may be
// stale, see above; settles it when the ring is empty).
bool ring_readable(flow_state& f) noexcept;

} // namespace ouroboros::embedded
