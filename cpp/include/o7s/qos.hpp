// o7s/qos.hpp - QoS specification of a flow, with the presets of Ouroboros'
// qos.h. Field meanings and units follow qosspec_t.
#pragma once

#include <cstdint>
#include <limits>

namespace ouroboros {

inline constexpr std::uint32_t default_peer_timeout_ms = 120000;

struct qos_spec {
    std::uint32_t delay = std::numeric_limits<std::uint32_t>::max(); // ms
    std::uint64_t bandwidth = 0;  // bits/s
    std::uint8_t availability = 0; // class of nines
    std::uint32_t loss = 1;        // 0 = no loss tolerated (retransmission)
    std::uint32_t ber = 1;         // bit errors per billion bits
    std::uint8_t in_order = 0;     // 1 = in-order delivery
    std::uint32_t max_gap = std::numeric_limits<std::uint32_t>::max(); // ms
    std::uint16_t cypher_s = 0;    // cypher strength in bits, 0 = plaintext
    std::uint32_t timeout = default_peer_timeout_ms; // peer timeout in ms, 0 = none

    // The fields in wire order, under the names of ouroboros.qos.QoSSpec
    // (see o7s/irm.hpp).
    template <class S, class V> static void fields(S& s, V&& v)
    {
        v("delay", s.delay);
        v("bandwidth", s.bandwidth);
        v("availability", s.availability);
        v("loss", s.loss);
        v("ber", s.ber);
        v("in_order", s.in_order);
        v("max_gap", s.max_gap);
        v("cypher_s", s.cypher_s);
        v("timeout", s.timeout);
    }

    friend bool operator==(const qos_spec& a, const qos_spec& b) noexcept
    {
        return a.delay == b.delay && a.bandwidth == b.bandwidth &&
               a.availability == b.availability && a.loss == b.loss &&
               a.ber == b.ber && a.in_order == b.in_order &&
               a.max_gap == b.max_gap && a.cypher_s == b.cypher_s &&
               a.timeout == b.timeout;
    }
    friend bool operator!=(const qos_spec& a, const qos_spec& b) noexcept
    {
        return !(a == b);
    }
};

namespace qos {
inline constexpr std::uint32_t u32_max = std::numeric_limits<std::uint32_t>::max();

inline constexpr qos_spec raw{u32_max, 0, 0, 1, 1, 0, u32_max, 0, default_peer_timeout_ms};
inline constexpr qos_spec raw_no_errors{u32_max, 0, 0, 1, 0, 0, u32_max, 0,
                                        default_peer_timeout_ms};
inline constexpr qos_spec best_effort{u32_max, 0, 0, 1, 0, 1, u32_max, 0,
                                      default_peer_timeout_ms};
inline constexpr qos_spec video{100, std::numeric_limits<std::uint64_t>::max(), 3, 1, 0, 1,
                                100, 0, default_peer_timeout_ms};
inline constexpr qos_spec voice{50, 100000, 5, 1, 0, 1, 50, 0, default_peer_timeout_ms};
inline constexpr qos_spec data{1000, 0, 0, 0, 0, 1, 2000, 0, default_peer_timeout_ms};

// The encrypted variants of Ouroboros 0.21 (256-bit cypher); as in its
// qos.h, the encrypted raw spec also asks for no bit errors.
constexpr qos_spec encrypted(qos_spec q, std::uint16_t bits = 256) noexcept
{
    q.cypher_s = bits;
    return q;
}
inline constexpr qos_spec raw_crypt = encrypted(raw_no_errors);
inline constexpr qos_spec best_effort_crypt = encrypted(best_effort);
inline constexpr qos_spec video_crypt = encrypted(video);
inline constexpr qos_spec voice_crypt = encrypted(voice);
inline constexpr qos_spec data_crypt = encrypted(data);
} // namespace qos

} // namespace ouroboros
