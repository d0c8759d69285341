/* bench_common.h - what the C and C++ benchmark programs share: the command
 * line, the clock, and the JSON result file. Every program speaks the same
 * protocol to benchmarks/procs.py:
 *
 *   PROG MODE SIZE COUNT OUT [--fd N] [--serve NAME] [--alloc NAME]
 *        [--warmup N] [--busy NS] [--batch N] [--pack N]
 *
 * MODE: ping (measures round trips; its peer runs pong), send / recv (a
 * one-way flood; recv checks every SDU's size and acknowledges the end with
 * one byte), alloc / accept (flow allocation rate), hold (keeps COUNT flows
 * open, for memory measurements, plus one opened first that keeps one-time
 * costs out: "ready", then the line "go" on stdin, then
 * "held" once they are open; then either stdin closes (exit), or the line
 * "traffic" comes: HOLD_TRAFFIC_SDUS SDUs of HOLD_TRAFFIC_SIZE bytes go from
 * the allocating end to the accepting end of each of the COUNT flows, then
 * "moved", then exit when stdin closes). OUT receives one JSON
 * object. "ready" on stdout tells the driver a server may be connected to.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct bench_args {
    const char *mode;
    size_t size;
    long count;
    const char *out;
    int fd;              /* --fd: an inherited socket (the floors) */
    const char *serve;   /* --serve NAME: accept flows to NAME */
    const char *alloc;   /* --alloc NAME: allocate flows to NAME */
    long warmup;
    long long busy_ns;   /* --busy: spin this long before sleeping */
    int batch;           /* --batch: SDUs per call (1: single calls) */
    int pack;            /* --pack: SDUs per record (the C floor only) */
};

static inline int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t) t.tv_sec * 1000000000 + t.tv_nsec;
}

static inline void die(const char *what)
{
    fprintf(stderr, "bench: %s\n", what);
    exit(2);
}

static inline int parse_args(int argc, char **argv, struct bench_args *a)
{
    int i;
    if (argc < 5)
        return -1;
    memset(a, 0, sizeof *a);
    a->mode = argv[1];
    a->size = (size_t) strtoull(argv[2], NULL, 10);
    a->count = strtol(argv[3], NULL, 10);
    a->out = argv[4];
    a->fd = -1;
    a->warmup = 1000;
    a->batch = 1;
    a->pack = 1;
    for (i = 5; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (strcmp(k, "--fd") == 0)
            a->fd = atoi(v);
        else if (strcmp(k, "--serve") == 0)
            a->serve = v;
        else if (strcmp(k, "--alloc") == 0)
            a->alloc = v;
        else if (strcmp(k, "--warmup") == 0)
            a->warmup = strtol(v, NULL, 10);
        else if (strcmp(k, "--busy") == 0)
            a->busy_ns = strtoll(v, NULL, 10);
        else if (strcmp(k, "--batch") == 0)
            a->batch = atoi(v);
        else if (strcmp(k, "--pack") == 0)
            a->pack = atoi(v);
        else
            return -1;
    }
    if (i != argc || a->count < 1 || a->batch < 1 || a->batch > 1024 || a->pack < 1 ||
        a->pack > 1024)
        return -1;
    return 0;
}

static inline FILE *open_out(const char *path)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        die("cannot open the result file");
    return f;
}

/* {"bad": wrong sizes, "lost": unanswered pings, "samples_ns": [...]} */
static inline void write_samples(const char *path, const int64_t *s, long n, long bad, long lost)
{
    FILE *f = open_out(path);
    long i;
    fprintf(f, "{\"bad\": %ld, \"lost\": %ld, \"samples_ns\": [", bad, lost);
    for (i = 0; i < n; ++i)
        fprintf(f, i ? ",%lld" : "%lld", (long long) s[i]);
    fprintf(f, "]}\n");
    fclose(f);
}

/* {"received": N, "bad": K, "elapsed_ns": T} */
static inline void write_flood(const char *path, long received, long bad, int64_t elapsed)
{
    FILE *f = open_out(path);
    fprintf(f, "{\"received\": %ld, \"bad\": %ld, \"elapsed_ns\": %lld}\n", received, bad,
            (long long) elapsed);
    fclose(f);
}

/* {"count": N, "elapsed_ns": T} */
static inline void write_rate(const char *path, long count, int64_t elapsed)
{
    FILE *f = open_out(path);
    fprintf(f, "{\"count\": %ld, \"elapsed_ns\": %lld}\n", count, (long long) elapsed);
    fclose(f);
}

static inline void say_ready(void)
{
    printf("ready\n");
    fflush(stdout);
}

static inline void say_held(void)
{
    printf("held\n");
    fflush(stdout);
}

/* Blocks until the driver sends a line (hold mode's "go"). */
static inline void wait_for_go(void)
{
    char line[64];
    if (fgets(line, sizeof line, stdin) == NULL)
        exit(0);
}

/* hold's "traffic": what each held flow carries before the second
 * measurement (benchmarks/memory.py says the same). */
#define HOLD_TRAFFIC_SDUS 8
#define HOLD_TRAFFIC_SIZE 1500

/* After "held": 1 when the driver asks for traffic, 0 when stdin closes. */
static inline int wait_for_traffic(void)
{
    char line[64];
    if (fgets(line, sizeof line, stdin) == NULL)
        return 0;
    return strncmp(line, "traffic", 7) == 0;
}

static inline void say_moved(void)
{
    printf("moved\n");
    fflush(stdout);
}

/* Blocks until the driver closes our stdin. */
static inline void wait_for_stdin_eof(void)
{
    char buf[64];
    while (fread(buf, 1, sizeof buf, stdin) > 0)
        ;
}

#endif
