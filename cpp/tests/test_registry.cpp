// test_registry.cpp - the daemon's bookkeeping of IPCPs, names, bindings.
#include "check.hpp"

#include "daemon/registry.hpp"

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
    CHECK(r.create_name(name_info{"svc", load_balance::round_robin}, why) == 0);
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
    r.create_name(name_info{"rr", load_balance::round_robin}, why);
    r.create_name(name_info{"sp", load_balance::spill}, why);
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

TEST_CASE("only local and broadcast IPCPs; one IPCP per layer")
{
    registry r;
    std::string why;
    pid_t id = 0;
    CHECK(r.create_ipcp("u", ipcp_type::unicast, id, why) == -ENOTSUP);
    CHECK(why.find("not supported by the embedded runtime") != std::string::npos);
    REQUIRE(r.create_ipcp("bc", ipcp_type::broadcast, id, why) == 0);
    CHECK(r.create_ipcp("bc", ipcp_type::local, id, why) == -EEXIST);
    CHECK(r.bootstrap_ipcp(id, ipcp_config{ipcp_type::local, "x"}, why) == -errc::ipcp_type);
    CHECK(r.bootstrap_ipcp(id, ipcp_config{ipcp_type::broadcast, "local"}, why) == -EEXIST);
    CHECK(r.bootstrap_ipcp(id, ipcp_config{ipcp_type::broadcast, "bc"}, why) == 0);
    CHECK(r.bootstrap_ipcp(id, ipcp_config{ipcp_type::broadcast, "bc"}, why) == 0); // again: fine
    CHECK(r.bootstrap_ipcp(id, ipcp_config{ipcp_type::broadcast, "other"}, why) ==
          -errc::ipcp_state);
    REQUIRE(r.ipcp_of_layer("bc") != nullptr);
    CHECK(r.ipcp_of_layer("bc")->id == id);
    CHECK(r.ipcp_of_layer("nope") == nullptr);
    r.create_name(name_info{"n", load_balance::spill}, why);
    CHECK(r.reg_name("n", id, why) == -ENOTSUP); // no directory in a broadcast layer
    CHECK(r.destroy_ipcp(id, why) == 0);
    CHECK(r.ipcp_of_layer("bc") == nullptr);
}

TEST_CASE("destroying an IPCP unregisters its names")
{
    registry r;
    std::string why;
    pid_t local = r.ipcps().begin()->first;
    r.create_name(name_info{"n", load_balance::spill}, why);
    r.reg_name("n", local, why);
    CHECK(r.names().at("n").registered_in.count(local) == 1);
    r.destroy_ipcp(local, why);
    CHECK(r.names().at("n").registered_in.empty());
}

TEST_CASE("programs: bound once, auto-start, unbinding takes their processes")
{
    registry r;
    std::string why;
    pid_t local = r.ipcps().begin()->first;
    program_binding prog{"/bin/prog", bind_auto, {"-x"}, ""};
    CHECK(r.bind_program(prog, "svc", why) == 0);
    CHECK(r.names().at("svc").policy == load_balance::spill); // created by binding
    CHECK(r.bind_program(prog, "svc", why) == -EEXIST);
    CHECK(r.bind_program(program_binding{"/bin/other", 0, {}, ""}, "svc", why) == 0);
    REQUIRE(r.auto_program("svc") != nullptr);
    CHECK(r.auto_program("svc")->path == "/bin/prog");
    CHECK(r.names_of_program("/bin/prog") == std::vector<std::string>{"svc"});

    // Registered, no process bound, an auto program: reachable, nobody yet.
    std::vector<pid_t> servers{1};
    r.reg_name("svc", local, why);
    CHECK(r.servers_for("svc", servers, why) == 0);
    CHECK(servers.empty());

    r.bind_process(10, "svc", why, "/bin/prog");
    r.bind_process(11, "svc", why);
    r.bind_process(12, "svc", why, "/bin/prog");
    r.bind_process(12, "svc", why); // made explicit: survives the program
    CHECK(r.unbind_program("/bin/prog", "", why) == 0);
    std::vector<pid_t> left;
    for (const auto& p : r.names().at("svc").processes)
        left.push_back(p.pid);
    CHECK(left == (std::vector<pid_t>{11, 12}));
    CHECK(r.auto_program("svc") == nullptr);
    CHECK(r.unbind_program("/bin/prog", "", why) == -errc::name);
    CHECK(r.unbind_program("/bin/other", "elsewhere", why) == -errc::name);
}

TEST_CASE("unbinding a process from every name")
{
    registry r;
    std::string why;
    r.bind_process(5, "a", why);
    r.bind_process(5, "b", why);
    r.bind_process(6, "b", why);
    CHECK(r.unbind_process(5, "", why) == 0);
    CHECK(!r.has_bindings(5));
    CHECK(r.serves(6, "b"));
    CHECK(r.unbind_process(5, "", why) == -errc::name);
    CHECK(r.unbind_process(6, "a", why) == -errc::name);
}

TEST_CASE("every change moves the generation on")
{
    registry r;
    std::string why;
    std::uint64_t g = r.generation();
    auto moved = [&] {
        bool m = r.generation() != g;
        g = r.generation();
        return m;
    };
    r.create_name(name_info{"n", load_balance::spill}, why);
    CHECK(moved());
    r.reg_name("n", r.ipcps().begin()->first, why);
    CHECK(moved());
    r.bind_process(3, "n", why);
    CHECK(moved());
    r.forget_process(3);
    CHECK(moved());
    r.forget_process(3); // nothing to forget
    CHECK(!moved());
    r.destroy_name("n", why);
    CHECK(moved());
}

TEST_CASE("names are validated")
{
    registry r;
    std::string why;
    CHECK(r.create_name(name_info{"", load_balance::spill}, why) == -EINVAL);
    CHECK(r.create_name(name_info{std::string(256, 'x'), load_balance::spill}, why) ==
          -ENAMETOOLONG);
    CHECK(r.create_name(name_info{std::string("a\0b", 3), load_balance::spill}, why) == -EINVAL);
    CHECK(r.create_name(name_info{"ok", load_balance::spill}, why) == 0);
    CHECK(r.create_name(name_info{"ok", load_balance::spill}, why) == -EEXIST);
}

CHECK_MAIN
