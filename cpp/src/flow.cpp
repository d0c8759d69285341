// flow.cpp - the owning flow and its non-owning view.
#include <o7s/flow.hpp>

#include "flow_handle.hpp"
#include "runtime/names.hpp"

#include <cerrno>

namespace ouroboros {
namespace detail {
std::atomic<int> open_flows{0};
} // namespace detail

using detail::flow_use;

namespace {

// Throws for a negative backend result, with the backend's detail if any.
[[noreturn]] void fail(int neg_errno, const char* what)
{
    std::string detail = detail::take_error_detail();
    throw error(-neg_errno, detail.empty() ? std::string(what) : std::string(what) + ": " + detail);
}

void check(int rc, const char* what)
{
    if (rc < 0)
        fail(rc, what);
}

} // namespace

void detail::check_flow_name(const std::string& dst, const std::string& what)
{
    std::string why;
    if (int rc = runtime::check_name(dst, why); rc < 0)
        throw error(-rc, what + ": " + why);
}

// ---------------------------------------------------------------- flow_ref

bool flow_ref::is_open() const noexcept
{
    return h_ != nullptr && h_->is_open();
}

bool flow_ref::inherited() const noexcept
{
    return h_ != nullptr && h_->inherited();
}

int flow_ref::descriptor() const
{
    flow_use use(h_);
    return use.fd();
}

std::optional<std::size_t> flow_ref::read(void* buf, std::size_t count)
{
    flow_use use(h_);
    ssize_t n = use.be().flow_read(use.fd(), buf, count);
    if (n >= 0)
        return static_cast<std::size_t>(n);
    if (use.closed_meanwhile())
        throw error(errc::not_allocated, "flow was deallocated during read");
    if (n == -EAGAIN)
        return std::nullopt;
    fail(static_cast<int>(n), "flow read");
}

std::optional<std::size_t> flow_ref::write(const void* buf, std::size_t count)
{
    flow_use use(h_);
    ssize_t n = use.be().flow_write(use.fd(), buf, count);
    if (n >= 0)
        return static_cast<std::size_t>(n);
    if (use.closed_meanwhile())
        throw error(errc::not_allocated, "flow was deallocated during write");
    if (n == -EAGAIN)
        return std::nullopt;
    fail(static_cast<int>(n), "flow write");
}

void flow_ref::set_rcv_timeout(timeout t)
{
    flow_use use(h_);
    check(use.be().set_timeout(use.fd(), detail::direction::rcv, t), "set receive timeout");
}

timeout flow_ref::rcv_timeout() const
{
    flow_use use(h_);
    timeout t;
    check(use.be().get_timeout(use.fd(), detail::direction::rcv, t), "get receive timeout");
    return t;
}

void flow_ref::set_snd_timeout(timeout t)
{
    flow_use use(h_);
    check(use.be().set_timeout(use.fd(), detail::direction::snd, t), "set send timeout");
}

timeout flow_ref::snd_timeout() const
{
    flow_use use(h_);
    timeout t;
    check(use.be().get_timeout(use.fd(), detail::direction::snd, t), "get send timeout");
    return t;
}

void flow_ref::set_flags(flow_flags f)
{
    flow_use use(h_);
    check(use.be().set_flags(use.fd(), f), "set flow flags");
}

flow_flags flow_ref::flags() const
{
    flow_use use(h_);
    flow_flags f{};
    check(use.be().get_flags(use.fd(), f), "get flow flags");
    return f;
}

void flow_ref::set_frct_flags(frct_flags f)
{
    flow_use use(h_);
    check(use.be().set_frct_flags(use.fd(), f), "set FRCT flags");
}

frct_flags flow_ref::frct() const
{
    flow_use use(h_);
    frct_flags f{};
    check(use.be().get_frct_flags(use.fd(), f), "get FRCT flags");
    return f;
}

qos_spec flow_ref::qos() const
{
    flow_use use(h_);
    qos_spec q;
    check(use.be().get_qos(use.fd(), q), "get QoS");
    return q;
}

std::size_t flow_ref::rx_queue_len() const
{
    flow_use use(h_);
    std::size_t n = 0;
    check(use.be().queue_len(use.fd(), detail::direction::rcv, n), "get rx queue length");
    return n;
}

std::size_t flow_ref::tx_queue_len() const
{
    flow_use use(h_);
    std::size_t n = 0;
    check(use.be().queue_len(use.fd(), detail::direction::snd, n), "get tx queue length");
    return n;
}

int flow_ref::pollable_fd() const
{
    flow_use use(h_);
    int fd = use.be().pollable_fd(use.fd());
    check(fd, "get pollable descriptor");
    return fd;
}

std::size_t flow_ref::max_sdu() const
{
    flow_use use(h_);
    return use.be().flow_max_sdu(use.fd());
}

// -------------------------------------------------------------------- flow

flow::~flow()
{
    try {
        close();
    } catch (...) {
        // A destructor must not throw; the descriptor is released either way.
    }
    detail::release(h_);
}

flow::flow(flow&& other) noexcept : flow_ref(other.h_)
{
    other.h_ = nullptr;
}

flow& flow::operator=(flow&& other) noexcept
{
    if (this != &other) {
        flow doomed(std::move(*this)); // closes and frees our old handle
        h_ = other.h_;
        other.h_ = nullptr;
    }
    return *this;
}

flow flow::adopt(int fd)
{
    detail::open_flows.fetch_add(1, std::memory_order_relaxed);
    return flow(new detail::flow_handle(detail::active_backend().flows(), fd));
}

flow flow::alloc(const std::string& dst, const std::optional<qos_spec>& qos, timeout t)
{
    detail::check_flow_name(dst, "flow allocation");
    qos_spec q = qos.value_or(qos_spec{});
    int fd = detail::active_backend().flows().flow_alloc(dst, qos ? &q : nullptr, t);
    if (fd < 0)
        fail(fd, ("flow allocation to '" + dst + "'").c_str());
    return adopt(fd);
}

flow flow::accept(timeout t)
{
    int fd = detail::active_backend().flows().flow_accept(nullptr, t);
    check(fd, "flow accept");
    return adopt(fd);
}

flow flow::join(const std::string& dst, const std::optional<qos_spec>& qos, timeout t)
{
    detail::check_flow_name(dst, "joining a broadcast layer");
    qos_spec q = qos.value_or(qos_spec{});
    int fd = detail::active_backend().flows().flow_join(dst, qos ? &q : nullptr, t);
    if (fd < 0)
        fail(fd, ("joining broadcast layer '" + dst + "'").c_str());
    return adopt(fd);
}

void flow::close()
{
    detail::flow_handle* h = h_;
    if (h == nullptr)
        return;
    // In a forked child: the parent's flow. Deallocating it, waking its
    // operations (the in-flight count is the parent's) or leaving its sets
    // would reach what the parent shares; the destructor just lets go.
    if (h->inherited())
        detail::throw_inherited(errc::not_allocated, "this flow", h->owner);
    auto s = h->state.fetch_or(detail::flow_handle::closing, std::memory_order_acq_rel);
    if (s & detail::flow_handle::closing)
        return; // closed already, or being closed by another thread
    if ((s & ~detail::flow_handle::closing) != 0) {
        h->be.flow_interrupt(h->fd);
        std::unique_lock<std::mutex> lock(h->m);
        h->drained.wait(lock, [h] {
            return (h->state.load(std::memory_order_acquire) & ~detail::flow_handle::closing) == 0;
        });
    }
    detail::leave_all_sets(h);
    detail::open_flows.fetch_sub(1, std::memory_order_relaxed);
    check(h->be.flow_dealloc(h->fd), "flow deallocation");
}

} // namespace ouroboros
