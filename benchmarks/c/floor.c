/* floor.c - the C floor: the benchmarks' operations done directly on an
 * AF_UNIX SOCK_SEQPACKET socketpair, the transport of the embedded runtime.
 * Nothing can be faster on this machine, so every other row is compared to
 * it. The driver creates the socketpair (with the flows' buffer size) and
 * passes one end to each process with --fd. See bench_common.h.
 *
 * --pack N floods records that each carry N SDUs (a 4-byte length before
 * each): not something a flow does, but the measure of what such a record
 * format would gain over one record per SDU.
 */
#define _GNU_SOURCE
#include "bench_common.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

/* Same as the embedded runtime's flows (cpp/src/runtime/flow_socket.cpp). */
#define FLOW_SNDBUF ((1 << 20) + (256 << 10))
#define RX_ROOM ((1 << 20) + 1)

static char rx[RX_ROOM];

/* One record; with a busy budget, spins on non-blocking receives first. */
static ssize_t recv_sdu(int fd, void *buf, size_t cap, long long busy_ns)
{
    if (busy_ns > 0) {
        int64_t end = now_ns() + busy_ns;
        unsigned spins = 0;
        for (;;) {
            ssize_t n = recv(fd, buf, cap, MSG_DONTWAIT);
            if (n >= 0 || errno != EAGAIN)
                return n;
            if ((++spins & 15) == 0 && now_ns() >= end)
                break;
        }
    }
    return recv(fd, buf, cap, 0);
}

static void send_sdu(int fd, const void *buf, size_t len)
{
    if (send(fd, buf, len, MSG_NOSIGNAL) != (ssize_t) len)
        die("send failed");
}

static void ping(const struct bench_args *a, const char *tx)
{
    int64_t *samples = calloc((size_t) a->count, sizeof *samples);
    long i, bad = 0;
    if (samples == NULL)
        die("out of memory");
    for (i = -a->warmup; i < a->count; ++i) {
        int64_t t0 = now_ns();
        send_sdu(a->fd, tx, a->size);
        ssize_t n = recv_sdu(a->fd, rx, sizeof rx, a->busy_ns);
        int64_t t1 = now_ns();
        if (n <= 0)
            die("recv failed");
        if ((size_t) n != a->size)
            ++bad;
        if (i >= 0)
            samples[i] = t1 - t0;
    }
    write_samples(a->out, samples, a->count, bad, 0);
    free(samples);
}

static void pong(const struct bench_args *a)
{
    long i;
    for (i = 0; i < a->warmup + a->count; ++i) {
        ssize_t n = recv_sdu(a->fd, rx, sizeof rx, a->busy_ns);
        if (n <= 0)
            die("recv failed");
        send_sdu(a->fd, rx, (size_t) n);
    }
}

static void flood_send(const struct bench_args *a, const char *tx)
{
    struct mmsghdr msgs[1024];
    struct iovec iov = {(void *) tx, a->size};
    long sent = 0;
    int i;
    for (i = 0; i < a->batch; ++i) {
        memset(&msgs[i], 0, sizeof msgs[i]);
        msgs[i].msg_hdr.msg_iov = &iov;
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    while (sent < a->count) {
        if (a->batch == 1) {
            send_sdu(a->fd, tx, a->size);
            ++sent;
            continue;
        }
        long left = a->count - sent;
        int n = sendmmsg(a->fd, msgs, (unsigned) (left < a->batch ? left : a->batch),
                         MSG_NOSIGNAL);
        if (n <= 0)
            die("sendmmsg failed");
        sent += n;
    }
    if (recv(a->fd, rx, sizeof rx, 0) != 1) /* the receiver's "got them all" */
        die("no acknowledgement");
}

/* --pack: N SDUs per record, each after its 4-byte length. */
static void packed_send(const struct bench_args *a, const char *tx)
{
    size_t rec = (4 + a->size) * (size_t) a->pack;
    char *buf = malloc(rec);
    long sent = 0;
    uint32_t len = (uint32_t) a->size;
    if (buf == NULL)
        die("out of memory");
    while (sent < a->count) {
        size_t off = 0;
        int k;
        for (k = 0; k < a->pack && sent < a->count; ++k, ++sent) {
            memcpy(buf + off, &len, 4);
            memcpy(buf + off + 4, tx, a->size);
            off += 4 + a->size;
        }
        send_sdu(a->fd, buf, off);
    }
    if (recv(a->fd, rx, sizeof rx, 0) != 1)
        die("no acknowledgement");
    free(buf);
}

static void packed_recv(const struct bench_args *a)
{
    long got = 0, bad = 0;
    int64_t first = 0, last = 0;
    while (got < a->count) {
        ssize_t n = recv(a->fd, rx, sizeof rx, 0);
        size_t off = 0;
        if (n <= 0)
            die("recv failed");
        last = now_ns();
        if (got == 0)
            first = last;
        while (off + 4 <= (size_t) n) {
            uint32_t len;
            memcpy(&len, rx + off, 4);
            bad += len != a->size;
            off += 4 + len;
            ++got;
        }
    }
    send_sdu(a->fd, "!", 1);
    write_flood(a->out, got, bad, last - first);
}

static void flood_recv(const struct bench_args *a)
{
    static struct mmsghdr msgs[1024];
    static struct iovec iovs[1024];
    size_t slot = a->size + 1; /* room for one byte more: a longer SDU shows */
    char *slots = malloc(slot * (size_t) a->batch);
    long got = 0, bad = 0;
    int64_t first = 0, last = 0;
    int i;
    if (slots == NULL)
        die("out of memory");
    while (got < a->count) {
        int n = 1;
        if (a->batch == 1) {
            ssize_t len = recv(a->fd, slots, slot, 0);
            if (len <= 0)
                die("recv failed");
            msgs[0].msg_len = (unsigned) len;
        } else {
            for (i = 0; i < a->batch; ++i) {
                iovs[i].iov_base = slots + slot * (size_t) i;
                iovs[i].iov_len = slot;
                memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
                msgs[i].msg_hdr.msg_iov = &iovs[i];
                msgs[i].msg_hdr.msg_iovlen = 1;
            }
            long left = a->count - got;
            n = recvmmsg(a->fd, msgs, (unsigned) (left < a->batch ? left : a->batch),
                         MSG_WAITFORONE, NULL);
            if (n <= 0)
                die("recvmmsg failed");
        }
        last = now_ns();
        if (got == 0)
            first = last;
        for (i = 0; i < n; ++i)
            if (msgs[i].msg_len != a->size)
                ++bad;
        got += n;
    }
    send_sdu(a->fd, "!", 1);
    write_flood(a->out, got, bad, last - first);
    free(slots);
}

static int flow_pair(int sv[2])
{
    int bytes = FLOW_SNDBUF;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
        return -1;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
    return 0;
}

/* The floor of making a channel: a configured socketpair, then closing it. */
static void alloc_rate(const struct bench_args *a)
{
    long i;
    int64_t t0 = now_ns();
    for (i = 0; i < a->count; ++i) {
        int sv[2];
        if (flow_pair(sv) != 0)
            die("socketpair failed");
        close(sv[0]);
        close(sv[1]);
    }
    write_rate(a->out, a->count, now_ns() - t0);
}

static void hold(const struct bench_args *a)
{
    long i;
    int warm[2]; /* keeps one-time costs out of the measurement */
    struct held_pair {
        int sv[2];
    } *held = calloc((size_t) a->count, sizeof *held);
    if (held == NULL)
        die("out of memory");
    if (flow_pair(warm) != 0)
        die("socketpair failed");
    say_ready();
    wait_for_go();
    for (i = 0; i < a->count; ++i)
        if (flow_pair(held[i].sv) != 0)
            die("socketpair failed");
    say_held();
    if (wait_for_traffic()) {
        for (i = 0; i < a->count; ++i) {
            int k;
            for (k = 0; k < HOLD_TRAFFIC_SDUS; ++k) {
                send_sdu(held[i].sv[0], rx, HOLD_TRAFFIC_SIZE);
                if (recv(held[i].sv[1], rx, sizeof rx, 0) != HOLD_TRAFFIC_SIZE)
                    die("hold traffic came back wrong");
            }
        }
        say_moved();
    }
    wait_for_stdin_eof();
}

int main(int argc, char **argv)
{
    struct bench_args a;
    char *tx;
    if (parse_args(argc, argv, &a) != 0)
        die("usage: floor MODE SIZE COUNT OUT [--fd N] [--warmup N] [--busy NS] [--batch N] "
            "[--pack N]");
    tx = calloc(1, a.size + 1);
    if (tx == NULL)
        die("out of memory");
    if (strcmp(a.mode, "alloc") == 0)
        alloc_rate(&a);
    else if (strcmp(a.mode, "hold") == 0)
        hold(&a);
    else if (a.fd < 0)
        die("this mode needs --fd");
    else if (strcmp(a.mode, "ping") == 0)
        ping(&a, tx);
    else if (strcmp(a.mode, "pong") == 0)
        pong(&a);
    else if (strcmp(a.mode, "send") == 0 && a.pack > 1)
        packed_send(&a, tx);
    else if (strcmp(a.mode, "send") == 0)
        flood_send(&a, tx);
    else if (strcmp(a.mode, "recv") == 0 && a.pack > 1)
        packed_recv(&a);
    else if (strcmp(a.mode, "recv") == 0)
        flood_recv(&a);
    else
        die("unknown mode");
    free(tx);
    return 0;
}
