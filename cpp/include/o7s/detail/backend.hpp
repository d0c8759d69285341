// o7s/detail/backend.hpp - an Ouroboros implementation as the C++ API sees
// it: a name, a flow half (flow_backend.hpp: dev.h, fccntl.h, fqueue.h) and
// an IRM half (irm_backend.hpp: irm.h).
//
// Two backends implement it: the embedded runtime (cpp/src/embedded) and
// the real Ouroboros (cpp/src/system, a plugin loaded with dlopen). The
// wrappers reach the active one through active_backend().
#pragma once

#include <o7s/detail/flow_backend.hpp>
#include <o7s/detail/irm_backend.hpp>
#include <o7s/detail/services.hpp>

namespace ouroboros::detail {

class backend {
public:
    virtual ~backend() = default;
    virtual const char* name() const noexcept = 0;
    virtual flow_backend& flows() noexcept = 0;
    virtual irm_backend& irm() noexcept = 0;
};

// The active backend, selected on first use (see o7s/backend.hpp).
backend& active_backend();

} // namespace ouroboros::detail
