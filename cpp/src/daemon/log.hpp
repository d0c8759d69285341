// log.hpp - the daemon's log: one line per event.
//
// Lines go to stderr, or with log_to_file() to the runtime directory's
// irmd.log, which is capped: beyond its size limit it moves to irmd.log.1
// (replacing the one before) and a fresh file starts, so the log takes at
// most twice the limit. Each call site (each format string) logs at most
// `burst` lines per `window`; what it drops is counted and said in one line
// when the window has passed, so a flood of bad records costs a few lines.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <string>

namespace ouroboros::daemon {

struct log_limits {
    std::size_t max_bytes = 1 << 20;  // of irmd.log before it rotates
    int burst = 20;                   // lines per call site and window
    std::chrono::seconds window{10};
};

// Logs to `path` from now on (and stderr with it, so that what else is
// written there lands in the log too). False when the file cannot be
// opened: the log stays on stderr.
bool log_to_file(const std::string& path, const log_limits& limits = {});

// One line from call site `site` (its format string).
void log_line(const void* site, const char* level, const char* text);

// Says how many lines each call site dropped in windows that have passed.
// The event loop calls it; cheap when nothing was dropped.
void log_tick();

template <class... Args> void log(const char* level, const char* fmt, Args... args)
{
    if constexpr (sizeof...(Args) == 0) {
        log_line(fmt, level, fmt);
    } else {
        char text[1024];
        std::snprintf(text, sizeof text, fmt, args...);
        log_line(fmt, level, text);
    }
}

#define O7S_INFO(...) ::ouroboros::daemon::log("INFO", __VA_ARGS__)
#define O7S_WARN(...) ::ouroboros::daemon::log("WARN", __VA_ARGS__)

} // namespace ouroboros::daemon
