// log.hpp - one line per event on stderr, which the daemon points at its
// log file.
#pragma once

#include <cstdio>
#include <ctime>

namespace ouroboros::daemon {

template <class... Args> void log(const char* level, const char* fmt, Args... args)
{
    std::time_t now = std::time(nullptr);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", std::localtime(&now));
    std::fprintf(stderr, "%s %s ", stamp, level);
    if constexpr (sizeof...(Args) == 0)
        std::fputs(fmt, stderr);
    else
        std::fprintf(stderr, fmt, args...);
    std::fputc('\n', stderr);
    std::fflush(stderr);
}

#define O7S_INFO(...) ::ouroboros::daemon::log("INFO", __VA_ARGS__)
#define O7S_WARN(...) ::ouroboros::daemon::log("WARN", __VA_ARGS__)

} // namespace ouroboros::daemon
