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

} // namespace ouroboros::embedded
