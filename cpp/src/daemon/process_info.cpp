// process_info.cpp - reading /proc/PID.
#include "process_info.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <fstream>
#include <iterator>

namespace ouroboros::daemon {
namespace {

std::string proc_path(pid_t pid, const char* entry)
{
    return "/proc/" + std::to_string(pid) + "/" + entry;
}

} // namespace

std::string real_path(const std::string& path)
{
    char buf[PATH_MAX];
    if (::realpath(path.c_str(), buf) == nullptr)
        return {};
    return buf;
}

std::vector<std::string> command_line(pid_t pid)
{
    std::ifstream in(proc_path(pid, "cmdline"), std::ios::binary);
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::string> args;
    std::size_t start = 0;
    while (start < all.size()) {
        std::size_t end = all.find('\0', start);
        if (end == std::string::npos)
            end = all.size();
        args.push_back(all.substr(start, end - start));
        start = end + 1;
    }
    return args;
}

std::string working_directory(pid_t pid)
{
    return real_path(proc_path(pid, "cwd"));
}

process_identity identify(pid_t pid)
{
    process_identity id;
    id.exe = real_path(proc_path(pid, "exe"));
    std::vector<std::string> args = command_line(pid);
    for (std::size_t i = 1; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a.empty() || a[0] == '-')
            continue;
        // Relative to the process's own working directory, which
        // /proc/PID/cwd reaches whatever it is.
        std::string path = a[0] == '/' ? a : proc_path(pid, "cwd") + "/" + a;
        struct stat st{};
        if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode))
            id.script = real_path(path);
        break;
    }
    return id;
}

bool runs(const process_identity& id, const std::string& path)
{
    return !path.empty() && (id.exe == path || id.script == path);
}

std::uint64_t start_time(pid_t pid)
{
    std::ifstream in(proc_path(pid, "stat"));
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // "pid (comm) state ppid ...": comm may hold anything, so count the
    // fields after its last ')'. starttime is field 22; state is field 3.
    auto close = all.rfind(')');
    if (close == std::string::npos)
        return 0;
    std::size_t pos = close + 1;
    for (int field = 3; field <= 22; ++field) {
        pos = all.find_first_not_of(' ', pos);
        if (pos == std::string::npos)
            return 0;
        std::size_t end = all.find(' ', pos);
        if (field == 22)
            return std::strtoull(all.substr(pos, end - pos).c_str(), nullptr, 10);
        pos = end;
    }
    return 0;
}

bool same_user(pid_t pid)
{
    struct stat st{};
    return ::stat(proc_path(pid, "").c_str(), &st) == 0 && st.st_uid == ::geteuid();
}

} // namespace ouroboros::daemon
