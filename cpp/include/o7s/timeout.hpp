// o7s/timeout.hpp - how the C++ API spells a timeout.
#pragma once

#include <chrono>
#include <optional>

namespace ouroboros {

// std::nullopt blocks without limit; a zero duration does not wait at all.
// Any std::chrono duration converts: flow::accept(std::chrono::seconds(2)).
using timeout = std::optional<std::chrono::nanoseconds>;

inline constexpr std::nullopt_t block = std::nullopt;

} // namespace ouroboros
