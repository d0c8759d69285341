// flow_batch_io.hpp - many SDUs per system call on an embedded flow.
#pragma once

#include <o7s/sdu.hpp>

#include "flow_state.hpp"

namespace ouroboros::embedded {

// The embedded flow_read_many / flow_write_many (semantics in
// o7s/detail/backend.hpp): recvmmsg()/sendmmsg() behind the first SDU,
// which goes through read_sdu()/write_sdu() so that flags, timeouts,
// busy polling and partial reads behave exactly as for single calls.
ssize_t read_sdus(flow_state& f, sdu_buffer* v, std::size_t n);
ssize_t write_sdus(flow_state& f, const sdu_view* v, std::size_t n);

// The embedded flow_read_many_into: SDUs packed into one buffer, SDU i at
// buf[ends[i-1], ends[i]) (ends[-1] = 0), at most `max`. The first goes
// through read_sdu() (it alone may wait; partial reads as there); the rest
// follow while each fits what is left of the buffer whole (is shorter than
// it: an exact fill would not end the SDU), straight from the ring
// (each record's length is known before it is copied) or, without rings,
// from the socket. Returns how many, or -errno when the first fails.
ssize_t read_sdus_into(flow_state& f, void* buf, std::size_t size, std::size_t* ends,
                       std::size_t max);

} // namespace ouroboros::embedded
