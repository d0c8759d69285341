// errno_map.cpp - telling an unreachable IRMd from a refusal.
#include "errno_map.hpp"

#include "system_loader/probe.hpp"

#include <o7s/detail/services.hpp>

#include <cerrno>
#include <chrono>

namespace ouroboros::system {
namespace {

// How long irmd_gone() gives the IRMd to answer.
constexpr auto irmd_answer_limit = std::chrono::seconds(3);

} // namespace

int irmd_failure()
{
    detail::irmd_probe p = detail::probe_irmd(O7S_IRM_SOCKET, std::chrono::seconds(2));
    if (!p.answering) {
        detail::set_error_detail(p.problem);
        return -errc::irmd;
    }
    detail::set_error_detail("the IRMd refused the request (its log may say why)");
    return -EPERM;
}

int irmd_gone()
{
    detail::irmd_probe p = detail::probe_irmd(O7S_IRM_SOCKET, irmd_answer_limit);
    if (p.answering)
        return 0;
    detail::set_error_detail(p.problem);
    return -errc::irmd;
}

} // namespace ouroboros::system
