// flow_batch.cpp - flow_ref's batch and busy-poll calls (see o7s/flow.hpp).
#include <o7s/flow.hpp>

#include "flow_handle.hpp"

#include <cerrno>
#include <string>

namespace ouroboros {

using detail::flow_use;

namespace {

[[noreturn]] void throw_failure(ssize_t neg_errno, const char* what)
{
    std::string detail = detail::take_error_detail();
    throw error(static_cast<int>(-neg_errno),
                detail.empty() ? std::string(what) : std::string(what) + ": " + detail);
}

// A backend's result for a batch: the count, or nullopt for would-block,
// or the exception that fits.
std::optional<std::size_t> batch_result(ssize_t n, const flow_use& use, const char* what)
{
    if (n >= 0)
        return static_cast<std::size_t>(n);
    if (use.closed_meanwhile())
        throw error(errc::not_allocated, std::string("flow was deallocated during ") + what);
    if (n == -EAGAIN)
        return std::nullopt;
    throw_failure(n, what);
}

constexpr std::chrono::nanoseconds max_busy_poll = std::chrono::seconds(1);

} // namespace

std::optional<std::size_t> flow_ref::read_many(sdu_buffer* bufs, std::size_t n)
{
    flow_use use(h_);
    if (bufs == nullptr && n != 0)
        throw error(EINVAL, "flow read_many: no buffers");
    return batch_result(use.be().flow_read_many(use.fd(), bufs, n), use, "flow read_many");
}

std::optional<std::size_t> flow_ref::read_many_into(void* buf, std::size_t size,
                                                    std::size_t* ends, std::size_t max)
{
    flow_use use(h_);
    if (buf == nullptr && size != 0)
        throw error(EINVAL, "flow read_many_into: no buffer for " + std::to_string(size) +
                                " bytes");
    if (ends == nullptr && max != 0)
        throw error(EINVAL, "flow read_many_into: no ends for " + std::to_string(max) + " SDUs");
    auto n = batch_result(use.be().flow_read_many_into(use.fd(), buf, size, ends, max), use,
                          "flow read_many_into");
    // Callers slice their buffer by these: a backend that broke its
    // contract must not make them read outside it.
    if (n && (*n > max || (*n > 0 && ends[*n - 1] > size)))
        throw error(EIO, "flow read_many_into: the backend returned SDUs outside the buffer");
    return n;
}

std::optional<std::size_t> flow_ref::write_many(const sdu_view* sdus, std::size_t n)
{
    flow_use use(h_);
    if (sdus == nullptr && n != 0)
        throw error(EINVAL, "flow write_many: no SDUs");
    return batch_result(use.be().flow_write_many(use.fd(), sdus, n), use, "flow write_many");
}

void flow_ref::set_busy_poll(std::chrono::nanoseconds budget)
{
    flow_use use(h_);
    if (budget.count() < 0 || budget > max_busy_poll)
        throw error(EINVAL, "busy-poll budget must be between 0 and 1 s, not " +
                                std::to_string(budget.count()) + " ns");
    int rc = use.be().set_busy_poll(use.fd(), budget);
    if (rc < 0)
        throw_failure(rc, "set busy poll");
}

std::chrono::nanoseconds flow_ref::busy_poll() const
{
    flow_use use(h_);
    std::chrono::nanoseconds budget{0};
    int rc = use.be().get_busy_poll(use.fd(), budget);
    if (rc < 0)
        throw_failure(rc, "get busy poll");
    return budget;
}

} // namespace ouroboros
