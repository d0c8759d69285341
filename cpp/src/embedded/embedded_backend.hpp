// embedded_backend.hpp - the backend that talks to the embedded runtime.
#pragma once

#include <o7s/detail/backend.hpp>

#include <memory>

namespace ouroboros::embedded {

std::unique_ptr<detail::backend> make_backend();

// The version of the control protocol this library speaks with the daemon.
int protocol_version() noexcept;

} // namespace ouroboros::embedded
