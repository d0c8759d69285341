// test_registry.cpp - the daemon's bookkeeping of IPCPs, names, bindings.
#include "check.hpp"

#include "../src/daemon/registry.hpp"

using namespace ouroboros;
using daemon::registry;

TEST_CASE("starts with a bootstrapped local layer")
{
    registry r;
    REQUIRE(r.ipcps().size() == 1);
    CHECK(r.ipcps().begin()->second.layer == "local");
    CHECK(r.ipcps().begin()->first > 4194304); // never a real pid
}

TEST_CASE("a flow needs a created, registered and bound name")
{
    registry r;
    std::string why;
    std::vector<pid_t> servers;
    pid_t local = r.ipcps().begin()->first;
    CHECK(r.servers_for("svc", servers, why) == -errc::name);
    CHECK(why.find("unknown name") != std::string::npos);
    CHECK(r.create_name("svc", load_balance::round_robin, why) == 0);
    CHECK(r.servers_for("svc", servers, why) == -errc::name);
    CHECK(why.find("not registered") != std::string::npos);
    CHECK(r.reg_name("svc", local, why) == 0);
    CHECK(r.servers_for("svc", servers, why) == -errc::name);
    CHECK(why.find("no process is bound") != std::string::npos);
    CHECK(r.bind_process(100, "svc", why) == 0);
    CHECK(r.servers_for("svc", servers, why) == 0);
    CHECK(servers == std::vector<pid_t>{100});
}

TEST_CASE("round robin rotates, spill prefers the first")
{
    registry r;
    std::string why;
    pid_t local = r.ipcps().begin()->first;
    r.create_name("rr", load_balance::round_robin, why);
    r.create_name("sp", load_balance::spill, why);
    for (const char* n : {"rr", "sp"}) {
        r.reg_name(n, local, why);
        r.bind_process(1, n, why);
        r.bind_process(2, n, why);
    }
    std::vector<pid_t> s;
    r.servers_for("rr", s, why);
    CHECK(s.front() == 1);
    r.served("rr", 1);
    r.servers_for("rr", s, why);
    CHECK(s.front() == 2);
    r.served("sp", 1);
    r.servers_for("sp", s, why);
    CHECK(s.front() == 1);
}

TEST_CASE("binding creates the name, a dead process loses its bindings")
{
    registry r;
    std::string why;
    CHECK(r.bind_process(7, "auto-created", why) == 0);
    CHECK(r.names().count("auto-created") == 1);
    CHECK(r.has_bindings(7));
    r.forget_process(7);
    CHECK(!r.has_bindings(7));
}

TEST_CASE("names are validated")
{
    registry r;
    std::string why;
    CHECK(r.create_name("", load_balance::spill, why) == -EINVAL);
    CHECK(r.create_name(std::string(256, 'x'), load_balance::spill, why) == -ENAMETOOLONG);
    CHECK(r.create_name(std::string("a\0b", 3), load_balance::spill, why) == -EINVAL);
    CHECK(r.create_name("ok", load_balance::spill, why) == 0);
    CHECK(r.create_name("ok", load_balance::spill, why) == -EEXIST);
}

CHECK_MAIN
