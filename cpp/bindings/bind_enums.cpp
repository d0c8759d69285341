// bind_enums.cpp - every enum of the API, with the C++ API's values and
// upstream pyOuroboros' member names: the flags as enum.IntFlag
// (o7s/flags.hpp), the IRM's types and policies as enum.IntEnum
// (o7s/irm.hpp). ouroboros.dev, ouroboros.ipcp_config and ouroboros.irm
// re-export them.
#include "bindings.hpp"

#include <o7s/flags.hpp>
#include <o7s/irm.hpp>

#include <pybind11/native_enum.h>

namespace ouroboros::python {

void bind_enums(py::module_& m)
{
    py::native_enum<flow_flags>(m, "FlowProperties", "enum.IntFlag",
                                "Flow flags (fccntl FLOWF*); set_flags() replaces them all.")
        .value("ReadOnly", flow_flags::read_only)
        .value("WriteOnly", flow_flags::write_only)
        .value("ReadWrite", flow_flags::read_write)
        .value("Down", flow_flags::down)
        .value("NonBlockingRead", flow_flags::nonblocking_read)
        .value("NonBlockingWrite", flow_flags::nonblocking_write)
        .value("NonBlocking", flow_flags::nonblocking)
        .value("NoPartialRead", flow_flags::no_partial_read)
        .value("NoPartialWrite", flow_flags::no_partial_write)
        .finalize();

    py::native_enum<frct_flags>(m, "FRCTFlags", "enum.IntFlag", "FRCT flags (FRCTF*).")
        .value("Retransmission", frct_flags::retransmission)
        .value("ResourceControl", frct_flags::resource_control)
        .value("Linger", frct_flags::linger)
        .finalize();

    py::native_enum<event_type>(m, "FEventType", "enum.IntFlag", "Event types (enum fqtype).")
        .value("FlowPkt", event_type::pkt)
        .value("FlowDown", event_type::down)
        .value("FlowUp", event_type::up)
        .value("FlowAlloc", event_type::alloc)
        .value("FlowDealloc", event_type::dealloc)
        .value("FlowPeer", event_type::peer)
        .finalize();

    py::native_enum<ipcp_type>(m, "IpcpType", "enum.IntEnum",
                               "IPCP types (values of Ouroboros' enum ipcp_type).")
        .value("LOCAL", ipcp_type::local)
        .value("UNICAST", ipcp_type::unicast)
        .value("BROADCAST", ipcp_type::broadcast)
        .value("ETH_LLC", ipcp_type::eth_llc)
        .value("ETH_DIX", ipcp_type::eth_dix)
        .value("UDP4", ipcp_type::udp4)
        .value("UDP6", ipcp_type::udp6)
        .finalize();

    py::native_enum<load_balance>(m, "LoadBalancePolicy", "enum.IntEnum",
                                  "How flows to a name spread over the processes bound to it: "
                                  "round robin, or spill (the first bound process that accepts "
                                  "gets them).")
        .value("ROUND_ROBIN", load_balance::round_robin)
        .value("SPILL", load_balance::spill)
        .finalize();

    py::native_enum<addr_auth_policy>(m, "AddressAuthPolicy", "enum.IntEnum",
                                      "How a unicast IPCP gets its address.")
        .value("FLAT_RANDOM", addr_auth_policy::flat_random)
        .finalize();

    py::native_enum<link_state_policy>(m, "LinkStatePolicy", "enum.IntEnum",
                                       "Link-state routing variants.")
        .value("SIMPLE", link_state_policy::simple)
        .value("LFA", link_state_policy::lfa)
        .value("ECMP", link_state_policy::ecmp)
        .finalize();

    py::native_enum<routing_policy>(m, "RoutingPolicy", "enum.IntEnum",
                                    "Routing policies of a unicast layer.")
        .value("LINK_STATE", routing_policy::link_state)
        .finalize();

    py::native_enum<cong_avoid_policy>(m, "CongestionAvoidPolicy", "enum.IntEnum",
                                       "Congestion avoidance of a unicast layer.")
        .value("NONE", cong_avoid_policy::none)
        .value("MB_ECN", cong_avoid_policy::mb_ecn)
        .finalize();

    py::native_enum<dir_policy>(m, "DirectoryPolicy", "enum.IntEnum",
                                "Directory (name lookup) policies of a unicast layer.")
        .value("DHT", dir_policy::dht)
        .finalize();

    py::native_enum<dir_hash_algo>(m, "DirectoryHashAlgo", "enum.IntEnum",
                                   "Hash of names in a layer's directory.")
        .value("SHA3_224", dir_hash_algo::sha3_224)
        .value("SHA3_256", dir_hash_algo::sha3_256)
        .value("SHA3_384", dir_hash_algo::sha3_384)
        .value("SHA3_512", dir_hash_algo::sha3_512)
        .finalize();
}

} // namespace ouroboros::python
