// release.cpp - which Ouroboros this build is for, and which one runs here
// (for version reports; nothing is loaded).
#include "loader.hpp"
#include "probe.hpp"

#ifndef O7S_OUROBOROS_VERSION
#define O7S_OUROBOROS_VERSION "" // built without the system backend
#endif
#ifndef O7S_IRM_SOCKET
#define O7S_IRM_SOCKET "/var/run/ouroboros/irm.sock" // Ouroboros' default
#endif

namespace ouroboros::detail {

std::string system_backend_release()
{
    return O7S_OUROBOROS_VERSION;
}

std::string running_irmd_release(std::string& why)
{
    irmd_probe irmd = probe_irmd(O7S_IRM_SOCKET, std::chrono::seconds(2));
    if (!irmd.answering) {
        why = irmd.problem;
        return {};
    }
    return protocol_name(irmd.protocol);
}

} // namespace ouroboros::detail
