// daemon_process.cpp - the daemon's pid, its exit, and replacing a daemon of
// another protocol version.
#include "daemon_process.hpp"

#include "runtime/deadline.hpp"
#include "runtime/runtime_dir.hpp"
#include "runtime/unique_fd.hpp"

#include <o7s/detail/services.hpp>
#include <o7s/error.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

namespace ouroboros::embedded {
namespace {

using runtime::steady;

// How long the old daemon may take to close the connection that found it
// out (it does so right after its reply), and to exit once asked.
constexpr std::chrono::milliseconds settle_wait{500};
constexpr std::chrono::seconds exit_wait{5};

// Connections to the Unix socket at `path` that its listener accepted
// (/proc/net/unix lists them with the listener's path), -1 when unknown.
int connections_to(const std::string& path)
{
    std::ifstream f("/proc/net/unix");
    if (!f)
        return -1;
    std::string line;
    std::getline(f, line); // the header
    int n = 0;
    while (std::getline(f, line)) {
        // Num RefCount Protocol Flags Type St Inode Path
        std::istringstream fields(line);
        std::string num, refs, proto, flags, type, st, inode, where;
        if (!(fields >> num >> refs >> proto >> flags >> type >> st >> inode >> where) ||
            where != path)
            continue;
        // __SO_ACCEPTCON (0x10000) marks the listener itself.
        if ((std::stoul(flags, nullptr, 16) & 0x10000u) == 0)
            ++n;
    }
    return n;
}

} // namespace

int daemon_pid_in_file(const std::string& dir)
{
    std::ifstream f(runtime::paths_for(dir).pid_lock);
    long pid = 0;
    return f >> pid && pid > 0 ? static_cast<int>(pid) : 0;
}

bool runs_daemon(int pid)
{
    std::ifstream f("/proc/" + std::to_string(pid) + "/comm");
    std::string comm;
    return std::getline(f, comm) && comm == "o7s-irmd";
}

bool wait_exit(int pid, std::chrono::milliseconds timeout)
{
    runtime::unique_fd fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (!fd)
        return errno == ESRCH;
    const auto deadline = runtime::deadline_after(timeout);
    for (;;) {
        pollfd p{fd.get(), POLLIN, 0};
        int rc = ::poll(&p, 1, runtime::poll_timeout_ms(deadline));
        if (rc > 0)
            return true;
        if (rc == 0 && steady::now() >= deadline)
            return false;
        if (rc < 0 && errno == EINTR && detail::interrupted())
            throw error(EINTR, "interrupted while waiting for the runtime daemon to exit");
    }
}

std::string other_version_message(const std::string& dir, const std::string& answered)
{
    int pid = daemon_pid_in_file(dir);
    std::string which = pid > 0 ? "pid " + std::to_string(pid)
                                : "its pid is in " + runtime::paths_for(dir).pid_lock;
    return "the runtime daemon in " + dir + " (" + which + ") belongs to another version of "
           "pyOuroboros: it answered in " + answered + "; stop it with `o7s-irm runtime "
           "stop` (or kill that pid) so that this version starts its own, which takes over "
           "its saved IPCPs, names and bindings; or set OUROBOROS_RUNTIME_DIR to another "
           "directory";
}

int replace_other_version(const std::string& dir, const std::string& answered, std::string& why)
{
    const std::string message = other_version_message(dir, answered);
    const int pid = daemon_pid_in_file(dir);
    if (pid <= 0 || !runs_daemon(pid)) {
        why = message;
        return -ESRCH;
    }
    const std::string socket = runtime::paths_for(dir).socket;
    int users = connections_to(socket);
    // Ours closed already; the old daemon closes its end right after its
    // reply, which may not have happened yet.
    const auto settled_by = runtime::deadline_after(settle_wait);
    while (users > 0 && steady::now() < settled_by) {
        ::poll(nullptr, 0, 5);
        users = connections_to(socket);
    }
    if (users != 0) {
        why = message + " (it was left running: " +
              (users < 0 ? std::string("cannot tell whether processes use it")
                         : std::to_string(users) + (users == 1 ? " connection to it is open"
                                                                : " connections to it are open")) +
              ")";
        return -EBUSY;
    }
    if (::kill(pid, SIGTERM) != 0 || !wait_exit(pid, exit_wait)) {
        why = message + " (it did not stop when asked to)";
        return -EBUSY;
    }
    return 0;
}

} // namespace ouroboros::embedded
