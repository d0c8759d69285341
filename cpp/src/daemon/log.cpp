// log.cpp - the daemon's capped, rate-limited log (log.hpp).
#include "log.hpp"

#include "runtime/write_all.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <map>

namespace ouroboros::daemon {
namespace {

using clock = std::chrono::steady_clock;

struct site_state {
    clock::time_point window_start{};
    int lines = 0;            // logged in this window
    unsigned long dropped = 0; // in this window
    const char* level = "";
};

struct log_state {
    std::string path; // "" while the log is stderr only
    log_limits limits;
    std::size_t bytes = 0; // in the current file
    std::map<const void*, site_state> sites;
    bool any_dropped = false;
};

log_state& state()
{
    static log_state s;
    return s;
}

// A log that cannot be written loses the line.
void write_line(const std::string& line)
{
    static_cast<void>(runtime::write_all(STDERR_FILENO, line.data(), line.size()));
}

// Points stderr at a fresh `path` (O_APPEND). False when it cannot be opened.
bool open_log(log_state& s)
{
    int fd = ::open(s.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return false;
    struct stat st{};
    s.bytes = ::fstat(fd, &st) == 0 ? static_cast<std::size_t>(st.st_size) : 0;
    ::dup2(fd, STDERR_FILENO);
    ::close(fd);
    return true;
}

void rotate_if_full(log_state& s, std::size_t adding)
{
    if (s.path.empty() || s.bytes + adding <= s.limits.max_bytes || s.bytes == 0)
        return;
    std::string old = s.path + ".1";
    if (::rename(s.path.c_str(), old.c_str()) != 0 || !open_log(s))
        s.bytes = 0; // keep writing where we are rather than lose lines
}

void emit(const char* level, const std::string& text)
{
    log_state& s = state();
    std::time_t now = std::time(nullptr);
    char stamp[32];
    std::tm tm{};
    std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", ::localtime_r(&now, &tm));
    std::string line = std::string(stamp) + " " + level + " " + text + "\n";
    rotate_if_full(s, line.size());
    write_line(line);
    s.bytes += line.size();
}

void report_dropped(const void* site, site_state& st)
{
    if (st.dropped == 0)
        return;
    emit(st.level, "(" + std::to_string(st.dropped) + " more lines like \"" +
                       static_cast<const char*>(site) + "\" were not logged)");
    st.dropped = 0;
}

} // namespace

bool log_to_file(const std::string& path, const log_limits& limits)
{
    log_state& s = state();
    s.limits = limits;
    s.path = path;
    if (open_log(s))
        return true;
    s.path.clear();
    return false;
}

void log_line(const void* site, const char* level, const char* text)
{
    log_state& s = state();
    const auto now = clock::now();
    site_state& st = s.sites[site];
    st.level = level;
    if (now - st.window_start >= s.limits.window) {
        report_dropped(site, st);
        st.window_start = now;
        st.lines = 0;
    }
    if (st.lines >= s.limits.burst) {
        ++st.dropped;
        s.any_dropped = true;
        return;
    }
    ++st.lines;
    emit(level, text);
}

void log_tick()
{
    log_state& s = state();
    if (!s.any_dropped)
        return;
    const auto now = clock::now();
    s.any_dropped = false;
    for (auto& [site, st] : s.sites) {
        if (st.dropped == 0)
            continue;
        if (now - st.window_start >= s.limits.window)
            report_dropped(site, st);
        else
            s.any_dropped = true;
    }
}

} // namespace ouroboros::daemon
