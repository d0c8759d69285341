// o7s/backend.hpp - which Ouroboros implementation the API talks to.
//
// "embedded": the library's own single-host runtime (always available).
// "system":   the real Ouroboros (libouroboros-dev), where it was found at
//             build time and an IRMd answers.
// The choice is made on first use: $OUROBOROS_BACKEND if set, else system
// when available, else embedded. select_backend() overrides it before then.
#pragma once

#include <string>

namespace ouroboros {

// Name of the active backend, selecting it if that has not happened yet.
std::string backend_name();

// Selects a backend by name ("embedded", "system" or "auto"). Throws
// ouroboros::error with the reason when it is unavailable, and when another
// backend is already in use by open flows.
void select_backend(const std::string& name);

// Why the system backend cannot be used here, or "" when it can.
std::string system_backend_unavailable_reason();

} // namespace ouroboros
