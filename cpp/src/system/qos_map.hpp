// qos_map.hpp - qos_spec <-> the library's qosspec_t.
#pragma once

#include "ouroboros_c.hpp"

#include <o7s/qos.hpp>

namespace ouroboros::system {

// Fills `out` from `in`. Returns 0, or -ENOTSUP (with the error detail set)
// for a cypher strength on a release that has no per-flow cypher.
int to_library(const qos_spec& in, qosspec_t& out);

qos_spec from_library(const qosspec_t& in) noexcept;

} // namespace ouroboros::system
