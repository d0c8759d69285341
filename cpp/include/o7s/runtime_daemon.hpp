// o7s/runtime_daemon.hpp - the embedded runtime's daemon (o7s-irmd): is one
// running, what it serves, and stopping it.
//
// A library starts the daemon on first use, in the runtime directory
// ($OUROBOROS_RUNTIME_DIR, else $XDG_RUNTIME_DIR/ouroboros-embedded, ...). It
// exits by itself after $OUROBOROS_IDLE_EXIT seconds without use (default
// 600; 0: never), its state saved, so the next use starts it again with
// the same IPCPs, names and bindings. These calls look at this process'
// runtime directory whatever backend is active, and never start a daemon.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace ouroboros {

struct runtime_daemon_status {
    std::string runtime_dir;
    bool running = false;
    int pid = 0;
    // A daemon that runs but cannot tell more (another protocol version, or
    // it does not answer): what is wrong and what to do; the fields below
    // are then unknown (zero).
    std::string problem;
    std::string version; // of pyOuroboros, that built the daemon
    int protocol = 0;    // the control protocol it speaks
    std::chrono::milliseconds uptime{0};
    std::uint32_t processes = 0; // connected or bound (not counting this call)
    std::uint32_t ipcps = 0;
    std::uint32_t names = 0;
    std::uint32_t bound_processes = 0;
    std::uint32_t bound_programs = 0;
    std::uint32_t flows = 0;    // unicast flows it granted that are still open
    std::uint32_t members = 0;  // broadcast members
    std::uint32_t pending = 0;  // flow requests waiting for their answer
    std::uint32_t children = 0; // programs it started (bind_auto) that still run
    std::chrono::milliseconds idle_exit{0}; // it exits after this long unused; 0: never
};

// The daemon of this process' runtime directory. Throws ouroboros::error
// when the runtime directory cannot be used.
runtime_daemon_status runtime_daemon();

// Stops that daemon (the programs it started get SIGTERM) and waits up to
// `timeout` until it has exited. Returns false when none was running.
// Throws ouroboros::error (ETIMEDOUT) when it did not exit in time.
bool stop_runtime_daemon(std::chrono::milliseconds timeout = std::chrono::seconds(10));

} // namespace ouroboros
