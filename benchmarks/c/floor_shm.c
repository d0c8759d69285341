/* floor_shm.c - the shared-memory floor: the benchmarks' operations done on
 * the ring of cpp/src/runtime/flow_ring.hpp, written directly in C, with no
 * library around it. It shows what a flow over that ring could reach on this
 * machine, as floor.c does for the socketpair.
 *
 * The same contract as flow_ring.hpp (re-implemented here, not shared, so
 * that the floor stays independent of the library it measures):
 * - one memfd: a 4096-byte page with the rings' control words, then ring d
 *   (the SDUs end d writes) at 4096 + d * R; R from OUROBOROS_FLOW_RING_KIB
 *   when set and non-zero (as the daemon reads it), else 512 KiB;
 * - single producer, single consumer; records of an 8-byte header
 *   {u32 length, u32 kind} and the payload rounded up to 8 bytes, each
 *   contiguous, a pad record over the rest of the data area where one would
 *   not fit; SDUs larger than R / 2 - 8 go through the socket behind an
 *   in_socket record;
 * - tail and head are 64-bit byte counters, published with release and
 *   loaded with acquire; the reader checks every index, kind and length;
 * - wake-ups only when the reader sleeps: it sets `armed`, fences, and
 *   re-checks the ring before it waits; a writer that published into an
 *   empty ring fences and rings the reader's data bell (an eventfd) only if
 *   `armed` is set. A writer with no room sets `writer_waits` and sleeps on
 *   a futex on `head_seq`, which the reader bumps with head and wakes only
 *   when `writer_waits` is set.
 * - A blocked reader waits in poll() on its bell and the socket, as a flow
 *   waits on [bell, socket]; --busy spins on the ring first (checking the
 *   clock every 16 spins, as floor.c does).
 *
 * The driver passes one end of a socketpair with --fd, as for floor.c. The
 * client (ping, send) creates the memfd and the two bells and hands them to
 * the server (pong, recv) over the socket (SCM_RIGHTS): set-up, not timed.
 * --batch N publishes (and consumes) N records at a time: one tail store
 * and one bell check a batch, as write_many / read_many would.
 */
#define _GNU_SOURCE
#include "bench_common.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Same as the embedded runtime's flows (cpp/src/runtime/flow_socket.cpp). */
#define FLOW_SNDBUF ((1 << 20) + (256 << 10))
#define PAGE_BYTES 4096u
#define RING_DEFAULT (512u << 10)
#define RING_MIN (16u << 10)
#define RING_MAX (64u << 20)
#define HDR 8u
#define MAX_SDU ((1 << 20) + 1)

enum { REC_DATA = 1, REC_IN_SOCKET = 2, REC_PAD = 3 };

struct record {
    uint32_t length;
    uint32_t kind;
};

/* The control words of one ring, laid out as ring_control in flow_ring.hpp. */
struct control {
    _Alignas(64) _Atomic uint64_t tail;
    _Atomic uint32_t writer_waits;
    _Alignas(64) _Atomic uint64_t head;
    _Atomic uint32_t head_seq;
    _Atomic uint32_t armed;
};

struct page {
    _Alignas(64) struct control ring[2];
};

_Static_assert(sizeof(struct page) <= PAGE_BYTES, "the control words fit the page");

/* One end's view of one ring: its own copy of the counter it owns, so the
 * hot path never reads back what only it writes. */
struct ring {
    struct control *c;
    unsigned char *data;
    uint64_t bytes;
    uint64_t mine; /* tail (writer) or head (reader) */
    int bell;      /* the reader's data bell */
    int sock;      /* the flow's socket: SDUs that do not fit, and hang-up */
};

static char rx[MAX_SDU];

static uint64_t round8(uint64_t n)
{
    return (n + 7u) & ~(uint64_t) 7u;
}

static uint64_t max_record(uint64_t bytes)
{
    return bytes / 2 - HDR;
}

static uint64_t ring_bytes_from_env(void)
{
    const char *v = getenv("OUROBOROS_FLOW_RING_KIB");
    unsigned long long kib;
    if (v == NULL || *v == '\0')
        return RING_DEFAULT;
    kib = strtoull(v, NULL, 10);
    if (kib == 0) /* the flows have no rings then; the floor still needs one */
        return RING_DEFAULT;
    if (kib << 10 < RING_MIN)
        return RING_MIN;
    if (kib << 10 > RING_MAX)
        return RING_MAX;
    return (uint64_t) kib << 10;
}

static void corrupt(const char *what)
{
    fprintf(stderr, "bench: the peer corrupted the ring: %s\n", what);
    exit(3);
}

static long futex(_Atomic uint32_t *word, int op, uint32_t val)
{
    return syscall(SYS_futex, (uint32_t *) word, op, val, NULL, NULL, 0);
}

/* ------------------------------------------------------------ the writer */

/* Room for `need` bytes at the tail (plus a pad to the end of the data area
 * when they do not fit before it); sleeps on head_seq while there is none. */
static uint64_t room_for(struct ring *w, uint64_t need)
{
    for (;;) {
        uint64_t head = atomic_load_explicit(&w->c->head, memory_order_acquire);
        uint64_t used = w->mine - head;
        uint64_t pos = w->mine % w->bytes, to_end = w->bytes - pos;
        uint64_t total = need <= to_end ? need : to_end + need;
        if (head > w->mine || used > w->bytes)
            corrupt("head out of range");
        if (w->bytes - used >= total)
            return total;
        uint32_t seq = atomic_load_explicit(&w->c->head_seq, memory_order_acquire);
        atomic_store_explicit(&w->c->writer_waits, 1, memory_order_relaxed);
        atomic_thread_fence(memory_order_seq_cst);
        head = atomic_load_explicit(&w->c->head, memory_order_acquire);
        if (w->bytes - (w->mine - head) < total)
            futex(&w->c->head_seq, FUTEX_WAIT, seq);
        atomic_store_explicit(&w->c->writer_waits, 0, memory_order_relaxed);
    }
}

/* Copies one record at the tail; published by publish(). */
static void put(struct ring *w, uint32_t kind, const void *buf, uint32_t len)
{
    uint64_t need = HDR + (kind == REC_DATA ? round8(len) : 0);
    uint64_t total = room_for(w, need);
    struct record h = {len, kind};
    if (total != need) { /* pad over the rest, start again at 0 */
        struct record pad = {(uint32_t) (total - need - HDR), REC_PAD};
        memcpy(w->data + w->mine % w->bytes, &pad, HDR);
        w->mine += total - need;
    }
    unsigned char *at = w->data + w->mine % w->bytes;
    memcpy(at, &h, HDR);
    if (kind == REC_DATA)
        memcpy(at + HDR, buf, len);
    w->mine += need;
}

/* Publishes what put() copied since `before`; rings the bell if the reader
 * had emptied the ring and announced that it sleeps. */
static void publish(struct ring *w, uint64_t before)
{
    atomic_store_explicit(&w->c->tail, w->mine, memory_order_release);
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&w->c->armed, memory_order_acquire) &&
        atomic_load_explicit(&w->c->head, memory_order_acquire) == before) {
        uint64_t one = 1;
        if (write(w->bell, &one, sizeof one) != sizeof one)
            die("cannot ring the bell");
    }
}

static void write_sdu(struct ring *w, const void *buf, size_t len)
{
    uint64_t before = w->mine;
    if (len > max_record(w->bytes)) {
        put(w, REC_IN_SOCKET, NULL, (uint32_t) len);
        publish(w, before);
        if (send(w->sock, buf, len, MSG_NOSIGNAL) != (ssize_t) len)
            die("send failed");
        return;
    }
    put(w, REC_DATA, buf, (uint32_t) len);
    publish(w, before);
}

/* N copies of one SDU, one publication (write_many). */
static void write_batch(struct ring *w, const void *buf, size_t len, long n)
{
    uint64_t before = w->mine;
    long i;
    if (len > max_record(w->bytes)) {
        for (i = 0; i < n; ++i)
            write_sdu(w, buf, len);
        return;
    }
    for (i = 0; i < n; ++i) {
        /* A batch larger than the free room publishes what it has first. */
        if (w->bytes - (w->mine - atomic_load_explicit(&w->c->head, memory_order_acquire)) <
            2 * (HDR + round8(len))) {
            publish(w, before);
            before = w->mine;
        }
        put(w, REC_DATA, buf, (uint32_t) len);
    }
    publish(w, before);
}

/* ------------------------------------------------------------ the reader */

/* The tail, checked; > mine when there are records. */
static uint64_t load_tail(struct ring *r)
{
    uint64_t tail = atomic_load_explicit(&r->c->tail, memory_order_acquire);
    if (tail < r->mine || tail - r->mine > r->bytes)
        corrupt("tail out of range");
    return tail;
}

static void free_room(struct ring *r)
{
    atomic_store_explicit(&r->c->head, r->mine, memory_order_release);
    atomic_fetch_add_explicit(&r->c->head_seq, 1, memory_order_release);
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&r->c->writer_waits, memory_order_relaxed))
        futex(&r->c->head_seq, FUTEX_WAKE, INT_MAX);
}

/* Waits until the ring has a record; returns the tail. */
static uint64_t wait_for_data(struct ring *r, long long busy_ns)
{
    uint64_t tail = load_tail(r);
    if (tail != r->mine)
        return tail;
    if (busy_ns > 0) {
        int64_t end = now_ns() + busy_ns;
        unsigned spins = 0;
        for (;;) {
            tail = load_tail(r);
            if (tail != r->mine)
                return tail;
            if ((++spins & 15) == 0 && now_ns() >= end)
                break;
        }
    }
    atomic_store_explicit(&r->c->armed, 1, memory_order_relaxed);
    for (;;) {
        atomic_thread_fence(memory_order_seq_cst);
        tail = load_tail(r);
        if (tail != r->mine)
            break;
        struct pollfd p[2] = {{r->bell, POLLIN, 0}, {r->sock, POLLIN, 0}};
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            die("poll failed");
        if (p[0].revents & POLLIN) {
            uint64_t count;
            if (read(r->bell, &count, sizeof count) < 0 && errno != EAGAIN)
                die("cannot read the bell");
        }
        if (p[1].revents & (POLLHUP | POLLERR)) {
            tail = load_tail(r);
            if (tail != r->mine)
                break;
            die("the peer hung up");
        }
    }
    atomic_store_explicit(&r->c->armed, 0, memory_order_relaxed);
    return tail;
}

/* The next record's payload length, its data at *at (NULL: it is on the
 * socket); skips pads. Does not free its room. */
static uint32_t next_record(struct ring *r, uint64_t tail, const unsigned char **at)
{
    for (;;) {
        uint64_t pos = r->mine % r->bytes, to_end = r->bytes - pos, avail = tail - r->mine;
        struct record h;
        if (avail < HDR)
            corrupt("a partial header");
        memcpy(&h, r->data + pos, HDR);
        if (h.kind == REC_PAD) {
            if (h.length != to_end - HDR || avail < to_end)
                corrupt("a bad pad record");
            r->mine += to_end;
            continue;
        }
        if (h.kind == REC_IN_SOCKET) {
            if (h.length > MAX_SDU)
                corrupt("a bad in-socket record");
            r->mine += HDR;
            *at = NULL;
            return h.length;
        }
        if (h.kind != REC_DATA || HDR + round8(h.length) > to_end ||
            HDR + round8(h.length) > avail)
            corrupt("a bad data record");
        *at = r->data + pos + HDR;
        r->mine += HDR + round8(h.length);
        return h.length;
    }
}

/* One SDU into buf (cap bytes); returns its length. */
static size_t read_sdu(struct ring *r, void *buf, size_t cap, long long busy_ns)
{
    uint64_t tail = wait_for_data(r, busy_ns);
    const unsigned char *at;
    uint32_t len = next_record(r, tail, &at);
    if (at == NULL) {
        free_room(r);
        ssize_t n = recv(r->sock, buf, cap, 0);
        if (n < 0 || (size_t) n != len)
            die("the socket's SDU does not match its in-socket record");
        return (size_t) n;
    }
    if (len > cap)
        die("an SDU larger than the buffer");
    memcpy(buf, at, len);
    free_room(r);
    return len;
}

/* Up to `want` SDUs into slots of `slot` bytes, lengths in lens; one
 * publication of head (read_many). */
static int read_batch(struct ring *r, char *slots, size_t slot, uint32_t *lens, int want,
                      long long busy_ns)
{
    uint64_t tail = wait_for_data(r, busy_ns);
    int n = 0;
    while (n < want && r->mine != tail) {
        const unsigned char *at;
        uint32_t len = next_record(r, tail, &at);
        char *to = slots + slot * (size_t) n;
        if (at == NULL) {
            free_room(r);
            ssize_t got = recv(r->sock, to, slot, 0);
            if (got < 0 || (size_t) got != len)
                die("the socket's SDU does not match its in-socket record");
        } else {
            if (len > slot)
                die("an SDU larger than the buffer");
            memcpy(to, at, len);
        }
        lens[n++] = len;
    }
    free_room(r);
    return n;
}

/* --------------------------------------------------------- the channel */

struct channel {
    int sock;
    int memfd;
    uint64_t bytes; /* per ring */
    void *map;
    struct ring out, in; /* the ring this end writes, the one it reads */
};

static void *map_memfd(int fd, uint64_t bytes)
{
    void *m = mmap(NULL, PAGE_BYTES + 2 * bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED)
        die("cannot map the rings");
    return m;
}

/* End `end`'s view of a mapping; bells[d] is the bell of ring d's reader. */
static void attach(struct channel *ch, int end, const int bells[2])
{
    struct page *pg = ch->map;
    unsigned char *base = (unsigned char *) ch->map + PAGE_BYTES;
    int d = end, e = 1 - end;
    ch->out = (struct ring){&pg->ring[d], base + (uint64_t) d * ch->bytes, ch->bytes,
                            atomic_load(&pg->ring[d].tail), bells[d], ch->sock};
    ch->in = (struct ring){&pg->ring[e], base + (uint64_t) e * ch->bytes, ch->bytes,
                           atomic_load(&pg->ring[e].head), bells[e], ch->sock};
}

/* A memfd of the flow's size and its page initialised (the daemon's part). */
static int make_memfd(uint64_t bytes)
{
    int fd = memfd_create("o7s-floor-shm", MFD_CLOEXEC);
    if (fd < 0 || ftruncate(fd, (off_t) (PAGE_BYTES + 2 * bytes)) != 0)
        die("cannot create the rings' memfd");
    return fd;
}

static void send_fds(int sock, const int *fds, int n)
{
    char byte = 'r';
    struct iovec iov = {&byte, 1};
    union {
        struct cmsghdr h;
        char room[CMSG_SPACE(3 * sizeof(int))];
    } u;
    struct msghdr m = {0};
    memset(&u, 0, sizeof u);
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = u.room;
    m.msg_controllen = CMSG_SPACE((size_t) n * sizeof(int));
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN((size_t) n * sizeof(int));
    memcpy(CMSG_DATA(c), fds, (size_t) n * sizeof(int));
    if (sendmsg(sock, &m, MSG_NOSIGNAL) != 1)
        die("cannot hand over the rings");
}

static void recv_fds(int sock, int *fds, int n)
{
    char byte;
    struct iovec iov = {&byte, 1};
    union {
        struct cmsghdr h;
        char room[CMSG_SPACE(3 * sizeof(int))];
    } u;
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = u.room;
    m.msg_controllen = sizeof u.room;
    if (recvmsg(sock, &m, MSG_CMSG_CLOEXEC) != 1)
        die("no rings from the peer");
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    if (c == NULL || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(n * sizeof(int)))
        die("the peer sent no descriptors");
    memcpy(fds, CMSG_DATA(c), (size_t) n * sizeof(int));
}

/* The client's end: creates the rings and hands them over. */
static void open_client(struct channel *ch, int sock)
{
    int fds[3], bells[2];
    ch->sock = sock;
    ch->bytes = ring_bytes_from_env();
    ch->memfd = make_memfd(ch->bytes);
    ch->map = map_memfd(ch->memfd, ch->bytes);
    memset(ch->map, 0, PAGE_BYTES);
    bells[0] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    bells[1] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (bells[0] < 0 || bells[1] < 0)
        die("eventfd failed");
    fds[0] = ch->memfd, fds[1] = bells[0], fds[2] = bells[1];
    send_fds(sock, fds, 3);
    attach(ch, 0, bells);
}

/* The server's end: maps what the client sent, its size checked once. */
static void open_server(struct channel *ch, int sock)
{
    int fds[3];
    struct stat st;
    ch->sock = sock;
    recv_fds(sock, fds, 3);
    ch->memfd = fds[0];
    if (fstat(ch->memfd, &st) != 0 || st.st_size <= PAGE_BYTES ||
        (st.st_size - PAGE_BYTES) % 16 != 0)
        die("the rings' memfd has a bad size");
    ch->bytes = (uint64_t) (st.st_size - PAGE_BYTES) / 2;
    ch->map = map_memfd(ch->memfd, ch->bytes);
    attach(ch, 1, fds + 1);
}

/* ---------------------------------------------------------- workloads */

static void ping(struct channel *ch, const struct bench_args *a, const char *tx)
{
    int64_t *samples = calloc((size_t) a->count, sizeof *samples);
    long i, bad = 0;
    if (samples == NULL)
        die("out of memory");
    for (i = -a->warmup; i < a->count; ++i) {
        int64_t t0 = now_ns();
        write_sdu(&ch->out, tx, a->size);
        size_t n = read_sdu(&ch->in, rx, sizeof rx, a->busy_ns);
        int64_t t1 = now_ns();
        if (n != a->size)
            ++bad;
        if (i >= 0)
            samples[i] = t1 - t0;
    }
    write_samples(a->out, samples, a->count, bad, 0);
    free(samples);
}

static void pong(struct channel *ch, const struct bench_args *a)
{
    long i;
    for (i = 0; i < a->warmup + a->count; ++i) {
        size_t n = read_sdu(&ch->in, rx, sizeof rx, a->busy_ns);
        write_sdu(&ch->out, rx, n);
    }
}

static void flood_send(struct channel *ch, const struct bench_args *a, const char *tx)
{
    long sent = 0;
    while (sent < a->count) {
        long left = a->count - sent, n = left < a->batch ? left : a->batch;
        if (n == 1)
            write_sdu(&ch->out, tx, a->size);
        else
            write_batch(&ch->out, tx, a->size, n);
        sent += n;
    }
    if (read_sdu(&ch->in, rx, sizeof rx, 0) != 1) /* the receiver's "got them all" */
        die("no acknowledgement");
}

static void flood_recv(struct channel *ch, const struct bench_args *a)
{
    size_t slot = a->size + 1; /* room for one byte more: a longer SDU shows */
    char *slots = malloc(slot * (size_t) a->batch);
    uint32_t lens[1024];
    long got = 0, bad = 0;
    int64_t first = 0, last = 0;
    int i;
    if (slots == NULL)
        die("out of memory");
    while (got < a->count) {
        int n = 1;
        if (a->batch == 1) {
            lens[0] = (uint32_t) read_sdu(&ch->in, slots, slot, a->busy_ns);
        } else {
            long left = a->count - got;
            n = read_batch(&ch->in, slots, slot, lens, (int) (left < a->batch ? left : a->batch),
                           a->busy_ns);
        }
        last = now_ns();
        if (got == 0)
            first = last;
        for (i = 0; i < n; ++i)
            if (lens[i] != a->size)
                ++bad;
        got += n;
    }
    write_sdu(&ch->out, "!", 1);
    write_flood(a->out, got, bad, last - first);
    free(slots);
}

/* Both ends of one channel in this process, as two processes would hold
 * it: a configured socketpair, the memfd mapped once per end, one bell per
 * end. */
struct pair {
    int sv[2];
    int memfd;
    int bells[2];
    uint64_t bytes;
    void *map[2];
};

static void pair_open(struct pair *p)
{
    int bytes = FLOW_SNDBUF;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p->sv) != 0)
        die("socketpair failed");
    setsockopt(p->sv[0], SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
    setsockopt(p->sv[1], SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
    p->bytes = ring_bytes_from_env();
    p->memfd = make_memfd(p->bytes);
    p->map[0] = map_memfd(p->memfd, p->bytes);
    p->map[1] = map_memfd(p->memfd, p->bytes);
    memset(p->map[0], 0, PAGE_BYTES); /* the page is written, as the daemon writes a flow's */
    p->bells[0] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    p->bells[1] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (p->bells[0] < 0 || p->bells[1] < 0)
        die("eventfd failed");
}

static void pair_close(struct pair *p)
{
    munmap(p->map[0], PAGE_BYTES + 2 * p->bytes);
    munmap(p->map[1], PAGE_BYTES + 2 * p->bytes);
    close(p->memfd);
    close(p->bells[0]);
    close(p->bells[1]);
    close(p->sv[0]);
    close(p->sv[1]);
}

/* The floor of making a channel: all of the above, then closing it. */
static void alloc_rate(const struct bench_args *a)
{
    long i;
    int64_t t0 = now_ns();
    for (i = 0; i < a->count; ++i) {
        struct pair p;
        pair_open(&p);
        pair_close(&p);
    }
    write_rate(a->out, a->count, now_ns() - t0);
}

/* hold's "traffic": SDUs end 0 writes into its ring and end 1 reads. */
static void pair_traffic(struct pair *p)
{
    struct channel w = {.sock = p->sv[0], .memfd = p->memfd, .bytes = p->bytes, .map = p->map[0]};
    struct channel r = {.sock = p->sv[1], .memfd = p->memfd, .bytes = p->bytes, .map = p->map[1]};
    int i;
    attach(&w, 0, p->bells);
    attach(&r, 1, p->bells);
    for (i = 0; i < HOLD_TRAFFIC_SDUS; ++i) {
        write_sdu(&w.out, rx, HOLD_TRAFFIC_SIZE);
        if (read_sdu(&r.in, rx, sizeof rx, 0) != HOLD_TRAFFIC_SIZE)
            die("hold traffic came back wrong");
    }
}

static void hold(const struct bench_args *a)
{
    struct pair *held = calloc((size_t) a->count + 1, sizeof *held);
    long i;
    if (held == NULL)
        die("out of memory");
    pair_open(&held[a->count]); /* keeps one-time costs out of the measurement */
    say_ready();
    wait_for_go();
    for (i = 0; i < a->count; ++i)
        pair_open(&held[i]);
    say_held();
    if (wait_for_traffic()) {
        for (i = 0; i < a->count; ++i)
            pair_traffic(&held[i]);
        say_moved();
    }
    wait_for_stdin_eof();
}

int main(int argc, char **argv)
{
    struct bench_args a;
    struct channel ch;
    char *tx;
    if (parse_args(argc, argv, &a) != 0)
        die("usage: floor_shm MODE SIZE COUNT OUT [--fd N] [--warmup N] [--busy NS] "
            "[--batch N]");
    if (a.size >= MAX_SDU)
        die("SDUs of at most 1 MiB");
    tx = calloc(1, a.size + 1);
    if (tx == NULL)
        die("out of memory");
    if (strcmp(a.mode, "alloc") == 0)
        alloc_rate(&a);
    else if (strcmp(a.mode, "hold") == 0)
        hold(&a);
    else if (a.fd < 0)
        die("this mode needs --fd");
    else if (strcmp(a.mode, "ping") == 0 || strcmp(a.mode, "send") == 0) {
        open_client(&ch, a.fd);
        if (a.mode[0] == 'p')
            ping(&ch, &a, tx);
        else
            flood_send(&ch, &a, tx);
    } else if (strcmp(a.mode, "pong") == 0 || strcmp(a.mode, "recv") == 0) {
        open_server(&ch, a.fd);
        if (a.mode[0] == 'p')
            pong(&ch, &a);
        else
            flood_recv(&ch, &a);
    } else
        die("unknown mode");
    free(tx);
    return 0;
}
