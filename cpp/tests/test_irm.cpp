// test_irm.cpp - the C++ IRM API over the embedded runtime
// ($OUROBOROS_RUNTIME_DIR, set by the driver).
#include "check.hpp"

#include <o7s/flow.hpp>
#include <o7s/irm.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdlib>
#include <fstream>

using namespace ouroboros;
using namespace std::chrono_literals;

namespace {

// Points into `all`, which must outlive the result.
const name_bindings* find(const std::vector<name_bindings>& all, const std::string& name)
{
    for (const auto& nb : all)
        if (nb.info.name == name)
            return &nb;
    return nullptr;
}

const name_bindings* find(std::vector<name_bindings>&& all, const std::string& name) = delete;

std::string real(const std::string& path)
{
    char buf[PATH_MAX];
    return ::realpath(path.c_str(), buf) ? buf : "";
}

} // namespace

TEST_CASE("IPCPs: create, bootstrap with a full configuration, list, destroy")
{
    pid_t pid = irm::create_ipcp("cpp-bc", ipcp_type::broadcast);
    CHECK(pid > 4194304);
    ipcp_config conf;
    conf.type = ipcp_type::broadcast;
    conf.layer = "cpp-layer";
    conf.unicast.dt.addr_size = 8; // irrelevant for broadcast, carried along
    irm::bootstrap_ipcp(pid, conf);
    bool found = false;
    for (const auto& i : irm::list_ipcps())
        found = found || (i.pid == pid && i.layer == "cpp-layer" && i.type == ipcp_type::broadcast);
    CHECK(found);
    CHECK_THROWS_ERRNO(ENOTSUP, irm::create_ipcp("cpp-u", ipcp_type::udp4));
    CHECK_THROWS_ERRNO(ENOTSUP, irm::enroll_ipcp(pid, "x"));
    irm::destroy_ipcp(pid);
    CHECK_THROWS_ERRNO(errc::ipcp, irm::destroy_ipcp(pid));
}

TEST_CASE("names and bindings are listed; unbinding from every name")
{
    pid_t local = irm::list_ipcps().at(0).pid;
    irm::create_name(name_info{"cpp-a", load_balance::spill});
    irm::reg_name("cpp-a", local);
    irm::bind_process(::getpid(), "cpp-a");
    irm::bind_process(::getpid(), "cpp-b");
    auto all = irm::list_bindings();
    const name_bindings* a = find(all, "cpp-a");
    REQUIRE(a != nullptr);
    CHECK(a->info.policy == load_balance::spill);
    CHECK(a->ipcps == std::vector<pid_t>{local});
    REQUIRE(a->processes.size() == 1);
    CHECK(a->processes[0].pid == ::getpid());
    CHECK(a->processes[0].program.empty());
    irm::unbind_process(::getpid());
    all = irm::list_bindings();
    CHECK(find(all, "cpp-a")->processes.empty());
    CHECK(find(all, "cpp-b")->processes.empty());
    CHECK_THROWS_ERRNO(errc::name, irm::unbind_process(::getpid()));
}

TEST_CASE("bind_program resolves the path; scripts may have an interpreter")
{
    CHECK_THROWS_ERRNO(ENOENT, irm::bind_program("no-such-program-o7s", "p"));
    // A NUL would cut the C string short: "/bin/sh\0x" must not bind /bin/sh.
    CHECK_THROWS_ERRNO(EINVAL, irm::bind_program(std::string("/bin/sh\0x", 9), "p"));
    CHECK_THROWS_ERRNO(EINVAL, irm::bind_program("sh", "p", 0, {std::string("a\0b", 3)}));
    CHECK_THROWS_ERRNO(EINVAL,
                       irm::bind_program("job.sh", "p", 0, {}, std::string("/bin/sh\0", 8)));
    irm::bind_program("sh", "cpp-sh"); // found in $PATH
    auto listed = irm::list_bindings();
    const name_bindings* sh = find(listed, "cpp-sh");
    REQUIRE(sh != nullptr && sh->programs.size() == 1);
    CHECK(sh->programs[0].path[0] == '/');

    char dir_template[] = "/tmp/o7s-irm-XXXXXX";
    REQUIRE(::mkdtemp(dir_template) != nullptr);
    std::string script = std::string(dir_template) + "/job.sh";
    std::ofstream(script) << "exit 0\n";
    ::chmod(script.c_str(), 0644);
    CHECK_THROWS_ERRNO(EACCES, irm::bind_program(script, "cpp-job"));
    irm::bind_program(script, "cpp-job", bind_auto, {"one"}, "/bin/sh");
    auto all = irm::list_bindings();
    const name_bindings* job = find(all, "cpp-job");
    REQUIRE(job != nullptr && job->programs.size() == 1);
    CHECK(job->programs[0].path == real(script));
    CHECK(job->programs[0].interpreter == "/bin/sh");
    CHECK(job->programs[0].opts == bind_auto);
    CHECK(job->programs[0].argv == std::vector<std::string>{"one"});
    irm::unbind_program(script);
    all = irm::list_bindings();
    CHECK(find(all, "cpp-job")->programs.empty());
    ::unlink(script.c_str());
    ::rmdir(dir_template);
}

TEST_CASE("joining a broadcast layer from C++")
{
    pid_t pid = irm::create_ipcp("cpp-bc2", ipcp_type::broadcast);
    irm::bootstrap_ipcp(pid, ipcp_config{ipcp_type::broadcast, "cpp-bc2-layer"});
    flow a = flow::join("cpp-bc2-layer"), b = flow::join("cpp-bc2-layer");
    a.write("hi", 2);
    b.set_rcv_timeout(5s);
    char buf[8];
    auto n = b.read(buf, sizeof buf);
    REQUIRE(n.has_value());
    CHECK(std::string(buf, *n) == "hi");
    CHECK_THROWS_ERRNO(ENOTSUP, flow::join("local"));
}

CHECK_MAIN
