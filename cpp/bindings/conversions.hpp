// conversions.hpp - Python values <-> C++ API values: timeouts in seconds,
// QoS specs as ouroboros.qos.QoSSpec objects.
#pragma once

#include <o7s/qos.hpp>
#include <o7s/timeout.hpp>

#include <pybind11/pybind11.h>

#include <optional>

namespace ouroboros::python {

namespace py = pybind11;

// None blocks; a number is seconds (0: do not wait). Negative or NaN
// raises ValueError naming `what`.
timeout to_timeout(const py::object& seconds, const char* what);
py::object from_timeout(const timeout& t);

// None gives nullopt; a QoSSpec (or any object with its attributes) is
// range-checked field by field.
std::optional<qos_spec> to_qos(const py::object& qos);
py::object from_qos(const qos_spec& q);

} // namespace ouroboros::python
