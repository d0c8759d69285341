// daemon_start.hpp - connecting to the embedded runtime daemon, starting it
// on first use.
//
// Starting is race-free: clients serialise on an flock()ed start.lock and
// re-try the connection under it, and the daemon itself holds irmd.pid
// locked for its lifetime, so one runtime directory never has two daemons.
#pragma once

#include "runtime/unique_fd.hpp"

#include <chrono>
#include <string>

namespace ouroboros::embedded {

// A connected control socket to the daemon of `dir`, started if needed and
// allowed (`may_start` and $OUROBOROS_NO_AUTOSTART unset; it gets
// $OUROBOROS_IDLE_EXIT, default 600 s, as --idle-exit), waiting at most until
// `deadline` (for room in the daemon's queue of connections, for another
// client that starts it, for it to start). Returns -errno with `why` set:
// -ETIMEDOUT when the deadline passed, -EINTR when interrupted.
int connect_daemon(const std::string& dir, std::chrono::steady_clock::time_point deadline,
                   runtime::unique_fd& out, std::string& why, bool may_start = true);

// Path of the daemon executable ($OUROBOROS_IRMD, beside this library, or
// where it was built or installed), or "" when none is found.
std::string find_daemon_binary();

} // namespace ouroboros::embedded
