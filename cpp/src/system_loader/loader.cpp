// loader.cpp - finds, vets and loads the system backend plugin.
//
// Loading the plugin loads libouroboros-dev, whose constructor announces
// the process to the IRMd and calls exit() when anything goes wrong. So
// before dlopen() this file checks, without the library, everything that
// constructor needs: an IRMd that answers and speaks the protocol of the
// release the plugin was built for, a program name, and FUSE where the
// library mounts a file system.
#include "loader.hpp"

#ifndef O7S_SYSTEM_PLUGIN_FILE

namespace ouroboros::detail {

std::unique_ptr<backend> load_system_backend(std::string& why)
{
    why = "this build of pyOuroboros has no system backend (a wheel never has one, and a "
          "build from source has one only where pkg-config finds Ouroboros); to get it, "
          "build pyOuroboros from its sdist where Ouroboros is installed: "
          "pip install --no-binary pyouroboros pyouroboros";
    return nullptr;
}

} // namespace ouroboros::detail

#else

#include "plugin_abi.hpp"
#include "probe.hpp"

#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

namespace ouroboros::detail {
namespace {

constexpr auto probe_limit = std::chrono::seconds(2);

// argv as the C library hands it to load-time constructors: what
// libouroboros-dev's constructor will name the process by.
int saved_argc = -1;
char** saved_argv = nullptr;

void save_args(int argc, char** argv, char**)
{
    saved_argc = argc;
    saved_argv = argv;
}

__attribute__((section(".init_array"), used)) void (*save_args_at_load)(int, char**, char**) =
    save_args;

// The first two arguments of the process; whether each is present.
void program_args(std::string& arg0, bool& has0, std::string& arg1, bool& has1)
{
    has0 = has1 = false;
    if (saved_argv != nullptr && saved_argc >= 0) {
        if ((has0 = saved_argc > 0 && saved_argv[0] != nullptr))
            arg0 = saved_argv[0];
        if ((has1 = has0 && saved_argc > 1 && saved_argv[1] != nullptr))
            arg1 = saved_argv[1];
        return;
    }
    std::ifstream in("/proc/self/cmdline", std::ios::binary);
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::size_t end0 = all.find('\0');
    if ((has0 = end0 != std::string::npos)) {
        arg0 = all.substr(0, end0);
        std::size_t end1 = all.find('\0', end0 + 1);
        if ((has1 = end1 != std::string::npos))
            arg1 = all.substr(end0 + 1, end1 - end0 - 1);
    }
}

std::string base_name(const std::string& path)
{
    std::size_t slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Why libouroboros-dev's constructor would find no program name: it takes
// argv[1] when argv[0] is called python, python2 or python3.
std::string program_name_problem()
{
    std::string arg0, arg1;
    bool has0 = false, has1 = false;
    program_args(arg0, has0, arg1, has1);
    if (!has0)
        return "libouroboros-dev would end this process: it names a process by argv[0], and "
               "this one has none";
    const std::string base = base_name(arg0);
    if ((base == "python" || base == "python2" || base == "python3") && !has1)
        return "libouroboros-dev would end this process: when the interpreter is called '" +
               base + "' it names the process by its script (argv[1]), and this one has none "
               "(an interactive session, or a script read from stdin). Run a script file or "
               "'" + base + " -c ...', or start the interpreter by another name (e.g. "
               "python3.11)";
    return {};
}

// Why the library's FUSE mount (built in where it was found) would fail.
std::string fuse_problem()
{
    const std::string prefix = O7S_FUSE_PREFIX;
    if (prefix.empty())
        return {};
    const std::string lead = "libouroboros-dev would end this process: it mounts a FUSE file "
                             "system under " + prefix + " when it loads, but ";
    struct stat st{};
    if (::stat("/dev/fuse", &st) != 0 || !S_ISCHR(st.st_mode))
        return lead + "/dev/fuse is missing";
    if (::access("/dev/fuse", R_OK | W_OK) != 0)
        return lead + "/dev/fuse is not readable and writable by this user";
    if (::stat(prefix.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        return lead + prefix + " does not exist (the IRMd creates it)";
    if (::geteuid() != 0) {
        // The library mounts with allow_other, which fusermount grants
        // users only when fuse.conf says so.
        std::ifstream conf("/etc/fuse.conf");
        bool allowed = false;
        for (std::string line; std::getline(conf, line);)
            allowed |= line.rfind("user_allow_other", 0) == 0;
        if (!allowed)
            return lead + "it mounts with allow_other, which /etc/fuse.conf does not grant "
                          "users (add user_allow_other, or run as root)";
    }
    return {};
}

std::string plugin_path(std::string& why)
{
    if (const char* env = std::getenv("OUROBOROS_SYSTEM_PLUGIN"); env != nullptr && *env) {
        if (::access(env, R_OK) == 0)
            return env;
        why = std::string("$OUROBOROS_SYSTEM_PLUGIN names ") + env + ", which cannot be read";
        return {};
    }
    std::vector<std::string> candidates;
    Dl_info self{};
    if (::dladdr(reinterpret_cast<void*>(&save_args), &self) != 0 && self.dli_fname != nullptr) {
        std::string lib = self.dli_fname;
        std::size_t slash = lib.rfind('/');
        std::string dir = slash == std::string::npos ? std::string(".") : lib.substr(0, slash);
        candidates.push_back(dir + "/" O7S_SYSTEM_PLUGIN_FILE);
    }
    candidates.push_back(O7S_SYSTEM_PLUGIN_BUILD_PATH);
    for (const auto& c : candidates)
        if (::access(c.c_str(), R_OK) == 0)
            return c;
    why = "the system backend plugin " O7S_SYSTEM_PLUGIN_FILE " is not installed (looked in " +
          candidates.front() + "; set $OUROBOROS_SYSTEM_PLUGIN to its path)";
    return {};
}

void host_set_error_detail(const char* text) noexcept
{
    try {
        set_error_detail(text);
    } catch (...) {
        // Out of memory: the detail is lost, the error code is not.
    }
}

bool host_interrupted() noexcept
{
    return interrupted();
}

} // namespace

std::unique_ptr<backend> load_system_backend(std::string& why)
{
    std::string path = plugin_path(why);
    if (path.empty())
        return nullptr;
    irmd_probe irmd = probe_irmd(O7S_IRM_SOCKET, probe_limit);
    if (!irmd.answering) {
        why = irmd.problem;
        return nullptr;
    }
    if (!protocol_matches(irmd.protocol, O7S_OUROBOROS_MINOR)) {
        why = std::string("version mismatch: the IRMd speaks the protocol of Ouroboros ") +
              protocol_name(irmd.protocol) + ", and this backend was built for Ouroboros "
              O7S_OUROBOROS_VERSION " (rebuild pyOuroboros against the running release)";
        return nullptr;
    }
    for (const auto& problem : {program_name_problem(), fuse_problem()}) {
        if (!problem.empty()) {
            why = problem;
            return nullptr;
        }
    }
    // Never unloaded: the library registered this process with the IRMd.
    void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
        const char* err = ::dlerror();
        why = "cannot load " + path + ": " + (err ? err : "unknown error") +
              " (was Ouroboros " O7S_OUROBOROS_VERSION " removed or replaced since pyOuroboros "
              "was built?)";
        return nullptr;
    }
    auto make = reinterpret_cast<o7s_system_factory>(::dlsym(handle, system_factory_symbol));
    if (make == nullptr) {
        why = path + " is not a system backend plugin (no " + system_factory_symbol + ")";
        return nullptr;
    }
    static const o7s_host_api host{sizeof(o7s_host_api), &host_set_error_detail, &host_interrupted};
    char reason[512] = "";
    backend* b = make(O7S_SYSTEM_ABI, &host, reason, sizeof reason);
    if (b == nullptr) {
        why = reason;
        return nullptr;
    }
    return std::unique_ptr<backend>(b);
}

} // namespace ouroboros::detail

#endif
