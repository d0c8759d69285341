// probe.hpp - is an Ouroboros IRMd answering, and which protocol
// does it speak? Asked without libouroboros-dev (whose load-time
// constructor exits the process when the answer is no).
#pragma once

#include <chrono>
#include <string>

namespace ouroboros::detail {

// Generations of the IRMd's protobuf messages: the field numbers changed in
// 0.22 (name_info inserted) and again in 0.23 (result moved).
enum class irm_protocol {
    unknown,
    v0_21,
    v0_22,
    v0_21_or_22, // a reply that does not tell the two apart (no IPCPs listed)
    v0_23,
};

struct irmd_probe {
    bool answering = false;
    irm_protocol protocol = irm_protocol::unknown;
    std::string problem; // why not answering, for the user
};

// Connects to the IRMd socket, sends the smallest request (list IPCPs) and
// reads the reply, all within `limit`; the connection is closed at once
// because the IRMd serves its socket with a single thread.
irmd_probe probe_irmd(const std::string& socket_path, std::chrono::milliseconds limit);

// True when an IRMd speaking `p` can serve a library of release 0.`minor`.
bool protocol_matches(irm_protocol p, int minor) noexcept;

const char* protocol_name(irm_protocol p) noexcept;

} // namespace ouroboros::detail
