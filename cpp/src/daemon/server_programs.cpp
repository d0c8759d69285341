// server_programs.cpp - program bindings: binding the processes that run a
// bound program, and starting auto-start programs for allocations.
//
// A started program is a child of the daemon in its own session, with
// stdin on /dev/null and stdout/stderr appended to prog-<name>.log in the
// runtime directory. It inherits no descriptor of the daemon, runs in "/"
// (like a program the IRMd service starts) and finds this runtime through
// OUROBOROS_RUNTIME_DIR. It gets SIGTERM when the daemon exits.
#include "server.hpp"

#include "epoll_tags.hpp"
#include "log.hpp"
#include "process_info.hpp"
#include "runtime/deadline.hpp"

#include <o7s/error.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

extern char** environ;

namespace ouroboros::daemon {
namespace {

constexpr int exec_report_timeout_ms = 5000;
constexpr int stop_children_timeout_ms = 2000;

int pidfd_open(pid_t pid)
{
    return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

int pidfd_send_signal(int pidfd, int sig)
{
    return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

std::string basename_of(const std::string& path)
{
    return path.substr(path.rfind('/') + 1);
}

// The daemon's environment, with the variables that make the child use
// this runtime.
std::vector<std::string> child_environment(const std::string& runtime_dir)
{
    std::vector<std::string> env;
    for (char** e = environ; e && *e; ++e) {
        std::string var = *e;
        if (var.rfind("OUROBOROS_RUNTIME_DIR=", 0) == 0 || var.rfind("OUROBOROS_BACKEND=", 0) == 0)
            continue;
        env.push_back(std::move(var));
    }
    env.push_back("OUROBOROS_RUNTIME_DIR=" + runtime_dir);
    env.push_back("OUROBOROS_BACKEND=embedded");
    return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings)
{
    std::vector<char*> out;
    for (auto& s : strings)
        out.push_back(s.data());
    out.push_back(nullptr);
    return out;
}

// What keeps the script at `path` from starting through its #! line, or
// "": the interpreter it names is missing or not executable, or it runs
// `env NAME` and NAME is not in the daemon's PATH (the child inherits it).
std::string shebang_problem(const std::string& path)
{
    std::ifstream in(path);
    std::string line;
    if (!std::getline(in, line) || line.rfind("#!", 0) != 0)
        return "";
    std::istringstream words(line.substr(2));
    std::string interpreter, arg;
    if (!(words >> interpreter))
        return "its #! line names no interpreter";
    if (::access(interpreter.c_str(), F_OK) != 0)
        return "its #! interpreter " + interpreter + " does not exist";
    if (::access(interpreter.c_str(), X_OK) != 0)
        return "its #! interpreter " + interpreter + " is not executable";
    if (basename_of(interpreter) != "env")
        return "";
    while (words >> arg && arg[0] == '-') // env's options, e.g. -S
        arg.clear();
    if (arg.empty() || arg.find('=') != std::string::npos || arg.find('/') != std::string::npos)
        return "";
    const char* dirs = std::getenv("PATH");
    std::istringstream path_dirs(dirs ? dirs : "");
    for (std::string dir; std::getline(path_dirs, dir, ':');)
        if (!dir.empty() && ::access((dir + "/" + arg).c_str(), X_OK) == 0)
            return "";
    return "its #! line asks env for " + arg + ", which is not in the runtime daemon's PATH";
}

std::string describe_status(int status)
{
    if (WIFEXITED(status))
        return "exited with status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status))
        return "was killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
               ::strsignal(WTERMSIG(status)) + ")";
    return "ended";
}

// Runs in the child between fork() and exec(): only async-signal-safe
// calls. Reports an exec failure's errno on `report` (fd 3).
[[noreturn]] void exec_child(int devnull, int log, int report, char** argv, char** envp,
                             pid_t parent)
{
    ::setsid();
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) // the daemon died before prctl()
        ::_exit(127);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL); // the daemon ignores it; exec keeps ignored signals ignored
    ::setrlimit(RLIMIT_NOFILE, &inherited_nofile);
    ::dup2(devnull, 0);
    ::dup2(log, 1);
    ::dup2(log, 2);
    ::dup2(report, 3);
    ::fcntl(3, F_SETFD, FD_CLOEXEC);
    ::syscall(SYS_close_range, 4u, ~0u, 0u);
    [[maybe_unused]] int rc = ::chdir("/");
    ::execve(argv[0], argv, envp);
    int err = errno;
    [[maybe_unused]] ssize_t n = ::write(3, &err, sizeof err);
    ::_exit(127);
}

// Waits for the child's exec: 0, or the errno it reported.
int exec_result(int report)
{
    pollfd p{report, POLLIN, 0};
    int err = 0;
    while (::poll(&p, 1, exec_report_timeout_ms) < 0 && errno == EINTR) {
    }
    ssize_t n = ::read(report, &err, sizeof err);
    return n == static_cast<ssize_t>(sizeof err) ? err : 0;
}

} // namespace

void server::announce(pid_t pid)
{
    process_identity id;
    bool identified = false;
    for (const auto& [name, n] : registry_.names())
        for (const auto& prog : n.programs) {
            if (!identified) {
                id = identify(pid);
                identified = true;
            }
            if (!runs(id, prog.path) || registry_.serves(pid, name))
                continue;
            std::string why;
            if (watch_process(pid, why) < 0) {
                O7S_WARN("process %d runs %s but cannot be bound: %s", static_cast<int>(pid),
                         prog.path.c_str(), why.c_str());
                return;
            }
            // Inserting into a name's bindings leaves the map of names as it is.
            if (registry_.bind_process(pid, name, why, prog.path) == 0)
                O7S_INFO("process %d runs %s: bound to '%s'", static_cast<int>(pid),
                         prog.path.c_str(), name.c_str());
        }
}

bool server::autostart(pending_alloc& a)
{
    const program_binding* prog = registry_.auto_program(a.name);
    if (prog == nullptr)
        return true;
    if (a.started != 0) {
        auto it = children_.find(a.started);
        if (it != children_.end() && !it->second.accepted)
            return true; // still starting
        a.started = 0;
    }
    // An instance that has not asked for a flow yet will take this one too.
    for (const auto& [pid, ch] : children_)
        if (ch.name == a.name && !ch.accepted) {
            a.started = pid;
            return true;
        }
    // Processes bound to the name may be busy with a flow: give them the
    // grace period to accept before starting another instance.
    std::vector<pid_t> servers;
    std::string why;
    registry_.servers_for(a.name, servers, why);
    if (!servers.empty() && clock::now() < a.start_at)
        return true;
    pid_t pid = 0;
    if (int rc = start_program(a.name, *prog, pid, why); rc < 0) {
        fail_alloc(a, -rc, why);
        return false;
    }
    a.started = pid;
    return true;
}

int server::start_program(const std::string& name, const program_binding& prog, pid_t& pid,
                          std::string& why)
{
    std::vector<std::string> args;
    if (!prog.interpreter.empty())
        args.push_back(prog.interpreter);
    args.push_back(prog.path);
    args.insert(args.end(), prog.argv.begin(), prog.argv.end());
    std::vector<std::string> env = child_environment(runtime_dir_);
    std::vector<char*> argv = pointers(args);
    std::vector<char*> envp = pointers(env);

    std::string log_path = runtime_dir_ + "/prog-" + basename_of(prog.path) + ".log";
    runtime::unique_fd log(
        ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
    runtime::unique_fd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
    int report[2];
    if (!log || !devnull || ::pipe2(report, O_CLOEXEC) != 0) {
        int err = errno;
        why = "cannot prepare to start " + prog.path; // the error adds strerror(err)
        return -err;
    }
    runtime::unique_fd report_rd(report[0]), report_wr(report[1]);

    std::string header = "--- starting";
    for (const auto& a : args)
        header += " " + a;
    header += " for '" + name + "'\n";
    [[maybe_unused]] ssize_t n = ::write(log.get(), header.data(), header.size());

    pid_t parent = ::getpid();
    pid_t child_pid = ::fork();
    if (child_pid < 0) {
        int err = errno;
        why = "cannot start " + prog.path + ": fork failed";
        return -err;
    }
    if (child_pid == 0)
        exec_child(devnull.get(), log.get(), report_wr.get(), argv.data(), envp.data(), parent);
    report_wr.reset();

    // A zombie until we reap it, so the pidfd refers to our child.
    runtime::unique_fd pidfd(pidfd_open(child_pid));
    if (int err = exec_result(report_rd.get()); err != 0) {
        ::waitpid(child_pid, nullptr, 0);
        // Name what is missing; the error message adds strerror(err).
        std::string problem;
        if (prog.interpreter.empty())
            problem = shebang_problem(prog.path);
        else if (::access(prog.interpreter.c_str(), X_OK) != 0)
            problem = "its interpreter " + prog.interpreter + " cannot be run";
        why = "cannot start " + prog.path + (problem.empty() ? "" : ": " + problem);
        return -err;
    }
    epoll_watch(epoll_.get(), pidfd.get(), tag(tag_kind::child, static_cast<std::uint64_t>(child_pid)));
    child ch;
    ch.pid = child_pid;
    ch.name = name;
    ch.program = prog.path;
    ch.log = log_path;
    ch.shebang = prog.interpreter.empty();
    ch.pidfd = std::move(pidfd);
    children_.emplace(child_pid, std::move(ch));

    // The daemon knows what it started: bind it now, not only when it
    // connects (its command line may not show the program).
    if (watch_process(child_pid, why) == 0)
        registry_.bind_process(child_pid, name, why, prog.path);
    O7S_INFO("started %s as pid %d for '%s' (output in %s)", prog.path.c_str(),
             static_cast<int>(child_pid), name.c_str(), log_path.c_str());
    pid = child_pid;
    return 0;
}

void server::on_child_exit(pid_t pid)
{
    auto it = children_.find(pid);
    if (it == children_.end())
        return;
    child ch = std::move(it->second);
    children_.erase(it);
    epoll_unwatch(epoll_.get(), ch.pidfd.get());
    int status = 0;
    ::waitpid(pid, &status, WNOHANG);
    std::string how = describe_status(status);
    // 127: what a shell or env exits with when the command is missing.
    std::string problem = ch.shebang && WIFEXITED(status) && WEXITSTATUS(status) == 127
                              ? shebang_problem(ch.program)
                              : "";
    O7S_INFO("program %s (pid %d) %s", ch.program.c_str(), static_cast<int>(pid), how.c_str());

    // Allocations waiting for an instance that died before it ever asked
    // for a flow fail: starting it again would likely fail the same way.
    for (auto a = allocs_.begin(); a != allocs_.end();) {
        if (a->started != pid) {
            ++a;
            continue;
        }
        if (ch.accepted) {
            a->started = 0;
            ++a;
            continue;
        }
        fail_alloc(*a, ECHILD,
                   "program " + ch.program + " (pid " + std::to_string(pid) +
                       "), started for '" + ch.name + "', " + how +
                       " before accepting the flow (" + (problem.empty() ? "" : problem + "; ") +
                       "its output is in " + ch.log + ")");
        a = allocs_.erase(a);
    }
    on_process_exit(pid);
}

void server::stop_children()
{
    if (children_.empty())
        return;
    std::vector<pollfd> fds;
    for (auto& [pid, ch] : children_) {
        pidfd_send_signal(ch.pidfd.get(), SIGTERM);
        fds.push_back(pollfd{ch.pidfd.get(), POLLIN, 0});
    }
    auto deadline = runtime::deadline_after(std::chrono::milliseconds(stop_children_timeout_ms));
    for (auto& p : fds) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
        int ms = left.count() > 0 ? static_cast<int>(left.count()) : 0;
        if (::poll(&p, 1, ms) <= 0)
            break; // time is up for the rest too
    }
    for (auto& [pid, ch] : children_) {
        pidfd_send_signal(ch.pidfd.get(), SIGKILL);
        ::waitpid(pid, nullptr, 0);
    }
    children_.clear();
}

} // namespace ouroboros::daemon
