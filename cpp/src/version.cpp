// version.cpp - o7s/version.hpp: the library's version and what it talks to.
#include <o7s/version.hpp>

#include "embedded/embedded_backend.hpp"
#include "system_loader/loader.hpp"

namespace ouroboros {

std::string version()
{
    return O7S_VERSION; // from pyproject.toml, through CMake
}

version_report versions()
{
    version_report r;
    r.version = version();
    r.runtime_protocol = embedded::protocol_version();
    r.system_release = detail::system_backend_release();
    r.irmd_release = detail::running_irmd_release(r.irmd_problem);
    return r;
}

} // namespace ouroboros
