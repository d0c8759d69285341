// irm.cpp - the IRM API over the active backend.
#include <o7s/detail/backend.hpp>
#include <o7s/error.hpp>
#include <o7s/irm.hpp>

#include "runtime/names.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>

namespace ouroboros::irm {
namespace {

detail::irm_backend& be()
{
    return detail::active_backend().irm();
}

void check(int rc, const std::string& what)
{
    if (rc >= 0)
        return;
    std::string detail = detail::take_error_detail();
    throw error(-rc, detail.empty() ? what : what + ": " + detail);
}

std::string quoted(const std::string& s)
{
    return "'" + runtime::printable(s) + "'";
}

// Names are checked here, before either backend sees them, against what
// the real Ouroboros can hold (runtime/names.hpp): the daemon checks them
// again, for clients that speak its protocol directly.
void check_name(const std::string& name, const std::string& what, const char* kind = "name")
{
    std::string why;
    if (int rc = runtime::check_name(name, why, kind); rc < 0)
        throw error(-rc, what + ": " + why);
}

// A name, or "" for "every name" (the unbind calls).
void check_name_or_all(const std::string& name, const std::string& what)
{
    if (!name.empty())
        check_name(name, what);
}

bool is_file(const std::string& path, int mode)
{
    struct stat st{};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), mode) == 0;
}

// The absolute path of a program: a name without '/' is looked up in
// $PATH (like execvp, and without touching the environment, unlike
// Ouroboros' irm_bind_program), anything else is taken relative to the
// working directory. Symlinks are resolved unless `keep_links` (a Python
// venv's interpreter is a symlink that must stay one). Returns "" with
// errno_out set when not found.
std::string resolve_program(const std::string& program, int& errno_out, bool keep_links = false)
{
    std::string found = program;
    if (program.find('/') == std::string::npos) {
        found.clear();
        const char* env = std::getenv("PATH");
        std::string path = env ? env : "/usr/local/bin:/usr/bin:/bin";
        std::size_t start = 0;
        while (start <= path.size() && found.empty()) {
            std::size_t end = path.find(':', start);
            if (end == std::string::npos)
                end = path.size();
            std::string dir = path.substr(start, end - start);
            std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
            if (is_file(candidate, X_OK))
                found = candidate;
            start = end + 1;
        }
        if (found.empty()) {
            errno_out = ENOENT;
            return {};
        }
    }
    char buf[PATH_MAX];
    if (::realpath(found.c_str(), buf) == nullptr) {
        errno_out = errno;
        return {};
    }
    if (!keep_links)
        return buf;
    if (found[0] == '/')
        return found;
    if (::getcwd(buf, sizeof buf) == nullptr) {
        errno_out = errno;
        return {};
    }
    return std::string(buf) + "/" + found;
}

} // namespace

pid_t create_ipcp(const std::string& name, ipcp_type type)
{
    pid_t pid = -1;
    check_name(name, "creating IPCP", "IPCP name");
    check(be().create_ipcp(name, type, pid), "creating IPCP " + quoted(name));
    return pid;
}

void destroy_ipcp(pid_t pid)
{
    check(be().destroy_ipcp(pid), "destroying IPCP " + std::to_string(pid));
}

std::vector<ipcp_info> list_ipcps()
{
    std::vector<ipcp_info> out;
    check(be().list_ipcps(out), "listing IPCPs");
    return out;
}

void bootstrap_ipcp(pid_t pid, const ipcp_config& conf)
{
    check_name(conf.layer, "bootstrapping IPCP " + std::to_string(pid), "layer name");
    check(be().bootstrap_ipcp(pid, conf),
          "bootstrapping IPCP " + std::to_string(pid) + " into layer " + quoted(conf.layer));
}

void enroll_ipcp(pid_t pid, const std::string& dst)
{
    check(be().enroll_ipcp(pid, dst), "enrolling IPCP " + std::to_string(pid) + " with " + quoted(dst));
}

void connect_ipcp(pid_t pid, const std::string& dst, const std::string& component,
                  const qos_spec& qos)
{
    check(be().connect_ipcp(pid, dst, component, qos),
          "connecting IPCP " + std::to_string(pid) + " to " + quoted(dst));
}

void disconnect_ipcp(pid_t pid, const std::string& dst, const std::string& component)
{
    check(be().disconnect_ipcp(pid, dst, component),
          "disconnecting IPCP " + std::to_string(pid) + " from " + quoted(dst));
}

// A path or argument handed to exec: C strings there, so a NUL would cut
// it short and another program (or argument) would run.
void check_no_nul(const std::string& s, const std::string& what, const char* kind)
{
    if (s.find('\0') != std::string::npos)
        throw error(EINVAL, what + ": the " + std::string(kind) + " cannot contain a NUL character");
}

void bind_program(const std::string& program, const std::string& name, std::uint16_t opts,
                  const std::vector<std::string>& argv, const std::string& interpreter)
{
    const std::string what = "binding program " + quoted(program) + " to name " + quoted(name);
    check_name(name, what);
    check_no_nul(program, what, "program path");
    check_no_nul(interpreter, what, "interpreter path");
    for (const std::string& arg : argv)
        check_no_nul(arg, what, "program argument");
    auto resolved = [&what](const std::string& p, bool keep_links = false) {
        int err = 0;
        std::string path = resolve_program(p, err, keep_links);
        if (path.empty())
            throw error(err, what + ": " + quoted(p) + ": " +
                                 (p.find('/') == std::string::npos
                                      ? "no executable of that name in $PATH"
                                      : ouroboros::strerror(err)));
        return path;
    };
    if (interpreter.empty()) {
        check(be().bind_program(resolved(program), name, opts, argv), what);
        return;
    }
    // A script need not be executable, so it is not looked up in $PATH.
    std::string path = program.find('/') == std::string::npos ? "./" + program : program;
    check(be().bind_script(resolved(path), name, opts, argv, resolved(interpreter, true)), what);
}

void unbind_program(const std::string& program, const std::string& name)
{
    // A program deleted since it was bound can still be unbound by its path.
    check_name_or_all(name, "unbinding program " + quoted(program));
    int err = 0;
    std::string path = resolve_program(program, err);
    check(be().unbind_program(path.empty() ? program : path, name),
          "unbinding program " + quoted(program) +
              (name.empty() ? std::string(" from every name") : " from name " + quoted(name)));
}

void bind_process(pid_t pid, const std::string& name)
{
    check_name(name, "binding process " + std::to_string(pid));
    check(be().bind_process(pid, name),
          "binding process " + std::to_string(pid) + " to name " + quoted(name));
}

void unbind_process(pid_t pid, const std::string& name)
{
    check_name_or_all(name, "unbinding process " + std::to_string(pid));
    check(be().unbind_process(pid, name),
          "unbinding process " + std::to_string(pid) +
              (name.empty() ? std::string(" from every name") : " from name " + quoted(name)));
}

void create_name(const name_info& info)
{
    const std::string what = "creating name " + quoted(info.name);
    check_name(info.name, "creating a name");
    for (const auto* sec : {&info.server_sec, &info.client_sec})
        for (const auto& [path, kind] : {std::pair{&sec->enc, "an encryption path"},
                                         std::pair{&sec->key, "a key path"},
                                         std::pair{&sec->crt, "a certificate path"}}) {
            std::string why;
            if (int rc = runtime::check_name_path(*path, why, kind); rc < 0)
                throw error(-rc, what + ": " + why);
        }
    check(be().create_name(info), what);
}

void destroy_name(const std::string& name)
{
    check_name(name, "destroying a name");
    check(be().destroy_name(name), "destroying name " + quoted(name));
}

std::vector<name_info> list_names()
{
    std::vector<name_info> out;
    check(be().list_names(out), "listing names");
    return out;
}

void reg_name(const std::string& name, pid_t ipcp_pid)
{
    check_name(name, "registering a name");
    check(be().reg_name(name, ipcp_pid),
          "registering name " + quoted(name) + " with IPCP " + std::to_string(ipcp_pid));
}

void unreg_name(const std::string& name, pid_t ipcp_pid)
{
    check_name(name, "unregistering a name");
    check(be().unreg_name(name, ipcp_pid),
          "unregistering name " + quoted(name) + " from IPCP " + std::to_string(ipcp_pid));
}

std::vector<name_bindings> list_bindings()
{
    std::vector<name_bindings> out;
    check(be().list_bindings(out), "listing bindings");
    return out;
}

} // namespace ouroboros::irm
