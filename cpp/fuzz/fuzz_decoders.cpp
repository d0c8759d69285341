// fuzz_decoders.cpp - a libFuzzer harness for what the daemon decodes from
// bytes it did not write: control records (header, then the body as the
// request its type names) and its state file (then restored into a
// registry). Anything may be refused; nothing may crash, and whatever
// decodes must encode again to bytes that decode to the same encoding.
//
// With clang, CMake links it with -fsanitize=fuzzer; with another compiler
// fuzz_driver.cpp supplies main(), a seeded mutation loop (cpp/fuzz/README.md).
#include "daemon/state_file.hpp"
#include "runtime/codec.hpp"
#include "runtime/messages.hpp"
#include "runtime/wire.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <type_traits>
#include <vector>

namespace {

using namespace ouroboros;

[[noreturn]] void broken(const char* what)
{
    std::fprintf(stderr, "fuzz_decoders: %s\n", what);
    std::abort();
}

template <class R> std::vector<std::uint8_t> body_of(const R& req)
{
    proto::writer w(R::id);
    proto::encode(w, req);
    const auto& rec = w.record();
    return {rec.begin() + proto::header_size, rec.end()};
}

void records(const std::uint8_t* data, std::size_t size)
{
    proto::message m;
    std::string why;
    if (proto::parse_record(data, size, m, &why) != 0) {
        if (why.empty())
            broken("a refused record without a reason");
        return;
    }
    proto::reader r = m.read();
    try {
        proto::dispatch(proto::requests{}, m.type, r, [](const auto& req) {
            using R = std::decay_t<decltype(req)>;
            const std::vector<std::uint8_t> once = body_of(req);
            proto::reader again(once.data(), once.size());
            if (body_of(proto::decode_body<R>(again)) != once)
                broken("a request does not survive encoding again");
        });
    } catch (const proto::malformed&) {
        // refused: what the daemon answers with an error
    }
}

void state_file(const std::uint8_t* data, std::size_t size)
{
    daemon::saved_state s;
    std::string why;
    if (daemon::decode_state(data, size, s, why) != 0) {
        if (why.empty())
            broken("a refused state file without a reason");
        return;
    }
    daemon::registry r;
    r.restore(s.registry, why);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    records(data, size);
    state_file(data, size);
    return 0;
}
