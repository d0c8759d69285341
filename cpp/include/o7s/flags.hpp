// o7s/flags.hpp - flow flags, FRCT flags and event types with the values of
// Ouroboros' fccntl.h and fqueue.h (checked against the real headers at
// compile time wherever the system backend is built: src/system/api_values.cpp).
#pragma once

#include <cstdint>
#include <type_traits>

namespace ouroboros {

// Flags of a flow (FLOWF*). The access mode is a 2-bit field like O_ACCMODE:
// read_only is 0, so test it with access_mode(), not with a bit test.
enum class flow_flags : std::uint32_t {
    read_only = 0,              // FLOWFRDONLY
    write_only = 01,            // FLOWFWRONLY
    read_write = 02,            // FLOWFRDWR
    access_mask = 03,           // FLOWFACCMODE
    down = 04,                  // FLOWFDOWN
    nonblocking_read = 01000,   // FLOWFRNOBLOCK
    nonblocking_write = 02000,  // FLOWFWNOBLOCK
    nonblocking = 03000,        // FLOWFNONBLOCK
    no_partial_read = 010000,   // FLOWFRNOPART
    no_partial_write = 020000,  // FLOWFWNOPART
    defaults = 020002,          // FLOWFDEFAULT = FLOWFRDWR | FLOWFWNOPART
};

// FRCT flags (FRCTF*), a namespace of their own.
enum class frct_flags : std::uint32_t {
    none = 0,
    retransmission = 01,   // FRCTFRTX
    resource_control = 02, // FRCTFRESCNTL
    linger = 04,           // FRCTFLINGER
};

// Event types of an event queue (enum fqtype).
enum class event_type : std::uint32_t {
    none = 0,
    pkt = 1u << 0,     // FLOW_PKT
    down = 1u << 1,    // FLOW_DOWN
    up = 1u << 2,      // FLOW_UP
    alloc = 1u << 3,   // FLOW_ALLOC
    dealloc = 1u << 4, // FLOW_DEALLOC
    peer = 1u << 5,    // FLOW_PEER
};

namespace detail {
template <class E> struct is_bitmask : std::false_type {};
template <> struct is_bitmask<flow_flags> : std::true_type {};
template <> struct is_bitmask<frct_flags> : std::true_type {};
template <> struct is_bitmask<event_type> : std::true_type {};
template <class E> using bitmask_t = std::enable_if_t<is_bitmask<E>::value, E>;
template <class E> constexpr auto raw(E e) noexcept
{
    return static_cast<std::underlying_type_t<E>>(e);
}
} // namespace detail

// Bit operators for the flag enums (a partial BitmaskType).
template <class E> constexpr detail::bitmask_t<E> operator|(E a, E b) noexcept
{
    return E(detail::raw(a) | detail::raw(b));
}
template <class E> constexpr detail::bitmask_t<E> operator&(E a, E b) noexcept
{
    return E(detail::raw(a) & detail::raw(b));
}
template <class E> constexpr detail::bitmask_t<E> operator^(E a, E b) noexcept
{
    return E(detail::raw(a) ^ detail::raw(b));
}
template <class E> constexpr detail::bitmask_t<E> operator~(E a) noexcept
{
    return E(~detail::raw(a));
}
template <class E> constexpr detail::bitmask_t<E>& operator|=(E& a, E b) noexcept
{
    return a = a | b;
}
template <class E> constexpr detail::bitmask_t<E>& operator&=(E& a, E b) noexcept
{
    return a = a & b;
}

// True when any bit of `bits` is set in `flags`.
template <class E> constexpr bool any(detail::bitmask_t<E> flags, E bits) noexcept
{
    return detail::raw(flags & bits) != 0;
}

constexpr flow_flags access_mode(flow_flags f) noexcept
{
    return f & flow_flags::access_mask;
}

} // namespace ouroboros
