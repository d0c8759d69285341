// test_process_info.cpp - what the daemon reads about a process in /proc.
#include "check.hpp"

#include "daemon/process_info.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

using namespace ouroboros::daemon;

TEST_CASE("identifies this process by its executable")
{
    process_identity id = identify(::getpid());
    CHECK(id.exe == real_path("/proc/self/exe"));
    CHECK(runs(id, id.exe));
    CHECK(!runs(id, "/no/such/program"));
    CHECK(!runs(id, ""));
    CHECK(same_user(::getpid()));
    CHECK(!working_directory(::getpid()).empty());
}

TEST_CASE("identifies a script by the first argument that is not an option")
{
    // A child that runs `/bin/sh -e <script> arg`, as an interpreter would.
    char dir_template[] = "/tmp/o7s-proc-XXXXXX";
    REQUIRE(::mkdtemp(dir_template) != nullptr);
    std::string dir = dir_template;
    std::string script = dir + "/script.sh";
    std::ofstream(script) << "sleep 5\n";
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::chdir(dir.c_str());
        ::execl("/bin/sh", "sh", "-e", "script.sh", "arg", static_cast<char*>(nullptr));
        ::_exit(127);
    }
    // Wait until the exec has happened (the command line shows the script).
    for (int i = 0; i < 500 && command_line(child).size() < 3; ++i)
        ::usleep(10000);
    process_identity id = identify(child);
    CHECK(id.script == real_path(script));
    CHECK(runs(id, real_path(script)));
    CHECK(working_directory(child) == real_path(dir));
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    ::unlink(script.c_str());
    ::rmdir(dir.c_str());
}

TEST_CASE("a process that does not exist is nobody")
{
    process_identity id = identify(4194304 + 7);
    CHECK(id.exe.empty());
    CHECK(id.script.empty());
    CHECK(!same_user(4194304 + 7));
    CHECK(command_line(4194304 + 7).empty());
}

CHECK_MAIN
