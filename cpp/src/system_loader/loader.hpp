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

// The Ouroboros release the system plugin was built for, "" when this build
// has no system backend (release.cpp).
std::string system_backend_release();

// The release whose protocol the IRMd answering on its socket speaks (e.g.
// "0.23"), asked without loading the plugin; "" with the reason in `why`
// when none answers.
std::string running_irmd_release(std::string& why);

} // namespace ouroboros::detail
