// plugin_entry.cpp - the one symbol the plugin exports (the backend: its
// flow half and its IRM half), and the services of the loading library
// (error detail, interrupt hook) that the backend uses.
#include "exit_gate.hpp"
#include "system_flows.hpp"
#include "system_irm.hpp"

#include "system_loader/plugin_abi.hpp"

#include <cstdio>
#include <cstring>
#include <new>

namespace ouroboros {
namespace {

o7s_host_api host{};

class system_backend final : public detail::backend {
public:
    const char* name() const noexcept override { return "system"; }
    detail::flow_backend& flows() noexcept override { return flows_; }
    detail::irm_backend& irm() noexcept override { return irm_; }

private:
    system::system_irm irm_;
    system::system_flows flows_{irm_};
};

} // namespace

// The detail:: functions the backend code calls, forwarded to the library
// that loaded the plugin (its per-thread detail and its Python hook).
void detail::set_error_detail(std::string text)
{
    if (host.set_error_detail != nullptr)
        host.set_error_detail(text.c_str());
}

bool detail::interrupted() noexcept
{
    return host.interrupted != nullptr && host.interrupted();
}

} // namespace ouroboros

extern "C" __attribute__((visibility("default"))) ouroboros::detail::backend*
o7s_system_backend_create(const char* abi_key, const o7s_host_api* caller, char* why,
                          std::size_t why_size)
{
    auto refuse = [&](const char* text) -> ouroboros::detail::backend* {
        if (why != nullptr && why_size > 0)
            std::snprintf(why, why_size, "%s", text);
        return nullptr;
    };
    if (abi_key == nullptr || std::strcmp(abi_key, O7S_SYSTEM_ABI) != 0)
        return refuse("the system backend plugin was built from other sources than the "
                      "library loading it (plugin ABI " O7S_SYSTEM_ABI "); reinstall both "
                      "together");
    if (caller == nullptr || caller->size < sizeof(o7s_host_api))
        return refuse("the library loading the system backend plugin is too old");
    ouroboros::host = *caller;
    ouroboros::system::install_exit_gate();
    try {
        return new ouroboros::system_backend();
    } catch (const std::bad_alloc&) {
        return refuse("out of memory");
    }
}
