// runtime_dir.cpp - resolving and securing the runtime directory.
#include "runtime_dir.hpp"

#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace ouroboros::runtime {

std::string runtime_dir()
{
    if (const char* dir = std::getenv("OUROBOROS_RUNTIME_DIR"); dir && *dir)
        return dir;
    if (const char* xdg = std::getenv("XDG_RUNTIME_DIR"); xdg && *xdg)
        return std::string(xdg) + "/ouroboros-embedded";
    const std::string uid = std::to_string(::getuid());
    const std::string run_user = "/run/user/" + uid;
    struct stat st{};
    if (::lstat(run_user.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == ::getuid() &&
        (st.st_mode & 022) == 0)
        return run_user + "/ouroboros-embedded";
    const char* tmp = std::getenv("TMPDIR");
    return std::string(tmp && *tmp ? tmp : "/tmp") + "/ouroboros-embedded-" + uid;
}

runtime_paths paths_for(const std::string& dir)
{
    return {dir,           dir + "/irmd.sock", dir + "/irmd.pid", dir + "/start.lock",
            dir + "/irmd.log", dir + "/irmd.state"};
}

namespace {

// How to get past a runtime directory that cannot be used.
std::string octal(unsigned mode)
{
    char buf[8];
    std::snprintf(buf, sizeof buf, "%03o", mode);
    return buf;
}

std::string way_out()
{
    return "; remove it (its owner or root can), or set OUROBOROS_RUNTIME_DIR (or "
           "XDG_RUNTIME_DIR) to a directory of your own";
}

} // namespace

int prepare_runtime_dir(const std::string& dir, std::string& why)
{
    if (dir.size() + sizeof("/irmd.sock") > sizeof(sockaddr_un::sun_path)) {
        why = "runtime directory path '" + dir + "' is too long for a Unix socket";
        return -ENAMETOOLONG;
    }
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
        int err = errno;
        why = "cannot create runtime directory '" + dir + "': " + std::strerror(err);
        return -err;
    }
    struct stat st{};
    if (::lstat(dir.c_str(), &st) != 0) {
        int err = errno;
        why = "cannot inspect runtime directory '" + dir + "': " + std::strerror(err);
        return -err;
    }
    if (!S_ISDIR(st.st_mode)) {
        why = "runtime directory '" + dir + "' is not a directory" + way_out();
        return -ENOTDIR;
    }
    if (st.st_uid != ::geteuid()) {
        why = "runtime directory '" + dir + "' belongs to another user (uid " +
              std::to_string(st.st_uid) + "), who created it first" + way_out();
        return -EPERM;
    }
    if ((st.st_mode & 077) != 0) {
        why = "runtime directory '" + dir + "' is accessible to other users (mode " +
              octal(st.st_mode & 0777) + "); it must be 0700" + way_out();
        return -EPERM;
    }
    return 0;
}

} // namespace ouroboros::runtime
