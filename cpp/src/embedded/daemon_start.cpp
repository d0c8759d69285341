// daemon_start.cpp - connect to the daemon, or start it and then connect.
#include "daemon_start.hpp"

#include "runtime/deadline.hpp"
#include "runtime/runtime_dir.hpp"

#include <o7s/detail/backend.hpp>

#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#ifndef O7S_IRMD_BUILD_PATH
#define O7S_IRMD_BUILD_PATH ""
#endif
#ifndef O7S_IRMD_INSTALL_PATH
#define O7S_IRMD_INSTALL_PATH ""
#endif

namespace ouroboros::embedded {
namespace {

using runtime::steady;

constexpr int daemon_start_timeout_ms = 10000;
// SO_SNDTIMEO's limit is far beyond this; a day is "no limit" here.
constexpr std::chrono::hours longest_wait{24};
constexpr const char* daemon_name = "o7s-irmd";
// How long a daemon that a library starts stays without use (seconds), when
// OUROBOROS_IDLE_EXIT does not say.
constexpr const char* default_idle_exit = "600";

// OUROBOROS_IDLE_EXIT (seconds, 0: never), checked here so that a bad value
// gets a sentence rather than a daemon that fails to start.
int idle_exit_setting(std::string& out, std::string& why)
{
    const char* env = std::getenv("OUROBOROS_IDLE_EXIT");
    out = env && *env ? env : default_idle_exit;
    char* end = nullptr;
    double s = std::strtod(out.c_str(), &end);
    if (end == out.c_str() || *end != '\0' || !(s >= 0 && s <= 1e9)) {
        why = "OUROBOROS_IDLE_EXIT must be a number of seconds (0: the runtime daemon never "
              "exits by itself), not '" + out + "'";
        return -EINVAL;
    }
    return 0;
}

void set_send_timeout(int fd, std::chrono::nanoseconds t)
{
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(t.count() / 1000000000);
    tv.tv_usec = static_cast<suseconds_t>(t.count() % 1000000000 / 1000);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// Connects to the daemon's socket. A daemon that does not accept (out of
// descriptors, or stopped) lets its listen queue fill up, and connect()
// then waits for room: SO_SNDTIMEO bounds that wait (-ETIMEDOUT at the
// deadline). A signal ends it with -EINTR when detail::interrupted() says
// to give up.
int try_connect(const std::string& path, steady::time_point deadline, runtime::unique_fd& out)
{
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
    for (;;) {
        runtime::unique_fd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
        if (!fd)
            return -errno;
        // At least a millisecond: a zero SO_SNDTIMEO would mean no limit.
        auto left = std::min(runtime::time_left(deadline), std::chrono::nanoseconds(longest_wait));
        set_send_timeout(fd.get(), std::max(left, std::chrono::nanoseconds(1000000)));
        if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) {
            set_send_timeout(fd.get(), std::chrono::nanoseconds(0)); // sends do not wait
            out = std::move(fd);
            return 0;
        }
        int err = errno;
        if (err == EINTR && detail::interrupted())
            return -EINTR;
        if (err != EINTR && err != EAGAIN)
            return -err;
        if (steady::now() >= deadline)
            return -ETIMEDOUT;
    }
}

// Waits for the start lock (another client may be starting the daemon),
// at most until `deadline`. 0 or -errno with `why`.
int lock_start(int lock, steady::time_point deadline, const std::string& dir, std::string& why)
{
    while (::flock(lock, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK && errno != EINTR) {
            why = std::string("cannot lock the start lock of ") + dir + ": " + std::strerror(errno);
            return -errno;
        }
        if (steady::now() >= deadline) {
            why = "another process is starting the runtime daemon of " + dir +
                  " and it did not finish in time";
            return -ETIMEDOUT;
        }
        // Start-up takes milliseconds; flock() itself cannot wait with a limit.
        if (::poll(nullptr, 0, 5) < 0 && errno == EINTR && detail::interrupted()) {
            why = "interrupted while waiting for the runtime daemon to start";
            return -EINTR;
        }
    }
    return 0;
}

bool executable(const std::string& path)
{
    return !path.empty() && ::access(path.c_str(), X_OK) == 0;
}

std::string dirname_of(const std::string& path)
{
    auto slash = path.rfind('/');
    return slash == std::string::npos ? "." : path.substr(0, slash);
}

// Starts the daemon detached (double fork, new session, stdio on
// /dev/null) and waits until it reports ready on a pipe.
int spawn_daemon(const runtime::runtime_paths& paths, steady::time_point deadline,
                 std::string& why)
{
    std::string idle_exit;
    if (int rc = idle_exit_setting(idle_exit, why); rc < 0)
        return rc;
    std::string binary = find_daemon_binary();
    if (binary.empty()) {
        why = "cannot find the runtime daemon executable o7s-irmd (set OUROBOROS_IRMD to its path)";
        return -ENOENT;
    }
    int ready[2];
    if (::pipe2(ready, O_CLOEXEC) != 0) {
        why = std::string("pipe: ") + std::strerror(errno);
        return -errno;
    }
    runtime::unique_fd ready_rd(ready[0]), ready_wr_low(ready[1]);
    runtime::unique_fd devnull_low(::open("/dev/null", O_RDWR | O_CLOEXEC));
    // Keep both above the descriptors the child rearranges (0-3), even in a
    // process that runs with stdin or stdout closed.
    runtime::unique_fd ready_wr(::fcntl(ready_wr_low.get(), F_DUPFD_CLOEXEC, 10));
    runtime::unique_fd devnull(::fcntl(devnull_low.get(), F_DUPFD_CLOEXEC, 10));
    ready_wr_low.reset();
    devnull_low.reset();
    if (!ready_wr || !devnull) {
        why = std::string("cannot prepare descriptors for the daemon: ") + std::strerror(errno);
        return -EMFILE;
    }

    // Everything the child needs is prepared before fork(): after it, only
    // async-signal-safe calls are allowed in a threaded parent.
    std::vector<std::string> args{binary,       "--runtime-dir", paths.dir, "--ready-fd", "3",
                                  "--idle-exit", idle_exit};
    std::vector<char*> argv;
    for (auto& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);

    pid_t child = ::fork();
    if (child < 0) {
        why = std::string("fork: ") + std::strerror(errno);
        return -errno;
    }
    if (child == 0) {
        ::setsid();
        if (::fork() != 0)
            ::_exit(0);
        ::dup2(devnull.get(), 0);
        ::dup2(devnull.get(), 1);
        ::dup2(devnull.get(), 2);
        ::dup2(ready_wr.get(), 3);
        ::syscall(SYS_close_range, 4u, ~0u, 0u);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    ready_wr.reset();
    while (::waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
    }

    const auto ready_by = runtime::deadline_after(std::chrono::milliseconds(daemon_start_timeout_ms));
    std::string answer;
    char buf[512];
    for (;;) {
        pollfd p{ready_rd.get(), POLLIN, 0};
        int rc = ::poll(&p, 1, runtime::poll_timeout_ms(std::min(deadline, ready_by)));
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0) {
            why = steady::now() >= ready_by
                      ? "the runtime daemon did not become ready within 10 s (see " +
                            paths.log + ")"
                      : std::string("the runtime daemon did not become ready in time");
            return -ETIMEDOUT;
        }
        ssize_t n = ::read(ready_rd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        answer.append(buf, static_cast<std::size_t>(n));
    }
    if (answer.rfind("ok", 0) == 0)
        return 0;
    why = answer.empty() ? "the runtime daemon " + binary + " exited during start-up (see " +
                               paths.log + ")"
                         : "the runtime daemon failed to start: " + answer;
    while (!why.empty() && why.back() == '\n')
        why.pop_back();
    return -ECHILD;
}

} // namespace

std::string find_daemon_binary()
{
    if (const char* env = std::getenv("OUROBOROS_IRMD"); env && *env)
        return executable(env) ? env : "";
    std::vector<std::string> candidates;
    Dl_info info{};
    if (::dladdr(reinterpret_cast<void*>(&find_daemon_binary), &info) && info.dli_fname) {
        std::string here = dirname_of(info.dli_fname);
        for (const char* rel : {"/", "/bin/", "/../libexec/", "/../bin/"})
            candidates.push_back(here + rel + daemon_name);
    }
    candidates.emplace_back(O7S_IRMD_BUILD_PATH);
    candidates.emplace_back(O7S_IRMD_INSTALL_PATH);
    for (const auto& c : candidates)
        if (executable(c))
            return c;
    return "";
}

int connect_daemon(const std::string& dir, steady::time_point deadline, runtime::unique_fd& out,
                   std::string& why, bool may_start)
{
    if (int rc = runtime::prepare_runtime_dir(dir, why); rc < 0)
        return rc;
    runtime::runtime_paths paths = runtime::paths_for(dir);
    int rc = try_connect(paths.socket, deadline, out);
    if (rc == 0)
        return 0;
    if (rc == -ETIMEDOUT) {
        why = "the runtime daemon at " + paths.socket + " did not take the connection in time "
              "(its queue of connections is full: it may be out of descriptors or stopped; "
              "see " + paths.log + ")";
        return rc;
    }
    if (rc != -ENOENT && rc != -ECONNREFUSED) {
        why = "cannot connect to the runtime daemon at " + paths.socket + ": " + std::strerror(-rc);
        return rc;
    }
    if (!may_start) {
        why = "no runtime daemon is running in " + dir;
        return -ECONNREFUSED;
    }
    if (const char* no = std::getenv("OUROBOROS_NO_AUTOSTART"); no && *no && std::strcmp(no, "0")) {
        why = "no runtime daemon is running in " + dir + " and OUROBOROS_NO_AUTOSTART is set";
        return -ECONNREFUSED;
    }

    runtime::unique_fd lock(::open(paths.start_lock.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600));
    if (!lock) {
        why = "cannot open " + paths.start_lock + ": " + std::strerror(errno);
        return -errno;
    }
    if (rc = lock_start(lock.get(), deadline, dir, why); rc < 0)
        return rc;
    // Someone may have started it while we waited for the lock.
    if (try_connect(paths.socket, deadline, out) == 0)
        return 0;
    if (rc = spawn_daemon(paths, deadline, why); rc < 0)
        return rc;
    if (rc = try_connect(paths.socket, deadline, out); rc < 0) {
        why = "the runtime daemon started but does not accept connections: " +
              std::string(std::strerror(-rc));
        return rc;
    }
    return 0; // the lock is released when `lock` closes
}

} // namespace ouroboros::embedded
