// fuzz_driver.cpp - main() for fuzz_decoders.cpp where libFuzzer is not
// there (GCC): runs the files given, or a seeded mutation loop.
//
//   fuzz_decoders FILE...                 each file once
//   fuzz_decoders [--runs N] [--seed S]   N mutated inputs (default 100000)
//
// The seeds are a well-formed record of every request and a state file;
// mutations flip bits, write interesting values, truncate, insert and
// splice, keeping the header's length right most of the time so that
// bodies get decoded.
#include "daemon/state_file.hpp"
#include "runtime/codec.hpp"
#include "runtime/messages.hpp"
#include "runtime/wire.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

using namespace ouroboros;
using bytes = std::vector<std::uint8_t>;

template <class... R> void add_requests(proto::type_list<R...>, std::vector<bytes>& out)
{
    (
        [&out] {
            proto::writer w(R::id);
            proto::encode(w, R{});
            out.push_back(w.record());
        }(),
        ...);
}

std::vector<bytes> seeds()
{
    std::vector<bytes> out;
    add_requests(proto::requests{}, out);
    daemon::registry r;
    std::string why;
    name_info n{"fz", load_balance::round_robin};
    n.server_sec.key = "/k";
    r.create_name(n, why);
    r.reg_name("fz", r.ipcps().begin()->first, why);
    r.bind_program(program_binding{"/bin/fz", 0, {"a"}, ""}, "fz", why);
    out.push_back(daemon::encode_state(daemon::saved_state{r.image(), {{1, 2}}}));
    return out;
}

void put32(bytes& b, std::size_t at, std::uint32_t v)
{
    for (int i = 0; i < 4 && at + i < b.size(); ++i)
        b[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
}

bytes mutate(std::mt19937_64& rnd, const std::vector<bytes>& pool)
{
    auto pick = [&](std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(rnd() % n); };
    bytes b = pool[pick(pool.size())];
    const bool record = b.size() >= proto::header_size && b[0] == 0x37 && b[1] == 0x4f;
    for (std::size_t k = 0, n = 1 + pick(4); k < n; ++k) {
        std::size_t at = pick(b.size() + 1);
        switch (pick(7)) {
        case 0:
            if (!b.empty())
                b[pick(b.size())] ^= static_cast<std::uint8_t>(1u << pick(8));
            break;
        case 1: {
            static const std::uint8_t v[] = {0, 1, 0x7f, 0x80, 0xff};
            if (!b.empty())
                b[pick(b.size())] = v[pick(sizeof v)];
            break;
        }
        case 2: {
            static const std::uint32_t v[] = {0, 1, 255, 256, 4096, 4097, 0xffff, 61440,
                                              0x7fffffff, 0xffffffff};
            put32(b, at, v[pick(sizeof v / sizeof v[0])]);
            break;
        }
        case 3: b.resize(at); break;
        case 4:
            for (std::size_t i = 0, m = 1 + pick(16); i < m; ++i)
                b.insert(b.begin() + static_cast<long>(at), static_cast<std::uint8_t>(rnd()));
            break;
        case 5: {
            const bytes& o = pool[pick(pool.size())];
            b.resize(at);
            b.insert(b.end(), o.begin() + static_cast<long>(pick(o.size() + 1)), o.end());
            break;
        }
        case 6: {
            static const char* names[] = {"\xff\xfe", "\xed\xa0\x80", "", "\0"};
            const char* s = names[pick(4)];
            b.insert(b.begin() + static_cast<long>(at), s, s + std::strlen(s) + 1);
            break;
        }
        }
    }
    if (record && b.size() >= proto::header_size && pick(10) != 0)
        put32(b, 8, static_cast<std::uint32_t>(b.size() - proto::header_size));
    return b;
}

} // namespace

int main(int argc, char** argv)
{
    unsigned long long runs = 100000, seed = 13;
    std::vector<std::string> files;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--runs" && i + 1 < argc)
            runs = std::strtoull(argv[++i], nullptr, 10);
        else if (a == "--seed" && i + 1 < argc)
            seed = std::strtoull(argv[++i], nullptr, 10);
        else
            files.push_back(a);
    }
    if (!files.empty()) {
        for (const auto& f : files) {
            std::ifstream in(f, std::ios::binary);
            bytes b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            LLVMFuzzerTestOneInput(b.data(), b.size());
        }
        std::printf("%zu inputs\n", files.size());
        return 0;
    }
    const std::vector<bytes> pool = seeds();
    for (const auto& s : pool)
        LLVMFuzzerTestOneInput(s.data(), s.size());
    std::mt19937_64 rnd(seed);
    for (unsigned long long i = 0; i < runs; ++i) {
        bytes b = mutate(rnd, pool);
        LLVMFuzzerTestOneInput(b.data(), b.size());
    }
    std::printf("%llu inputs (seed %llu), %zu seeds\n", runs, seed, pool.size());
    return 0;
}
