// flow_batch_io.cpp - reading and writing batches of SDUs on an embedded
// flow: with rings, many records per call and no system call (one bell at
// the end of a written batch at most); without, one recvmmsg()/sendmmsg()
// per batch.
//
// Each SDU is still one record, so the peer may read a batch one SDU at a
// time and vice versa. Only the first SDU of a call (and, when writing, the
// first after the ring or the socket filled up) takes the single-SDU path
// in flow_io.cpp; it alone may wait, and it applies the flags, timeouts,
// busy polling and partial-read state. The rest move without waiting.
#include "flow_batch_io.hpp"

#include "flow_ring_io.hpp"

#include <cstring>

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <mutex>

namespace ouroboros::embedded {
namespace {

// SDUs per system call; larger batches take several calls.
constexpr std::size_t chunk = 64;

// Whether the SDUs travel in the socket as the application wrote them. An
// encrypted flow seals each one (flow_crypto.hpp), so it takes the
// single-SDU path for each, which knows how.
bool plain(const flow_state& f) noexcept
{
    return f.cipher == nullptr;
}

// One recvmmsg() of up to `chunk` SDUs into v[0..n), buffers larger than
// any SDU (so none is cut and no partial-read state arises). Called with
// f.reading held. Returns how many it took; `more` says whether another
// call may find more queued.
std::size_t take_queued(flow_state& f, sdu_buffer* v, std::size_t n, bool& more)
{
    mmsghdr msgs[chunk];
    iovec iovs[chunk];
    const std::size_t want = std::min(n, chunk);
    for (std::size_t i = 0; i < want; ++i) {
        iovs[i] = {v[i].data, v[i].size};
        msgs[i] = {};
        msgs[i].msg_hdr.msg_iov = &iovs[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    more = false;
    int m = ::recvmmsg(f.sock, msgs, static_cast<unsigned>(want), MSG_DONTWAIT, nullptr);
    if (m <= 0)
        return 0; // nothing queued, or a failure the next read reports
    std::size_t taken = 0;
    std::size_t consumed = 0;
    for (; taken < static_cast<std::size_t>(m); ++taken) {
        const mmsghdr& r = msgs[taken];
        // A 0-byte record is the end of the flow (our writers never send
        // one); the next read sees it again and reports it.
        if (r.msg_len == 0)
            break;
        ++consumed;
        // Cannot happen (the kernel refuses records larger than the
        // sender's buffer, which bounds max_sdu() on both ends); if it did,
        // the SDU is dropped, as Ouroboros drops one that does not fit.
        if (r.msg_hdr.msg_flags & MSG_TRUNC)
            break;
        v[taken].size = r.msg_len;
    }
    f.mine().consumed.fetch_add(consumed, std::memory_order_relaxed);
    more = taken == want;
    return taken;
}

// The records queued in the ring into v[0..n), buffers that take any SDU
// whole. Called with
// f.reading held. Returns how many it took; a broken ring marks the flow
// down for the next read to report.
std::size_t take_from_ring(flow_state& f, sdu_buffer* v, std::size_t n)
{
    std::size_t taken = 0;
    for (; taken < n; ++taken) {
        runtime::ring_reader::record rec;
        runtime::ring_status s = f.rx.peek(rec, max_sdu());
        if (s == runtime::ring_status::broken)
            ring_fault(f);
        if (s != runtime::ring_status::ok || rec.length > v[taken].size)
            break;
        if (rec.kind == runtime::ring_data) {
            std::memcpy(v[taken].data, rec.payload, rec.length);
        } else {
            iovec iov{v[taken].data, v[taken].size};
            msghdr mh{};
            mh.msg_iov = &iov;
            mh.msg_iovlen = 1;
            if (ring_socket_sdu(f, mh, rec.length) < 0)
                break;
        }
        v[taken].size = rec.length;
        ring_done(f, /*more=*/true);
    }
    ring_done_batch(f);
    return taken;
}

// SDUs from v[0..n) into the ring while they fit the ring now, published
// at once (with one bell at most). Called with f.writing held. Returns how
// many went; the caller sends the rest through write_sdu(), which waits.
std::size_t put_in_ring(flow_state& f, const sdu_view* v, std::size_t n)
{
    const std::size_t limit = f.tx.max_record();
    std::size_t k = 0;
    for (; k < n; ++k) {
        const std::size_t size = v[k].size;
        if (size == 0 || size > limit || ring_write_check(f, /*batch=*/true) < 0 ||
            f.tx.try_put(runtime::ring_data, static_cast<std::uint32_t>(size), v[k].data,
                         size) != runtime::ring_status::ok)
            break;
    }
    if (f.tx.unpublished() && f.tx.publish())
        ring_bell(f);
    f.mine().sent.fetch_add(k, std::memory_order_relaxed);
    return k;
}

} // namespace

ssize_t read_sdus(flow_state& f, sdu_buffer* v, std::size_t n)
{
    if (n == 0)
        return 0;
    const std::size_t first_room = v[0].size;
    ssize_t got = read_sdu(f, v[0].data, first_room);
    if (got < 0)
        return got;
    v[0].size = static_cast<std::size_t>(got);
    if (static_cast<std::size_t>(got) == first_room || !plain(f))
        return 1; // the SDU may go on: the next read belongs to it
    // The buffers after the first that take any SDU whole (as the seam
    // says, even where the ring could tell an SDU's size first).
    const std::size_t limit = max_sdu();
    std::size_t whole = 0;
    while (1 + whole < n && v[1 + whole].size > limit)
        ++whole;
    std::lock_guard<std::mutex> lock(f.reading);
    if (f.end_of_sdu_pending || !f.rest.empty())
        return 1; // another thread's partial read comes first
    if (f.has_rings())
        return static_cast<ssize_t>(1 + take_from_ring(f, v + 1, whole));
    std::size_t done = 0;
    bool more = true;
    while (more && done < whole)
        done += take_queued(f, v + 1 + done, whole - done, more);
    return static_cast<ssize_t>(1 + done);
}

ssize_t write_sdus(flow_state& f, const sdu_view* v, std::size_t n)
{
    const std::size_t limit = f.max_payload();
    std::size_t done = 0;
    bool single = true; // the next SDU takes write_sdu()
    while (done < n) {
        if (!single && plain(f) && f.has_rings()) {
            std::lock_guard<std::mutex> lock(f.writing);
            done += put_in_ring(f, v + done, n - done);
            single = true; // what is left (if anything) waits or is refused
            continue;
        }
        if (single || !plain(f)) {
            ssize_t rc = write_sdu(f, v[done].data, v[done].size);
            if (rc < 0)
                return done > 0 ? static_cast<ssize_t>(done) : rc;
            ++done;
            single = false;
            continue;
        }
        // A run of SDUs that go out as they are: not empty (an empty SDU
        // sends nothing) and not over the limit (cut or refused by
        // write_sdu() according to the flags).
        mmsghdr msgs[chunk];
        iovec iovs[chunk];
        std::size_t k = 0;
        while (k < chunk && done + k < n && v[done + k].size > 0 && v[done + k].size <= limit) {
            iovs[k] = {const_cast<void*>(v[done + k].data), v[done + k].size};
            msgs[k] = {};
            msgs[k].msg_hdr.msg_iov = &iovs[k];
            msgs[k].msg_hdr.msg_iovlen = 1;
            ++k;
        }
        if (k == 0) {
            single = true;
            continue;
        }
        int m = ::sendmmsg(f.sock, msgs, static_cast<unsigned>(k), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (m > 0) {
            f.mine().sent.fetch_add(static_cast<std::uint64_t>(m), std::memory_order_relaxed);
            done += static_cast<std::size_t>(m);
            continue;
        }
        if (m < 0 && errno == EINTR)
            continue;
        if (m < 0 && errno != EAGAIN)
            return static_cast<ssize_t>(done); // the next call reports it
        single = true; // the socket is full: write_sdu() waits as the flow says
    }
    return static_cast<ssize_t>(done);
}

} // namespace ouroboros::embedded

namespace ouroboros::embedded {
namespace {

// Packs queued SDUs after buf[0, ends[-1]) while each fits whole: shorter
// than the room left (an exact fill would not end its SDU, as the seam
// says). f.reading held.
std::size_t pack_from_ring(flow_state& f, std::uint8_t* buf, std::size_t size, std::size_t* ends,
                           std::size_t max)
{
    std::size_t k = 0;
    std::size_t used = ends[-1];
    for (; k < max; ++k) {
        runtime::ring_reader::record rec;
        runtime::ring_status s = f.rx.peek(rec, max_sdu());
        if (s == runtime::ring_status::broken)
            ring_fault(f);
        if (s != runtime::ring_status::ok || rec.length >= size - used)
            break;
        if (rec.kind == runtime::ring_data) {
            std::memcpy(buf + used, rec.payload, rec.length);
        } else {
            iovec iov{buf + used, rec.length};
            msghdr mh{};
            mh.msg_iov = &iov;
            mh.msg_iovlen = 1;
            if (ring_socket_sdu(f, mh, rec.length) < 0)
                break;
        }
        used += rec.length;
        ends[k] = used;
        ring_done(f, /*more=*/true);
    }
    ring_done_batch(f);
    return k;
}

// The same from the socket: each record's length by a peek first.
std::size_t pack_from_socket(flow_state& f, std::uint8_t* buf, std::size_t size,
                             std::size_t* ends, std::size_t max)
{
    std::size_t k = 0;
    std::size_t used = ends[-1];
    for (; k < max; ++k) {
        char probe;
        ssize_t len = ::recv(f.sock, &probe, 1, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
        if (len <= 0 || static_cast<std::size_t>(len) >= size - used)
            break; // nothing, the end of the flow (the next read reports it), or no room
        ssize_t n = ::recv(f.sock, buf + used, size - used, MSG_DONTWAIT);
        if (n != len)
            break;
        used += static_cast<std::size_t>(n);
        ends[k] = used;
        f.mine().consumed.fetch_add(1, std::memory_order_relaxed);
    }
    return k;
}

} // namespace

ssize_t read_sdus_into(flow_state& f, void* buf, std::size_t size, std::size_t* ends,
                       std::size_t max)
{
    if (max == 0)
        return 0;
    ssize_t got = read_sdu(f, buf, size);
    if (got < 0)
        return got;
    ends[0] = static_cast<std::size_t>(got);
    if (ends[0] == size)
        return 1; // the SDU may go on: the next read belongs to it
    if (!plain(f)) {
        // Sizes are known only once opened: as the seam's default, while
        // the room left takes any SDU and one is queued.
        std::size_t i = 1;
        for (; i < max && size - ends[i - 1] > f.max_payload(); ++i) {
            if (f.peer().sent.load(std::memory_order_acquire) <=
                f.mine().consumed.load(std::memory_order_relaxed))
                break;
            const std::size_t end = ends[i - 1];
            got = read_sdu(f, static_cast<std::uint8_t*>(buf) + end, size - end);
            if (got <= 0)
                break; // a failure shows again on the next call
            ends[i] = end + static_cast<std::size_t>(got);
        }
        return static_cast<ssize_t>(i);
    }
    std::lock_guard<std::mutex> lock(f.reading);
    if (f.end_of_sdu_pending || !f.rest.empty())
        return 1;
    auto* bytes = static_cast<std::uint8_t*>(buf);
    std::size_t more = f.has_rings() ? pack_from_ring(f, bytes, size, ends + 1, max - 1)
                                     : pack_from_socket(f, bytes, size, ends + 1, max - 1);
    return static_cast<ssize_t>(1 + more);
}

} // namespace ouroboros::embedded
