/* ouroboros_bench.c - the benchmarks' operations through the real Ouroboros
 * C library (libouroboros-dev), over whatever layer the driver registered
 * the server's name in. Built by the suite only where pkg-config finds
 * ouroboros-dev, and run only while an IRMd answers (the library exits
 * before main() without one). Same command line and result files as the C
 * floor (bench_common.h); --serve NAME only announces readiness: the driver
 * binds this process to NAME with `irm bind process`.
 */
#define _GNU_SOURCE
#include "bench_common.h"

#include <ouroboros/dev.h>
#include <ouroboros/fccntl.h>

#include <errno.h>

#define RX_ROOM (1 << 20)

static char rx[RX_ROOM];
static const struct timespec setup_wait = {10, 0};

/* The real Ouroboros may lose an SDU (a raw flow over a busy local IPCP
 * does), and a lost ping would stall a ping-pong for good. So every read
 * gives up after a second: a lost ping is counted, a flood ends after a
 * quiet second, a server leaves when its client has gone quiet. */
#define PATIENCE_NS 1000000000LL
static const struct timespec patience = {1, 0};
static const struct timespec drain = {60, 0};

static int connect_flow(const struct bench_args *a)
{
    int fd = a->alloc ? flow_alloc(a->alloc, NULL, &setup_wait)
                      : flow_accept(NULL, &setup_wait);
    if (fd < 0)
        die(a->alloc ? "flow_alloc failed" : "flow_accept failed");
    if (a->busy_ns > 0)
        fccntl(fd, FLOWSFLAGS, FLOWFRDWR | FLOWFRNOBLOCK);
    fccntl(fd, FLOWSRCVTIMEO, &patience);
    return fd;
}

/* One SDU, or -ETIMEDOUT after a second; a busy flow (non-blocking reads)
 * spins until one comes. */
static ssize_t read_sdu(int fd, void *buf, size_t cap)
{
    int64_t give_up = now_ns() + PATIENCE_NS;
    ssize_t n;
    do
        n = flow_read(fd, buf, cap);
    while (n == -EAGAIN && now_ns() < give_up);
    return n == -EAGAIN ? -ETIMEDOUT : n;
}

static void write_sdu(int fd, const void *buf, size_t len)
{
    if (flow_write(fd, buf, len) != (ssize_t) len)
        die("flow_write failed");
}

/* Each ping carries its number, so a late answer to a lost one is told
 * apart from the answer awaited. */
static void ping(int fd, const struct bench_args *a, char *tx)
{
    int64_t *samples = calloc((size_t) a->count, sizeof *samples);
    long i, bad = 0, lost = 0, kept = 0, lost_in_a_row = 0;
    if (samples == NULL || a->size < sizeof i)
        die("out of memory, or SDUs too small to number");
    for (i = -a->warmup; i < a->count; ++i) {
        int64_t t0 = now_ns();
        ssize_t n;
        memcpy(tx, &i, sizeof i);
        write_sdu(fd, tx, a->size);
        do
            n = read_sdu(fd, rx, sizeof rx);
        while (n >= (ssize_t) sizeof i && memcmp(rx, &i, sizeof i) != 0);
        int64_t t1 = now_ns();
        if (n == -ETIMEDOUT) {
            ++lost;
            if (++lost_in_a_row == 3)
                die("the real Ouroboros lost 3 pings in a row");
            continue;
        }
        if (n <= 0)
            die("flow_read failed");
        lost_in_a_row = 0;
        if ((size_t) n != a->size)
            ++bad;
        if (i >= 0)
            samples[kept++] = t1 - t0;
    }
    write_samples(a->out, samples, kept, bad, lost);
    free(samples);
}

static void pong(int fd)
{
    for (;;) {
        ssize_t n = read_sdu(fd, rx, sizeof rx);
        if (n <= 0)
            return; /* the client is done (or gone) */
        write_sdu(fd, rx, (size_t) n);
    }
}

static void flood_send(int fd, const struct bench_args *a, const char *tx)
{
    long i;
    for (i = 0; i < a->count; ++i)
        write_sdu(fd, tx, a->size);
    fccntl(fd, FLOWSRCVTIMEO, &drain); /* the receiver may still be busy */
    if (read_sdu(fd, rx, sizeof rx) != 1)
        die("no acknowledgement");
}

static void flood_recv(int fd, const struct bench_args *a)
{
    long got = 0, bad = 0;
    int64_t first = 0, last = 0;
    while (got < a->count) {
        ssize_t n = read_sdu(fd, rx, a->size + 1);
        if (n == -ETIMEDOUT)
            break; /* a quiet second: the rest was lost */
        if (n <= 0)
            die("flow_read failed");
        last = now_ns();
        if (got == 0)
            first = last;
        if ((size_t) n != a->size)
            ++bad;
        ++got;
    }
    write_sdu(fd, "!", 1);
    write_flood(a->out, got, bad, last - first);
}

static void alloc_client(const struct bench_args *a)
{
    long i;
    int64_t t0 = 0;
    for (i = -a->warmup; i < a->count; ++i) {
        if (i == 0)
            t0 = now_ns();
        int fd = flow_alloc(a->alloc, NULL, &setup_wait);
        if (fd < 0)
            die("flow_alloc failed");
        flow_dealloc(fd);
    }
    write_rate(a->out, a->count, now_ns() - t0);
}

static void accept_server(const struct bench_args *a)
{
    long i;
    for (i = 0; i < a->warmup + a->count; ++i) {
        int fd = flow_accept(NULL, &setup_wait);
        if (fd < 0)
            die("flow_accept failed");
        flow_dealloc(fd);
    }
}

int main(int argc, char **argv)
{
    struct bench_args a;
    char *tx;
    int fd;
    if (parse_args(argc, argv, &a) != 0 || (a.serve == NULL) == (a.alloc == NULL))
        die("usage: ouroboros_bench MODE SIZE COUNT OUT (--serve NAME | --alloc NAME) "
            "[--warmup N] [--busy NS]");
    if (a.batch != 1)
        die("the Ouroboros C API has no batched calls");
    tx = calloc(1, a.size + 1);
    if (tx == NULL)
        die("out of memory");
    if (a.serve)
        say_ready();
    if (strcmp(a.mode, "alloc") == 0) {
        alloc_client(&a);
    } else if (strcmp(a.mode, "accept") == 0) {
        accept_server(&a);
    } else {
        fd = connect_flow(&a);
        if (strcmp(a.mode, "ping") == 0)
            ping(fd, &a, tx);
        else if (strcmp(a.mode, "pong") == 0)
            pong(fd);
        else if (strcmp(a.mode, "send") == 0)
            flood_send(fd, &a, tx);
        else if (strcmp(a.mode, "recv") == 0)
            flood_recv(fd, &a);
        else
            die("unknown mode");
        flow_dealloc(fd);
    }
    free(tx);
    return 0;
}
