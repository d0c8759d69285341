// process_info.hpp - what /proc tells about a client process.
//
// Program bindings bind the processes that run the program. The real IRMd
// learns the program name from the library when a process starts; here the
// daemon looks at /proc when a process first connects: the executable, and
// for interpreters (python3 script.py, sh script) the script.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace ouroboros::daemon {

struct process_identity {
    std::string exe;    // absolute path of the executable
    std::string script; // the first argument that is not an option, as an
                        // absolute path, when it names an existing file
};

process_identity identify(pid_t pid);

// Whether the process runs the program at `path` (absolute, symlink-free).
bool runs(const process_identity& id, const std::string& path);

// The process's working directory ("" when unknown).
std::string working_directory(pid_t pid);

// Whether /proc/PID belongs to this (effective) user.
bool same_user(pid_t pid);

// When the process started (clock ticks since boot, /proc/PID/stat), 0 when
// it does not exist: with the pid, it names one process across pid reuse.
std::uint64_t start_time(pid_t pid);

// `path` with symlinks resolved, or "" when it does not exist.
std::string real_path(const std::string& path);

// The command line of a process, split at NULs (empty when unreadable).
std::vector<std::string> command_line(pid_t pid);

} // namespace ouroboros::daemon
