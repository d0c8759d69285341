// state_file.hpp - the daemon's state in the runtime directory, so that the
// daemon started after a crash (or a stop) goes on where the last one was.
//
// irmd.state holds the registry (IPCPs with their layers and
// configurations, names with their registrations, program bindings, and
// process bindings with each process' start time, so that a pid reused
// meanwhile is not taken for the process that was bound). The daemon
// writes it after every change and, for a change a request asked for,
// before it answers: to irmd.state.tmp, flushed (fdatasync), renamed over
// irmd.state, the directory flushed. So irmd.state is always one whole
// state, the last acknowledged one or newer, whenever the daemon dies.
//
// Layout: a 40-byte header, then the body, little-endian:
//
//     magic "O7SSTATE" (8 bytes)  u32 format version  u32 reserved (0)
//     u64 layout  u64 body length  u64 body checksum (64-bit FNV-1a)
//
// The body is a saved_state encoded by runtime/codec.hpp. `layout` is a
// hash of the body's field list (names and types), so a daemon whose
// records gained or lost a field reads another layout, as it reads another
// format version after a change of meaning. A file that fails any check
// (another version, truncated, corrupt, or holding what no request could
// have made) is set aside as irmd.state.unusable, with a log line, and the
// daemon starts afresh.
#pragma once

#include "registry.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace ouroboros::daemon {

inline constexpr std::uint32_t state_format = 1;
inline constexpr std::size_t state_header_size = 40;
// Far beyond any real registry; a larger file is not read.
inline constexpr std::size_t max_state_size = 64 << 20;

// A bound process: the pid and when it started (process_info.hpp).
struct saved_process {
    std::int32_t pid = 0;
    std::uint64_t start_time = 0;
    template <class S, class V> static void fields(S& s, V&& v)
    {
        v("pid", s.pid);
        v("start_time", s.start_time);
    }
};

struct saved_state {
    registry_image registry;
    std::vector<saved_process> processes; // every pid with a process binding
    template <class S, class V> static void fields(S& s, V&& v)
    {
        v("registry", s.registry);
        v("processes", s.processes);
    }
};

// The hash of saved_state's field list.
std::uint64_t state_layout();

// The bytes of a state file holding `s`.
std::vector<std::uint8_t> encode_state(const saved_state& s);
// Decodes a state file's bytes. 0, or -EINVAL with what is wrong in `why`.
int decode_state(const std::uint8_t* data, std::size_t size, saved_state& out, std::string& why);

// Writes `s` to `path` as said above. 0 or -errno with `why`.
int write_state(const std::string& path, const saved_state& s, std::string& why);

enum class state_read {
    loaded,
    absent,    // no state file: a fresh runtime
    set_aside, // unusable: renamed to path + ".unusable"; `why` says why
};
state_read read_state(const std::string& path, saved_state& out, std::string& why);

// Moves an unusable state file out of the way (path + ".unusable").
// Returns that name, or "" when it could not be moved (then removed).
std::string set_state_aside(const std::string& path);

} // namespace ouroboros::daemon
