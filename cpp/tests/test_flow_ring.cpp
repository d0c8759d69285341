// test_flow_ring.cpp - the shared-memory rings of a flow (runtime/flow_ring.hpp)
// on their own: records in order across the wrap, pads, in_socket records,
// the wake-up rules, a writer waiting for room, and rings whose control
// words and headers are garbage (every one must end in `broken`, never in
// a crash, a hang or a read beyond the ring).
#include "check.hpp"

#include "runtime/flow_page.hpp"
#include "runtime/flow_ring.hpp"

#include <sys/mman.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

using namespace ouroboros::runtime;

namespace {

constexpr std::size_t small_ring = ring_min_bytes;

// A page and one ring, as in a flow's memfd (anonymous shared memory here).
struct mapped_ring {
    std::size_t bytes;
    void* mem;
    flow_page* page;
    std::uint8_t* data;
    explicit mapped_ring(std::size_t b) : bytes(b)
    {
        mem = ::mmap(nullptr, flow_page_size + b, PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        page = new (mem) flow_page();
        data = static_cast<std::uint8_t*>(mem) + flow_page_size;
    }
    ~mapped_ring() { ::munmap(mem, flow_page_size + bytes); }
    ring_writer writer() { return ring_writer(&page->ring[0], data, bytes); }
    ring_reader reader() { return ring_reader(&page->ring[0], data, bytes); }
};

std::vector<std::uint8_t> pattern(std::size_t n, unsigned seed)
{
    std::vector<std::uint8_t> v(n);
    for (std::size_t i = 0; i < n; ++i)
        v[i] = static_cast<std::uint8_t>(seed * 131 + i * 7);
    return v;
}

// Reads one ring_data record; false when there is none.
bool take(ring_reader& r, std::vector<std::uint8_t>& out)
{
    ring_reader::record rec;
    if (r.peek(rec, 1u << 20) != ring_status::ok || rec.kind != ring_data)
        return false;
    out.assign(rec.payload, rec.payload + rec.length);
    r.consume();
    r.release();
    return true;
}

} // namespace

TEST_CASE("records arrive whole and in order across many wraps")
{
    mapped_ring m(small_ring);
    ring_writer w = m.writer();
    ring_reader r = m.reader();
    std::vector<std::uint8_t> got;
    for (unsigned i = 0; i < 5000; ++i) {
        std::size_t n = 1 + (i * 977) % w.max_record();
        auto sdu = pattern(n, i);
        REQUIRE(w.try_put(ring_data, static_cast<std::uint32_t>(n), sdu.data(), n) ==
                ring_status::ok);
        w.publish();
        REQUIRE(take(r, got));
        CHECK(got == sdu);
    }
    ring_reader::record rec;
    CHECK(r.peek(rec, 1u << 20) == ring_status::empty);
}

TEST_CASE("a full ring refuses a record until the reader frees room")
{
    mapped_ring m(small_ring);
    ring_writer w = m.writer();
    ring_reader r = m.reader();
    auto sdu = pattern(1000, 1);
    int put = 0;
    while (w.try_put(ring_data, 1000, sdu.data(), 1000) == ring_status::ok)
        ++put;
    CHECK(put == static_cast<int>(small_ring / ring_record_bytes(1000)));
    w.publish();
    std::vector<std::uint8_t> got;
    REQUIRE(take(r, got));
    CHECK(w.try_put(ring_data, 1000, sdu.data(), 1000) == ring_status::ok);
    // The largest record always fits an empty ring, pad included.
    mapped_ring e(small_ring);
    ring_writer we = e.writer();
    ring_reader re = e.reader();
    auto big = pattern(we.max_record(), 2);
    for (int i = 0; i < 7; ++i) {
        REQUIRE(we.try_put(ring_data, static_cast<std::uint32_t>(big.size()), big.data(),
                           big.size()) == ring_status::ok);
        we.publish();
        REQUIRE(take(re, got));
        CHECK(got == big);
        auto odd = pattern(24 + i * 8, 3);
        REQUIRE(we.try_put(ring_data, static_cast<std::uint32_t>(odd.size()), odd.data(),
                           odd.size()) == ring_status::ok);
        we.publish();
        REQUIRE(take(re, got));
    }
}

TEST_CASE("an in_socket record keeps its place and carries the SDU's size")
{
    mapped_ring m(small_ring);
    ring_writer w = m.writer();
    ring_reader r = m.reader();
    auto a = pattern(10, 1);
    REQUIRE(w.try_put(ring_data, 10, a.data(), 10) == ring_status::ok);
    REQUIRE(w.try_put(ring_in_socket, 100000, nullptr, 0) == ring_status::ok);
    w.publish();
    std::vector<std::uint8_t> got;
    REQUIRE(take(r, got));
    ring_reader::record rec;
    REQUIRE(r.peek(rec, 1u << 20) == ring_status::ok);
    CHECK(rec.kind == ring_in_socket);
    CHECK(rec.length == 100000);
    // Larger than the socket can carry: the peer lies.
    CHECK(r.peek(rec, 50000) == ring_status::broken);
}

TEST_CASE("the bell is due only for a record into an empty ring of an armed reader")
{
    mapped_ring m(small_ring);
    ring_writer w = m.writer();
    ring_reader r = m.reader();
    auto a = pattern(8, 1);
    w.try_put(ring_data, 8, a.data(), 8);
    CHECK(!w.publish()); // not armed
    r.arm();
    w.try_put(ring_data, 8, a.data(), 8);
    CHECK(!w.publish()); // armed, but the ring was not empty: the reader will see it
    std::vector<std::uint8_t> got;
    CHECK(take(r, got));
    CHECK(take(r, got));
    w.try_put(ring_data, 8, a.data(), 8);
    CHECK(w.publish()); // empty and armed
    r.disarm();
    CHECK(r.has_data());
}

TEST_CASE("a writer waiting for room is woken when the reader frees it")
{
    mapped_ring m(small_ring);
    ring_writer w = m.writer();
    ring_reader r = m.reader();
    auto sdu = pattern(4000, 1);
    while (w.try_put(ring_data, 4000, sdu.data(), 4000) == ring_status::ok) {
    }
    w.publish();
    std::atomic<bool> woke{false};
    std::thread t([&] {
        for (;;) {
            std::uint32_t seq = w.begin_wait();
            if (w.room(4000) == ring_status::ok)
                break;
            w.wait_for_room(seq, 2'000'000'000);
        }
        w.end_wait();
        woke = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(20)); // let it sleep
    CHECK(!woke.load());
    std::vector<std::uint8_t> got;
    const auto t0 = std::chrono::steady_clock::now();
    REQUIRE(take(r, got));
    t.join();
    CHECK(woke.load());
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(500));
    CHECK(m.page->ring[0].writer_waits.load() == 0);
}

TEST_CASE("a wait for room ends at its time limit")
{
    mapped_ring m(small_ring);
    ring_writer w = m.writer();
    std::uint32_t seq = w.begin_wait();
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(w.wait_for_room(seq, 10'000'000) == -ETIMEDOUT);
    CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(9));
    w.end_wait();
}

TEST_CASE("impossible indices are a broken ring at either end")
{
    auto sdu = pattern(100, 1);
    ring_reader::record rec;
    {
        mapped_ring m(small_ring);
        ring_reader r = m.reader();
        m.page->ring[0].tail = small_ring + 8; // more than the ring holds
        CHECK(r.peek(rec, 1u << 20) == ring_status::broken);
        m.page->ring[0].tail = ~std::uint64_t(0) - 3; // "behind" the head after a wrap
        CHECK(r.peek(rec, 1u << 20) == ring_status::broken);
    }
    {
        mapped_ring m(small_ring);
        ring_writer w = m.writer();
        m.page->ring[0].head = 64; // ahead of anything published
        CHECK(w.room(100) == ring_status::broken);
        CHECK(w.try_put(ring_data, 100, sdu.data(), 100) == ring_status::broken);
    }
}

TEST_CASE("garbage headers are a broken ring, never a read beyond it")
{
    struct bad {
        std::uint32_t length, kind;
    };
    const bad cases[] = {
        {0, ring_data},                    // an empty data record
        {small_ring, ring_data},           // longer than the ring
        {small_ring / 2, ring_data},       // longer than any record
        {2000, ring_data},                 // longer than what was published
        {5, 0},                            // unknown kinds
        {5, 77},
        {5, 0xffffffff},
        {100, ring_in_socket},             // small enough for the ring: a lie
        {0xffffffff, ring_in_socket},      // larger than the socket allows
        {8, ring_pad},                     // a pad not reaching the end
    };
    for (const bad& b : cases) {
        mapped_ring m(small_ring);
        ring_record h{b.length, b.kind};
        std::memcpy(m.data, &h, sizeof h);
        m.page->ring[0].tail = 1024;
        ring_reader r = m.reader();
        ring_reader::record rec;
        CHECK(r.peek(rec, 1u << 20) == ring_status::broken);
    }
}

TEST_CASE("random scribbles over a live ring never crash or hang the reader")
{
    std::mt19937_64 rng(42);
    int broken = 0;
    for (int round = 0; round < 2000; ++round) {
        mapped_ring m(small_ring);
        ring_writer w = m.writer();
        ring_reader r = m.reader();
        auto sdu = pattern(1 + rng() % 3000, round);
        for (int i = 0; i < 5; ++i) {
            w.try_put(ring_data, static_cast<std::uint32_t>(sdu.size()), sdu.data(), sdu.size());
            w.publish();
        }
        // The peer scribbles over control words and data.
        const int hits = 1 + static_cast<int>(rng() % 8);
        for (int h = 0; h < hits; ++h) {
            std::uint64_t v = rng();
            switch (rng() % 4) {
            case 0:
                m.page->ring[0].tail = rng() % 3 ? v % (2 * small_ring) : v;
                break;
            case 1: {
                std::size_t at = (rng() % (small_ring / 8)) * 8;
                std::memcpy(m.data + at, &v, sizeof v);
                break;
            }
            case 2:
                m.page->ring[0].head = v % (2 * small_ring);
                break;
            default:
                m.data[rng() % small_ring] = static_cast<std::uint8_t>(v);
            }
        }
        // Every record the reader accepts lies inside the ring, and it
        // reaches empty or broken in a bounded number of steps.
        for (int steps = 0;; ++steps) {
            REQUIRE(steps < 100000);
            ring_reader::record rec;
            ring_status s = r.peek(rec, 1u << 20);
            if (s == ring_status::broken) {
                ++broken;
                break;
            }
            if (s == ring_status::empty)
                break;
            if (rec.kind == ring_data) {
                REQUIRE(rec.payload >= m.data);
                REQUIRE(rec.payload + rec.length <= m.data + small_ring);
                volatile std::uint8_t sink = 0;
                for (std::uint32_t i = 0; i < rec.length; ++i)
                    sink = sink + rec.payload[i];
            }
            r.consume();
            r.release();
        }
        // The writer, too, refuses or writes within the ring.
        ring_status s = w.try_put(ring_data, 1, sdu.data(), 1);
        CHECK(s == ring_status::ok || s == ring_status::full || s == ring_status::broken);
    }
    CHECK(broken > 100); // most scribbles are caught, not silently read
}

CHECK_MAIN
