// flow_socket.hpp - sizing the SOCK_SEQPACKET sockets that carry a flow's
// SDUs, for the daemon that makes them and the library that uses them.
#pragma once

#include <cstddef>

namespace ouroboros::runtime {

// The largest SDU we offer; the kernel's socket buffer limit may lower it.
inline constexpr std::size_t max_sdu_wanted = 1u << 20;

// The largest SDU that fits a socket record on this machine (the kernel
// refuses records larger than the socket's send buffer).
std::size_t max_sdu() noexcept;

// Configures a flow socket (send buffer size) for SDUs of max_sdu_wanted.
void tune_socket(int sock) noexcept;

} // namespace ouroboros::runtime
