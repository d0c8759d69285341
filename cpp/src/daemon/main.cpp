// main.cpp - o7s-irmd, the embedded runtime daemon.
//
//   o7s-irmd [--runtime-dir DIR] [--ready-fd N] [--foreground] [--log-size BYTES]
//            [--idle-exit SECONDS]
//
// Libraries start it on demand with --ready-fd: it writes "ok" there once
// it accepts connections (or "error: ..." and exits). Run by hand it logs to
// stderr with --foreground, else to DIR/irmd.log, which moves to
// DIR/irmd.log.1 when it reaches --log-size bytes (default 1 MiB). With
// --idle-exit it exits after that many seconds (a decimal) without use (its
// state is saved, so the next daemon goes on from it); by default, and with
// 0, it stays until stopped. Libraries start it with OUROBOROS_IDLE_EXIT's
// value (embedded/daemon_start.cpp).
#include "runtime/runtime_dir.hpp"
#include "log.hpp"
#include "server.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

using namespace ouroboros;

namespace {

void usage()
{
    std::fprintf(stderr, "usage: o7s-irmd [--runtime-dir DIR] [--ready-fd N] [--foreground] "
                         "[--log-size BYTES] [--idle-exit SECONDS]\n");
}

void tell(int ready_fd, const std::string& text)
{
    if (ready_fd < 0)
        return;
    std::string line = text + "\n";
    [[maybe_unused]] ssize_t n = ::write(ready_fd, line.data(), line.size());
    ::close(ready_fd);
}

int fail(int ready_fd, const std::string& why)
{
    std::fprintf(stderr, "o7s-irmd: %s\n", why.c_str());
    tell(ready_fd, "error: " + why);
    return 1;
}

} // namespace

int main(int argc, char** argv)
{
    std::string dir;
    int ready_fd = -1;
    bool foreground = false;
    daemon::log_limits log_limits;
    std::chrono::milliseconds idle_exit{0};
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--runtime-dir" && i + 1 < argc)
            dir = argv[++i];
        else if (a == "--ready-fd" && i + 1 < argc)
            ready_fd = std::atoi(argv[++i]);
        else if (a == "--foreground")
            foreground = true;
        else if (a == "--log-size" && i + 1 < argc && std::atoll(argv[i + 1]) > 0)
            log_limits.max_bytes = static_cast<std::size_t>(std::atoll(argv[++i]));
        else if (a == "--idle-exit" && i + 1 < argc) {
            char* end = nullptr;
            double s = std::strtod(argv[++i], &end);
            if (end == argv[i] || *end != '\0' || !std::isfinite(s) || s < 0 || s > 1e9) {
                std::fprintf(stderr, "o7s-irmd: --idle-exit wants seconds >= 0, not '%s'\n",
                             argv[i]);
                return 2;
            }
            // At least a millisecond: 0 means never.
            long long ms = s > 0 ? std::max(1ll, std::llround(s * 1000)) : 0;
            idle_exit = std::chrono::milliseconds(ms);
        } else {
            usage();
            return 2;
        }
    }
    if (dir.empty())
        dir = runtime::runtime_dir();

    // Whatever the starter had blocked or ignored, we want the defaults.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
    ::umask(077);
    // Each pending flow request holds a connection: thousands of flows
    // allocated at once need thousands of descriptors. Programs we start
    // get the limit we were given back (server_programs.cpp).
    ::getrlimit(RLIMIT_NOFILE, &daemon::inherited_nofile);
    rlimit raised = daemon::inherited_nofile;
    raised.rlim_cur = raised.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &raised);

    std::string why;
    if (runtime::prepare_runtime_dir(dir, why) < 0)
        return fail(ready_fd, why);
    runtime::runtime_paths paths = runtime::paths_for(dir);

    if (!foreground)
        daemon::log_to_file(paths.log, log_limits);

    // One daemon per runtime directory: the pid file stays locked while we
    // live. If another daemon holds it, that one serves; we are not needed.
    runtime::unique_fd pid_lock(::open(paths.pid_lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!pid_lock)
        return fail(ready_fd, "cannot open " + paths.pid_lock + ": " + std::strerror(errno));
    if (::flock(pid_lock.get(), LOCK_EX | LOCK_NB) != 0) {
        O7S_INFO("another daemon serves %s", dir.c_str());
        tell(ready_fd, "ok (already running)");
        return 0;
    }
    std::string pid_text = std::to_string(::getpid()) + "\n";
    if (::ftruncate(pid_lock.get(), 0) != 0 ||
        ::pwrite(pid_lock.get(), pid_text.data(), pid_text.size(), 0) < 0)
        return fail(ready_fd, "cannot write " + paths.pid_lock);

    // The lock makes removing a leftover socket safe.
    ::unlink(paths.socket.c_str());
    runtime::unique_fd listener = daemon::listen_at(paths.socket, why);
    if (!listener)
        return fail(ready_fd, why);

    daemon::server srv(std::move(listener), paths.socket, dir, idle_exit);
    srv.restore_state();
    tell(ready_fd, "ok");
    int status = srv.run();

    // Still holding the lock: nobody else can have created these meanwhile.
    ::unlink(paths.socket.c_str());
    ::unlink(paths.pid_lock.c_str());
    // After an idle exit the server holds the start lock until it is
    // destroyed, so the client waiting for it starts the next daemon only
    // once this one's pid lock is free.
    pid_lock.reset();
    return status;
}
