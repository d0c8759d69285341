// flows.cpp - the flow half of the embedded backend (flows.hpp): requests
// for flows, and flow control (fccntl) on this process' flow state.
#include "flows.hpp"

#include "event_set.hpp"
#include "flow_batch_io.hpp"
#include "flow_crypto.hpp"
#include "flow_install.hpp"
#include "flow_ring_io.hpp"

#include <o7s/error.hpp>

#include <sys/socket.h>

#include <cerrno>
#include <cstdio>

namespace ouroboros::embedded {
namespace {

using detail::direction;

int missing(int fd)
{
    return fd < 0 ? -EBADF : -errc::not_allocated;
}

int need_frct(const flow_state& f)
{
    if (f.has_frct())
        return 0;
    detail::set_error_detail("the flow has no FRCT (its QoS does not ask for in-order "
                             "delivery)");
    return -EPERM;
}

std::string to_octal(std::uint32_t v)
{
    char buf[16];
    std::snprintf(buf, sizeof buf, "%o", v);
    return buf;
}

// A flow_alloc request and our half of its key exchange. `confirm`: the
// acceptor gets its end only after we have ours (proto::flow_confirm), so
// that the request can be given up safely; a blocking allocation saves
// that daemon round. 0 or -errno.
int alloc_request(const std::string& dst, const qos_spec* qos, timeout t, bool confirm,
                  proto::flow_alloc& request, key_pair& keys)
{
    qos_spec q = qos ? *qos : qos_spec{};
    if (supported_cypher_bits(q.cypher_s, q.cypher_s) < 0) {
        detail::set_error_detail("a cypher of " + std::to_string(q.cypher_s) +
                                 " bits is not supported (at most 256)");
        return -errc::crypt;
    }
    // An encrypted flow needs our half of the key exchange.
    if (q.cypher_s > 0)
        if (int rc = keys.generate(); rc < 0)
            return rc;
    std::optional<qos_spec> asked;
    if (qos)
        asked = q;
    request = proto::flow_alloc{dst, asked, timeout_ns(t), keys.public_key(), confirm};
    return 0;
}

// Only the allocator knows whether the flow will be encrypted, so an
// accept offers no key: for an encrypted flow, install_flow() makes one
// after the grant and sends it over the flow itself.
proto::flow_accept accept_request(timeout t)
{
    return proto::flow_accept{timeout_ns(t)};
}

int join_request(const std::string& dst, const qos_spec* qos, timeout t,
                 proto::flow_join& request)
{
    if (qos && qos->cypher_s > 0) {
        // As Ouroboros 0.21: a broadcast layer has no pair of ends to
        // exchange keys between.
        detail::set_error_detail("broadcast flows cannot be encrypted (cypher_s must be 0)");
        return -ENOTSUP;
    }
    std::optional<qos_spec> asked;
    if (qos)
        asked = *qos;
    request = proto::flow_join{dst, asked, timeout_ns(t)};
    return 0;
}

} // namespace

// ------------------------------------------------------------------ flows

int embedded_flows::flow_alloc(const std::string& dst, qos_spec* qos, timeout t)
{
    proto::flow_alloc request;
    key_pair keys;
    if (int rc = alloc_request(dst, qos, t, /*confirm=*/false, request, keys); rc < 0)
        return rc;
    return request_flow(flows_, request, std::move(keys), qos, t);
}

int embedded_flows::flow_accept(qos_spec* qos, timeout t)
{
    return request_flow(flows_, accept_request(t), key_pair(), qos, t);
}

int embedded_flows::flow_join(const std::string& dst, qos_spec* qos, timeout t)
{
    proto::flow_join request;
    if (int rc = join_request(dst, qos, t, request); rc < 0)
        return rc;
    return request_flow(flows_, request, key_pair(), qos, t);
}

std::unique_ptr<detail::pending_flow>
embedded_flows::start_flow_request(detail::request_kind kind, const std::string& dst,
                                   const qos_spec* qos, timeout t, int& err)
{
    switch (kind) {
    case detail::request_kind::alloc: {
        proto::flow_alloc request;
        key_pair keys;
        if (err = alloc_request(dst, qos, t, /*confirm=*/true, request, keys); err < 0)
            return nullptr;
        return embedded::start_flow_request(flows_, request, std::move(keys), err);
    }
    case detail::request_kind::accept:
        return embedded::start_flow_request(flows_, accept_request(t), key_pair(), err);
    case detail::request_kind::join: {
        proto::flow_join request;
        if (err = join_request(dst, qos, t, request); err < 0)
            return nullptr;
        return embedded::start_flow_request(flows_, request, key_pair(), err);
    }
    }
    err = -EINVAL;
    return nullptr;
}

int embedded_flows::flow_dealloc(int fd)
{
    flow_state* f = flows_.take(fd);
    if (f == nullptr)
        return fd < 0 ? -EINVAL : -errc::not_allocated;
    release_flow(std::unique_ptr<flow_state>(f));
    return 0;
}

void embedded_flows::flow_interrupt(int fd) noexcept
{
    if (flow_state* f = flows_.get(fd)) {
        // Before the hang-up, so the peer sees FLOW_DEALLOC, not FLOW_DOWN.
        f->my_state().fetch_or(end_deallocated, std::memory_order_release);
        ::shutdown(f->sock, SHUT_RDWR);
    }
}

ssize_t embedded_flows::flow_read(int fd, void* buf, std::size_t count)
{
    flow_state* f = flows_.get(fd);
    return f ? read_sdu(*f, buf, count) : missing(fd);
}

ssize_t embedded_flows::flow_write(int fd, const void* buf, std::size_t count)
{
    flow_state* f = flows_.get(fd);
    return f ? write_sdu(*f, buf, count) : missing(fd);
}

ssize_t embedded_flows::flow_read_many(int fd, sdu_buffer* v, std::size_t n)
{
    flow_state* f = flows_.get(fd);
    return f ? read_sdus(*f, v, n) : missing(fd);
}

ssize_t embedded_flows::flow_write_many(int fd, const sdu_view* v, std::size_t n)
{
    flow_state* f = flows_.get(fd);
    return f ? write_sdus(*f, v, n) : missing(fd);
}

ssize_t embedded_flows::flow_read_many_into(int fd, void* buf, std::size_t size,
                                            std::size_t* ends, std::size_t max)
{
    flow_state* f = flows_.get(fd);
    if (f == nullptr)
        return missing(fd);
    if ((buf == nullptr && size != 0) || (ends == nullptr && max != 0))
        return -EINVAL;
    return read_sdus_into(*f, buf, size, ends, max);
}

// ----------------------------------------------------------- flow control

int embedded_flows::set_busy_poll(int fd, std::chrono::nanoseconds budget)
{
    flow_state* f = flows_.get(fd);
    if (f == nullptr)
        return missing(fd);
    f->busy_poll_ns.store(budget.count());
    return 0;
}

int embedded_flows::get_busy_poll(int fd, std::chrono::nanoseconds& budget)
{
    flow_state* f = flows_.get(fd);
    if (f == nullptr)
        return missing(fd);
    budget = std::chrono::nanoseconds(f->busy_poll_ns.load());
    return 0;
}

int embedded_flows::set_timeout(int fd, direction d, timeout t)
{
    flow_state* f = flows_.get(fd);
    if (f == nullptr)
        return missing(fd);
    if (t && t->count() < 0)
        return -EINVAL;
    (d == direction::rcv ? f->rcv_timeo_ns : f->snd_timeo_ns).store(timeout_ns(t));
    return 0;
}

int embedded_flows::get_timeout(int fd, direction d, timeout& t)
{
    flow_state* f = flows_.get(fd);
    if (f == nullptr)
        return missing(fd);
    std::int64_t ns = (d == direction::rcv ? f->rcv_timeo_ns : f->snd_timeo_ns).load();
    t = ns < 0 ? timeout() : timeout(std::chrono::nanoseconds(ns));
    return 0;
}

// Replaces all flags (FLOWSFLAGS). Down marks the flow down at both ends
// until a set_flags() without it: reads drain what is queued, then fail
// with EFLOWDOWN, as do writes. The peer's event sets see FLOW_DOWN, and
// FLOW_UP when the mark goes.
int embedded_flows::set_flags(int fd, flow_flags fl)
{
    flow_state* f = flows_.get(fd);
    if (f == nullptr)
        return missing(fd);
    constexpr auto known = flow_flags::access_mask | flow_flags::down | flow_flags::nonblocking |
                           flow_flags::no_partial_read | flow_flags::no_partial_write;
    if (access_mode(fl) == flow_flags::access_mask) {
        detail::set_error_detail("write-only and read-write cannot both be set");
        return -EINVAL;
    }
    if (any(fl, ~known)) {
        detail::set_error_detail("unknown flow flags 0" + to_octal(detail::raw(fl & ~known)));
        return -EINVAL;
    }
    f->flags.store(static_cast<std::uint32_t>(fl));
    std::uint32_t was = any(fl, flow_flags::down)
                            ? f->my_state().fetch_or(end_down, std::memory_order_acq_rel)
                            : f->my_state().fetch_and(~end_down, std::memory_order_acq_rel);
    if (bool(was & end_down) != any(fl, flow_flags::down))
        notify_peer(*f);
    return 0;
}

int embedded_flows::get_flags(int fd, flow_flags& fl)
{
    flow_state* f = flows_.get(fd);
    if (f == nullptr)
        return missing(fd);
    fl = f->current_flags();
    return 0;
}

int embedded_flows::get_qos(int fd, qos_spec& q)
{
    flow_state* f = flows_.get(fd);
    if (f == nullptr)
        return missing(fd);
    q = f->qos;
    return 0;
}

int embedded_flows::queue_len(int fd, direction d, std::size_t& n)
{
    flow_state* f = flows_.get(fd);
    if (f == nullptr)
        return missing(fd);
    // rx: what the peer sent that we did not consume; tx the reverse.
    const flow_end_counters& from = d == direction::rcv ? f->peer() : f->mine();
    const flow_end_counters& to = d == direction::rcv ? f->mine() : f->peer();
    std::uint64_t sent = from.sent.load(std::memory_order_acquire);
    std::uint64_t consumed = to.consumed.load(std::memory_order_acquire);
    n = sent > consumed ? static_cast<std::size_t>(sent - consumed) : 0;
    return 0;
}

// FRCT flags as Ouroboros keeps them: only flows with FRCT (in_order) have
// them; retransmission follows the QoS (loss == 0) and cannot be changed;
// resource control and linger can. The embedded runtime's sockets never
// lose, reorder or drop queued SDUs, so every flow gets what these flags
// ask for whatever their value.
int embedded_flows::set_frct_flags(int fd, frct_flags fl)
{
    flow_state* f = flows_.get(fd);
    if (f == nullptr)
        return missing(fd);
    if (int rc = need_frct(*f); rc < 0)
        return rc;
    constexpr auto settable = frct_flags::resource_control | frct_flags::linger;
    if (any(fl, ~(settable | frct_flags::retransmission))) {
        detail::set_error_detail("unknown FRCT flags 0" + to_octal(detail::raw(fl)));
        return -EINVAL;
    }
    auto keep = static_cast<frct_flags>(f->frct.load()) & frct_flags::retransmission;
    f->frct.store(detail::raw(keep | (fl & settable)));
    return 0;
}

int embedded_flows::get_frct_flags(int fd, frct_flags& fl)
{
    flow_state* f = flows_.get(fd);
    if (f == nullptr)
        return missing(fd);
    if (int rc = need_frct(*f); rc < 0)
        return rc;
    fl = static_cast<frct_flags>(f->frct.load());
    return 0;
}

// Without rings the socket itself: readable exactly when a record (an SDU)
// or the hang-up is there. With rings, an epoll instance that is so
// (flow_ring_io.hpp).
int embedded_flows::pollable_fd(int fd)
{
    flow_state* f = flows_.get(fd);
    if (f == nullptr)
        return missing(fd);
    return f->has_rings() ? ring_pollable_fd(*f) : f->sock;
}

std::size_t embedded_flows::flow_max_sdu(int fd)
{
    flow_state* f = flows_.get(fd);
    return f ? f->max_payload() : runtime::max_sdu();
}

std::unique_ptr<detail::event_set> embedded_flows::create_event_set(int& err)
{
    auto set = make_event_set(flows_, err);
    if (!set)
        err = -err;
    return set;
}

} // namespace ouroboros::embedded
