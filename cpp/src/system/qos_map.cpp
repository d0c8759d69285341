// qos_map.cpp - QoS specs across the C API.
#include "qos_map.hpp"

#include <o7s/detail/backend.hpp>

#include <cerrno>
#include <string>

namespace ouroboros::system {

int to_library(const qos_spec& in, qosspec_t& out)
{
    out = qos_raw;
    out.delay = in.delay;
    out.bandwidth = in.bandwidth;
    out.availability = in.availability;
    out.loss = in.loss;
    out.ber = in.ber;
    out.in_order = in.in_order;
    out.max_gap = in.max_gap;
    out.timeout = in.timeout;
#if O7S_QOS_HAS_CYPHER_S
    out.cypher_s = in.cypher_s;
#else
    if (in.cypher_s != 0) {
        // Never drop a request for encryption silently.
        detail::set_error_detail(
            "QoSSpec.cypher_s=" + std::to_string(in.cypher_s) +
            " asks for per-flow encryption, which Ouroboros " O7S_OUROBOROS_VERSION_STRING
            " does not have: from 0.22 encryption is configured per name, with the name's "
            "encryption settings given to the IRMd (irm name create NAME ... sencpath/cencpath, "
            "see irm(8)); allocate with cypher_s=0");
        return -ENOTSUP;
    }
#endif
    return 0;
}

qos_spec from_library(const qosspec_t& in) noexcept
{
    qos_spec q;
    q.delay = in.delay;
    q.bandwidth = in.bandwidth;
    q.availability = in.availability;
    q.loss = in.loss;
    q.ber = in.ber;
    q.in_order = in.in_order;
    q.max_gap = in.max_gap;
#if O7S_QOS_HAS_CYPHER_S
    q.cypher_s = in.cypher_s;
#else
    q.cypher_s = 0;
#endif
    q.timeout = in.timeout;
    return q;
}

} // namespace ouroboros::system
