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

static int connect_flow(const struct bench_args *a)
{
    int fd = a->alloc ? flow_alloc(a->alloc, NULL, &setup_wait)
                      : flow_accept(NULL, &setup_wait);
    if (fd < 0)
        die(a->alloc ? "flow_alloc failed" : "flow_accept failed");
    if (a->busy_ns > 0)
        fccntl(fd, FLOWSFLAGS, FLOWFRDWR | FLOWFRNOBLOCK);
    return fd;
}

/* One SDU; a busy flow (non-blocking reads) spins until one comes. */
static ssize_t read_sdu(int fd, void *buf, size_t cap)
{
    ssize_t n;
    do
        n = flow_read(fd, buf, cap);
    while (n == -EAGAIN);
    return n;
}

static void write_sdu(int fd, const void *buf, size_t len)
{
    if (flow_write(fd, buf, len) != (ssize_t) len)
        die("flow_write failed");
}

static void ping(int fd, const struct bench_args *a, const char *tx)
{
    int64_t *samples = calloc((size_t) a->count, sizeof *samples);
    long i, bad = 0;
    if (samples == NULL)
        die("out of memory");
    for (i = -a->warmup; i < a->count; ++i) {
        int64_t t0 = now_ns();
        write_sdu(fd, tx, a->size);
        ssize_t n = read_sdu(fd, rx, sizeof rx);
        int64_t t1 = now_ns();
        if (n <= 0)
            die("flow_read failed");
        if ((size_t) n != a->size)
            ++bad;
        if (i >= 0)
            samples[i] = t1 - t0;
    }
    write_samples(a->out, samples, a->count, bad);
    free(samples);
}

static void pong(int fd, const struct bench_args *a)
{
    long i;
    for (i = 0; i < a->warmup + a->count; ++i) {
        ssize_t n = read_sdu(fd, rx, sizeof rx);
        if (n <= 0)
            die("flow_read failed");
        write_sdu(fd, rx, (size_t) n);
    }
}

static void flood_send(int fd, const struct bench_args *a, const char *tx)
{
    long i;
    for (i = 0; i < a->count; ++i)
        write_sdu(fd, tx, a->size);
    if (read_sdu(fd, rx, sizeof rx) != 1)
        die("no acknowledgement");
}

static void flood_recv(int fd, const struct bench_args *a)
{
    long got = 0, bad = 0;
    int64_t first = 0, last = 0;
    while (got < a->count) {
        ssize_t n = read_sdu(fd, rx, a->size + 1);
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
            pong(fd, &a);
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
