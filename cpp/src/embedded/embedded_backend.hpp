// embedded_backend.hpp - the backend that talks to the embedded runtime.
#pragma once

#include <o7s/detail/backend.hpp>

#include <memory>

namespace ouroboros::embedded {

std::unique_ptr<detail::backend> make_backend();

} // namespace ouroboros::embedded
