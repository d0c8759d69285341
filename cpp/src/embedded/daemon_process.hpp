// daemon_process.hpp - the daemon as a process: its pid, waiting for its
// exit, and replacing one of another protocol version (an upgrade of
// pyOuroboros while it ran).
#pragma once

#include <chrono>
#include <string>

namespace ouroboros::embedded {

// The pid in the runtime directory's pid file, 0 when there is none.
int daemon_pid_in_file(const std::string& dir);

// Whether process `pid` runs o7s-irmd (so that a stale pid file never gets
// another process signalled).
bool runs_daemon(int pid);

// Waits until process `pid` has exited, at most `timeout`. True when it
// has; throws ouroboros::error (EINTR) when interrupted.
bool wait_exit(int pid, std::chrono::milliseconds timeout);

// The sentence for a daemon of `dir` that answered in another protocol
// version (`answered` says which), with what to do about it.
std::string other_version_message(const std::string& dir, const std::string& answered);

// Stops the daemon of `dir`, which answered in another protocol version,
// when no process uses it (no connection to its socket: its saved state
// then holds all it had, and this version's daemon, started by the next
// connection, takes it over). 0 when it is gone, else -errno with `why`
// (other_version_message(), and why it was left running).
int replace_other_version(const std::string& dir, const std::string& answered, std::string& why);

} // namespace ouroboros::embedded
