// daemon_start.cpp - connect to the daemon, or start it and then connect.
#include "daemon_start.hpp"

#include "runtime/runtime_dir.hpp"

#include <o7s/detail/backend.hpp>

#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

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

constexpr int daemon_start_timeout_ms = 10000;
constexpr const char* daemon_name = "o7s-irmd";

int try_connect(const std::string& path, runtime::unique_fd& out)
{
    runtime::unique_fd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    if (!fd)
        return -errno;
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
    while (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
        if (errno != EINTR)
            return -errno;
    }
    out = std::move(fd);
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
int spawn_daemon(const runtime::runtime_paths& paths, std::string& why)
{
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
    std::vector<std::string> args{binary, "--runtime-dir", paths.dir, "--ready-fd", "3"};
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

    std::string answer;
    char buf[512];
    for (;;) {
        pollfd p{ready_rd.get(), POLLIN, 0};
        int rc = ::poll(&p, 1, daemon_start_timeout_ms);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0) {
            why = "the runtime daemon did not become ready within 10 s";
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

int connect_daemon(const std::string& dir, runtime::unique_fd& out, std::string& why)
{
    if (int rc = runtime::prepare_runtime_dir(dir, why); rc < 0)
        return rc;
    runtime::runtime_paths paths = runtime::paths_for(dir);
    int rc = try_connect(paths.socket, out);
    if (rc == 0)
        return 0;
    if (rc != -ENOENT && rc != -ECONNREFUSED) {
        why = "cannot connect to the runtime daemon at " + paths.socket + ": " + std::strerror(-rc);
        return rc;
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
    while (::flock(lock.get(), LOCK_EX) != 0) {
        if (errno != EINTR || detail::interrupted()) {
            why = "interrupted while waiting for the runtime daemon to start";
            return -EINTR;
        }
    }
    // Someone may have started it while we waited for the lock.
    if (try_connect(paths.socket, out) == 0)
        return 0;
    if (rc = spawn_daemon(paths, why); rc < 0)
        return rc;
    if (rc = try_connect(paths.socket, out); rc < 0) {
        why = "the runtime daemon started but does not accept connections: " +
              std::string(std::strerror(-rc));
        return rc;
    }
    return 0; // the lock is released when `lock` closes
}

} // namespace ouroboros::embedded
