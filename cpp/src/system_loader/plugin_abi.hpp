// plugin_abi.hpp - the contract between the library and the system
// backend plugin (libo7s-system.so).
//
// The plugin is loaded with RTLD_LOCAL and does not see the library's
// symbols, so the library hands it the services a backend uses (error
// detail, the interrupt hook) as plain function pointers. Both sides are
// compiled with the same O7S_SYSTEM_ABI key, derived from the seam's
// headers; the plugin refuses a caller with another key.
#pragma once

#include <o7s/detail/backend.hpp>

#include <cstddef>
#include <cstdint>

extern "C" {

struct o7s_host_api {
    std::uint32_t size; // sizeof(o7s_host_api) of the caller
    void (*set_error_detail)(const char* text) noexcept;
    bool (*interrupted)() noexcept;
};

// Creates the backend, or returns nullptr with a reason in `why`.
using o7s_system_factory = ouroboros::detail::backend* (*)(const char* abi_key,
                                                           const o7s_host_api* host,
                                                           char* why, std::size_t why_size);
}

namespace ouroboros::detail {
inline constexpr const char* system_factory_symbol = "o7s_system_backend_create";
} // namespace ouroboros::detail
