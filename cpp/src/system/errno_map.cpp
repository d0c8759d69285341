// errno_map.cpp - telling an unreachable IRMd from a refusal.
#include "errno_map.hpp"

#include "system_loader/probe.hpp"

#include <o7s/detail/services.hpp>

#include <cerrno>
#include <chrono>

namespace ouroboros::system {

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

} // namespace ouroboros::system
