// o7s_bench.cpp - the benchmarks' operations through the C++ API
// (ouroboros::flow) over the embedded runtime. Same command line and
// result files as the C floor; see benchmarks/c/bench_common.h.
extern "C" {
#include "../c/bench_common.h"
}

#include <o7s/flow.hpp>
#include <o7s/irm.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

using namespace ouroboros;
using namespace std::chrono_literals;

namespace {

constexpr auto setup_wait = 10s;

// Names `name` in the embedded runtime's layer and binds this process.
void serve(const std::string& name)
{
    try {
        irm::create_name({name, load_balance::round_robin});
    } catch (const error&) {
        // exists already: a previous run of the same row
    }
    irm::reg_name(name, irm::list_ipcps().at(0).pid);
    irm::bind_process(::getpid(), name);
}

flow connect(const bench_args& a)
{
    flow f = a.alloc ? flow::alloc(a.alloc, std::nullopt, setup_wait) : flow::accept(setup_wait);
    if (a.busy_ns > 0)
        f.set_busy_poll(std::chrono::nanoseconds(a.busy_ns));
    return f;
}

std::size_t read_one(flow& f, std::vector<char>& rx)
{
    auto n = f.read(rx.data(), rx.size());
    if (!n || *n == 0)
        die("read returned nothing");
    return *n;
}

void ping(flow& f, const bench_args& a)
{
    std::vector<char> tx(a.size), rx(f.max_sdu() + 1);
    std::vector<std::int64_t> samples(static_cast<std::size_t>(a.count));
    long bad = 0;
    for (long i = -a.warmup; i < a.count; ++i) {
        std::int64_t t0 = now_ns();
        f.write(tx.data(), tx.size());
        std::size_t n = read_one(f, rx);
        std::int64_t t1 = now_ns();
        bad += n != a.size;
        if (i >= 0)
            samples[static_cast<std::size_t>(i)] = t1 - t0;
    }
    write_samples(a.out, samples.data(), a.count, bad, 0);
}

void pong(flow& f, const bench_args& a)
{
    std::vector<char> rx(f.max_sdu() + 1);
    for (long i = 0; i < a.warmup + a.count; ++i) {
        std::size_t n = read_one(f, rx);
        f.write(rx.data(), n);
    }
}

void flood_send(flow& f, const bench_args& a)
{
    std::vector<char> tx(a.size);
    std::vector<sdu_view> batch(static_cast<std::size_t>(a.batch), sdu_view{tx.data(), a.size});
    long sent = 0;
    while (sent < a.count) {
        if (a.batch == 1) {
            f.write(tx.data(), tx.size());
            ++sent;
            continue;
        }
        long left = a.count - sent;
        auto n = f.write_many(batch.data(), static_cast<std::size_t>(std::min<long>(left, a.batch)));
        sent += static_cast<long>(n.value_or(0));
    }
    char ack[8];
    if (f.read(ack, sizeof ack).value_or(0) != 1)
        die("no acknowledgement");
}

void flood_recv(flow& f, const bench_args& a)
{
    // Batches need buffers larger than any SDU (o7s/flow.hpp).
    const std::size_t slot = a.batch == 1 ? a.size + 1 : f.max_sdu() + 1;
    std::vector<char> room(slot * static_cast<std::size_t>(a.batch));
    std::vector<sdu_buffer> bufs(static_cast<std::size_t>(a.batch));
    long got = 0, bad = 0;
    std::int64_t first = 0, last = 0;
    while (got < a.count) {
        for (std::size_t i = 0; i < bufs.size(); ++i)
            bufs[i] = {room.data() + i * slot, slot};
        long left = a.count - got;
        std::size_t want = static_cast<std::size_t>(std::min<long>(left, a.batch));
        std::size_t n = 1;
        if (a.batch == 1)
            bufs[0].size = f.read(bufs[0].data, slot).value_or(0);
        else
            n = f.read_many(bufs.data(), want).value_or(0);
        last = now_ns();
        if (got == 0)
            first = last;
        for (std::size_t i = 0; i < n; ++i)
            bad += bufs[i].size != a.size;
        got += static_cast<long>(n);
    }
    f.write("!", 1);
    write_flood(a.out, got, bad, last - first);
}

void alloc_client(const bench_args& a)
{
    for (long i = 0; i < a.warmup; ++i)
        flow::alloc(a.alloc, std::nullopt, setup_wait).close();
    std::int64_t t0 = now_ns();
    for (long i = 0; i < a.count; ++i)
        flow::alloc(a.alloc, std::nullopt, setup_wait).close();
    write_rate(a.out, a.count, now_ns() - t0);
}

void accept_server(const bench_args& a)
{
    for (long i = 0; i < a.warmup + a.count; ++i)
        flow::accept(setup_wait).close();
}

// COUNT flows kept open, plus one opened before "ready" that keeps one-time
// costs (the daemon connection, allocator pools) out of the measurement.
void hold(const bench_args& a)
{
    std::vector<flow> flows;
    flows.reserve(static_cast<std::size_t>(a.count) + 1);
    flows.push_back(connect(a));
    if (a.alloc) {
        say_ready();
        wait_for_go();
    }
    for (long i = 0; i < a.count; ++i)
        flows.push_back(connect(a));
    say_held();
    if (wait_for_traffic()) {
        // The COUNT flows, not the first: both ends hold them in the same
        // order (one allocation at a time). A read that waits 10 s fails.
        std::vector<char> buf(HOLD_TRAFFIC_SIZE + 1);
        for (std::size_t i = 1; i < flows.size(); ++i) {
            flows[i].set_rcv_timeout(setup_wait);
            for (int k = 0; k < HOLD_TRAFFIC_SDUS; ++k) {
                if (a.alloc)
                    flows[i].write(buf.data(), HOLD_TRAFFIC_SIZE);
                else if (flows[i].read(buf.data(), buf.size()).value_or(0) != HOLD_TRAFFIC_SIZE)
                    die("hold traffic came back wrong");
            }
        }
        say_moved();
    }
    wait_for_stdin_eof();
}

int run(const bench_args& a)
{
    const std::string mode = a.mode;
    if (!a.serve && !a.alloc)
        die("this program needs --serve NAME or --alloc NAME");
    if (a.serve) {
        serve(a.serve);
        say_ready();
    }
    if (mode == "alloc")
        alloc_client(a);
    else if (mode == "accept")
        accept_server(a);
    else if (mode == "hold")
        hold(a);
    else {
        flow f = connect(a);
        if (mode == "ping")
            ping(f, a);
        else if (mode == "pong")
            pong(f, a);
        else if (mode == "send")
            flood_send(f, a);
        else if (mode == "recv")
            flood_recv(f, a);
        else
            die("unknown mode");
    }
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    bench_args a;
    if (parse_args(argc, argv, &a) != 0)
        die("usage: o7s_bench MODE SIZE COUNT OUT (--serve NAME | --alloc NAME) [--warmup N] "
            "[--busy NS] [--batch N]");
    try {
        return run(a);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "o7s_bench: %s\n", e.what());
        return 1;
    }
}
