// loader.hpp - finds and loads the system backend plugin.
//
// libouroboros-dev exits the process from a load-time constructor when no
// IRMd answers, so the plugin that links it is only dlopen()ed after a probe
// of the IRMd socket succeeds.
#pragma once

#include <o7s/detail/backend.hpp>

#include <memory>
#include <string>

namespace ouroboros::detail {

// The system backend, or nullptr with the reason in `why`.
std::unique_ptr<backend> load_system_backend(std::string& why);

} // namespace ouroboros::detail
