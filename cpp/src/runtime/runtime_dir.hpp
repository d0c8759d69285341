// runtime_dir.hpp - where the embedded runtime keeps its socket and locks.
//
// $OUROBOROS_RUNTIME_DIR if set (tests give every case its own), else
// $XDG_RUNTIME_DIR/ouroboros-embedded, else /run/user/<uid>/ouroboros-embedded
// when /run/user/<uid> is the user's own directory (systemd makes it at
// login; nobody else can create anything in it), else
// ${TMPDIR:-/tmp}/ouroboros-embedded-<uid>, a path another local user can
// take first. The directory is private to the user (mode 0700); one that
// is not (another user's, or open to others) is refused with a message
// that says so and how to get past it.
#pragma once

#include <string>

namespace ouroboros::runtime {

struct runtime_paths {
    std::string dir;
    std::string socket;     // the daemon's control socket
    std::string pid_lock;   // held by the running daemon, holds its pid
    std::string start_lock; // serialises clients that start a daemon
    std::string log;        // the daemon's log
    std::string state;      // the daemon's registry (daemon/state_file.hpp)
};

std::string runtime_dir();
runtime_paths paths_for(const std::string& dir);

// Creates the directory if needed and checks that it is ours and private.
// Returns 0 or -errno with the reason in `why`.
int prepare_runtime_dir(const std::string& dir, std::string& why);

} // namespace ouroboros::runtime
