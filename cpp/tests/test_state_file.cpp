// test_state_file.cpp - the daemon's state file (daemon/state_file.hpp):
// what it keeps, and that no damaged file is ever taken for a state.
#include "check.hpp"

#include "daemon/state_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

using namespace ouroboros;
using daemon::registry;
using daemon::saved_state;

namespace {

// A registry with some of everything a request can make.
registry sample()
{
    registry r;
    std::string why;
    pid_t local = r.ipcps().begin()->first;
    pid_t bc = 0;
    REQUIRE(r.create_ipcp("bc", ipcp_type::broadcast, bc, why) == 0);
    REQUIRE(r.bootstrap_ipcp(bc, ipcp_config{ipcp_type::broadcast, "bc-layer"}, why) == 0);
    name_info secure{"secure", load_balance::round_robin};
    secure.server_sec.key = "/etc/key.pem";
    REQUIRE(r.create_name(secure, why) == 0);
    REQUIRE(r.reg_name("secure", local, why) == 0);
    REQUIRE(r.bind_process(1234, "secure", why) == 0);
    REQUIRE(r.bind_program(program_binding{"/bin/sh", 0, {"-c", "echo hi"}, ""}, "secure", why) ==
            0);
    REQUIRE(r.create_name(name_info{"caf\xc3\xa9", load_balance::spill}, why) == 0);
    return r;
}

std::vector<std::uint8_t> bytes_of(const registry& r)
{
    saved_state s;
    s.registry = r.image();
    s.processes.push_back(daemon::saved_process{1234, 99});
    return daemon::encode_state(s);
}

std::string temp_dir()
{
    char tmpl[] = "/tmp/o7s-state-XXXXXX";
    return ::mkdtemp(tmpl);
}

} // namespace

TEST_CASE("a state file gives back the registry it was written from")
{
    registry r = sample();
    std::vector<std::uint8_t> bytes = bytes_of(r);
    saved_state back;
    std::string why;
    REQUIRE(daemon::decode_state(bytes.data(), bytes.size(), back, why) == 0);
    registry restored;
    REQUIRE(restored.restore(back.registry, why) == 0);
    CHECK(restored.ipcps().size() == 2);
    CHECK(restored.names().size() == 2);
    CHECK(restored.names().at("secure").server_sec.key == "/etc/key.pem");
    CHECK(restored.names().at("secure").processes.size() == 1);
    CHECK(restored.names().at("secure").programs.at(0).argv.size() == 2);
    REQUIRE(back.processes.size() == 1);
    CHECK(back.processes[0].start_time == 99);
    // The same state again, but a newer generation (listings in parts).
    CHECK(restored.generation() > r.generation());
    saved_state again;
    again.registry = restored.image();
    again.registry.generation = r.generation();
    again.processes = back.processes;
    CHECK(daemon::encode_state(again) == bytes);
    // New IPCPs do not take the ids of restored ones.
    pid_t id = 0;
    CHECK(restored.create_ipcp("next", ipcp_type::broadcast, id, why) == 0);
    CHECK(restored.ipcps().count(id) == 1 && id > r.ipcps().rbegin()->first);
}

TEST_CASE("every truncation and every flipped byte is refused")
{
    std::vector<std::uint8_t> bytes = bytes_of(sample());
    std::string why;
    for (std::size_t n = 0; n < bytes.size(); ++n) {
        saved_state out;
        CHECK(daemon::decode_state(bytes.data(), n, out, why) == -EINVAL);
    }
    for (std::size_t i = 0; i < bytes.size(); ++i)
        for (std::uint8_t flip : {0x01, 0x80, 0xff}) {
            std::vector<std::uint8_t> bad = bytes;
            bad[i] ^= flip;
            saved_state out;
            if (daemon::decode_state(bad.data(), bad.size(), out, why) == 0) {
                // Only the reserved header word may differ unnoticed.
                CHECK(i >= 12 && i < 16);
            }
        }
}

TEST_CASE("restoring refuses what no request could have made, and changes nothing")
{
    std::string why;
    auto refused = [&](auto&& damage) {
        saved_state s;
        s.registry = sample().image();
        damage(s.registry);
        registry r;
        const auto before = daemon::encode_state(saved_state{r.image(), {}});
        int rc = r.restore(s.registry, why);
        if (rc != -EINVAL)
            std::fprintf(stderr, "  restore gave %d: %s\n", rc, why.c_str());
        CHECK(rc == -EINVAL);
        CHECK(!why.empty());
        CHECK(daemon::encode_state(saved_state{r.image(), {}}) == before);
    };
    refused([](daemon::registry_image& img) { img.names[0].name = "bad\xff"; });
    refused([](daemon::registry_image& img) { img.names[0].name = std::string(300, 'n'); });
    refused([](daemon::registry_image& img) { img.ipcps[1].id = 17; });
    refused([](daemon::registry_image& img) { img.ipcps[1].id = img.ipcps[0].id; });
    refused([](daemon::registry_image& img) { img.ipcps[1].layer = img.ipcps[0].layer; });
    refused([](daemon::registry_image& img) { img.names[0].registered_in.insert(12345); });
    refused([](daemon::registry_image& img) { img.names[1].processes.push_back({-4, ""}); });
    refused([](daemon::registry_image& img) { img.names[1].programs.push_back({"relative", 0, {}, ""}); });
}

TEST_CASE("write, read, and a damaged file set aside")
{
    const std::string dir = temp_dir();
    const std::string path = dir + "/irmd.state";
    saved_state s, back;
    std::string why;
    s.registry = sample().image();
    CHECK(daemon::read_state(path, back, why) == daemon::state_read::absent);
    REQUIRE(daemon::write_state(path, s, why) == 0);
    CHECK(::access((path + ".tmp").c_str(), F_OK) != 0);
    CHECK(daemon::read_state(path, back, why) == daemon::state_read::loaded);
    CHECK(daemon::encode_state(back) == daemon::encode_state(s));
    struct stat st{};
    CHECK(::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) == 0);

    std::ofstream(path, std::ios::trunc) << "not a state";
    CHECK(daemon::read_state(path, back, why) == daemon::state_read::set_aside);
    CHECK(why.find("is unusable") != std::string::npos);
    CHECK(::access((path + ".unusable").c_str(), F_OK) == 0);
    CHECK(daemon::read_state(path, back, why) == daemon::state_read::absent);
    ::unlink((path + ".unusable").c_str());
    ::rmdir(dir.c_str());
}

CHECK_MAIN
