// flow_request.cpp - non-blocking flow requests over the backend seam.
#include <o7s/flow_request.hpp>

#include <o7s/detail/backend.hpp>

#include "flow_handle.hpp"
#include "inherited.hpp"

namespace ouroboros {

namespace {

[[noreturn]] void fail(int neg_errno, const std::string& what)
{
    std::string detail = detail::take_error_detail();
    throw error(-neg_errno, detail.empty() ? what : what + ": " + detail);
}


} // namespace

flow_request::flow_request() noexcept = default;

flow_request::~flow_request()
{
    cancel();
}

flow_request::flow_request(flow_request&&) noexcept = default;

flow_request& flow_request::operator=(flow_request&& other) noexcept
{
    if (this != &other) {
        cancel();
        p_ = std::move(other.p_);
        what_ = std::move(other.what_);
        owner_ = other.owner_;
    }
    return *this;
}

flow_request::flow_request(std::unique_ptr<detail::pending_flow> p, std::string what) noexcept
    : p_(std::move(p)), what_(std::move(what)), owner_(detail::this_process())
{
}

void flow_request::check_owner() const
{
    if (p_ && owner_ != detail::this_process())
        detail::throw_inherited(errc::not_allocated, "this flow request", owner_);
}

flow_request flow_request::alloc(const std::string& dst, const std::optional<qos_spec>& qos,
                                 timeout t)
{
    detail::check_flow_name(dst, "flow allocation");
    std::string what = "flow allocation to '" + dst + "'";
    int err = 0;
    auto p = detail::active_backend().flows().start_flow_request(detail::request_kind::alloc, dst,
                                                         qos ? &*qos : nullptr, t, err);
    if (!p)
        fail(err, what);
    return flow_request(std::move(p), std::move(what));
}

flow_request flow_request::accept(timeout t)
{
    int err = 0;
    auto p = detail::active_backend().flows().start_flow_request(detail::request_kind::accept, "",
                                                         nullptr, t, err);
    if (!p)
        fail(err, "flow accept");
    return flow_request(std::move(p), "flow accept");
}

flow_request flow_request::join(const std::string& dst, const std::optional<qos_spec>& qos,
                                timeout t)
{
    detail::check_flow_name(dst, "joining a broadcast layer");
    std::string what = "joining broadcast layer '" + dst + "'";
    int err = 0;
    auto p = detail::active_backend().flows().start_flow_request(detail::request_kind::join, dst,
                                                         qos ? &*qos : nullptr, t, err);
    if (!p)
        fail(err, what);
    return flow_request(std::move(p), std::move(what));
}

int flow_request::fd() const
{
    check_owner();
    if (!p_)
        throw error(EALREADY, "the flow request is finished");
    return p_->fd();
}

std::optional<flow> flow_request::poll()
{
    check_owner();
    if (!p_)
        throw error(EALREADY, "the flow request is finished");
    int fd = p_->poll(nullptr);
    if (fd == -EAGAIN)
        return std::nullopt;
    p_.reset();
    if (fd < 0)
        fail(fd, what_);
    return flow::adopt(fd);
}

void flow_request::cancel() noexcept
{
    if (p_ && owner_ != detail::this_process()) {
        // The parent's request (forked since): giving it up would close
        // the parent's connection state or flow (inherited.hpp).
        static_cast<void>(p_.release());
        return;
    }
    p_.reset();
}

} // namespace ouroboros
