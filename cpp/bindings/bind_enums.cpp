// bind_enums.cpp - the flag enums as enum.IntFlag, values from o7s/flags.hpp
// (upstream pyOuroboros' member names).
#include "bindings.hpp"

#include <o7s/flags.hpp>

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
}

} // namespace ouroboros::python
