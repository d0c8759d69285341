// conversions.cpp - timeouts and QoS specs across the language boundary.
#include "conversions.hpp"

#include <cmath>
#include <limits>
#include <string>

namespace ouroboros::python {
namespace {

py::object qos_class()
{
    PYBIND11_CONSTINIT static py::gil_safe_call_once_and_store<py::object> cls;
    return cls.call_once_and_store_result([] {
                  return py::module_::import("ouroboros.qos").attr("QoSSpec");
              }).get_stored();
}

template <class T> T field(const py::object& qos, const char* name)
{
    py::object v = qos.attr(name);
    if (PyBool_Check(v.ptr()))
        return static_cast<T>(v.ptr() == Py_True);
    if (!PyLong_Check(v.ptr()))
        throw py::type_error(std::string("QoSSpec.") + name + " must be an int, not " +
                             std::string(py::str(py::type::of(v).attr("__name__"))));
    int overflow = 0;
    long long x = PyLong_AsLongLongAndOverflow(v.ptr(), &overflow);
    if (overflow > 0 && std::numeric_limits<T>::max() == std::numeric_limits<unsigned long long>::max()) {
        unsigned long long u = PyLong_AsUnsignedLongLong(v.ptr());
        if (!PyErr_Occurred())
            return static_cast<T>(u);
        PyErr_Clear();
    }
    if (overflow != 0 || x < 0 ||
        static_cast<unsigned long long>(x) > static_cast<unsigned long long>(std::numeric_limits<T>::max()))
        throw py::value_error(std::string("QoSSpec.") + name + " must be between 0 and " +
                              std::to_string(static_cast<unsigned long long>(std::numeric_limits<T>::max())));
    return static_cast<T>(x);
}

} // namespace

timeout to_timeout(const py::object& seconds, const char* what)
{
    if (seconds.is_none())
        return std::nullopt;
    double s = 0;
    try {
        s = seconds.cast<double>();
    } catch (const py::cast_error&) {
        throw py::type_error(std::string(what) + " must be a number of seconds or None");
    }
    if (std::isnan(s) || s < 0)
        throw py::value_error(std::string(what) + " must be >= 0 seconds or None, not " +
                              std::string(py::repr(seconds)));
    if (s > 1e9) // beyond 30 years: treat as "block"
        return std::nullopt;
    return std::chrono::nanoseconds(static_cast<long long>(s * 1e9));
}

py::object from_timeout(const timeout& t)
{
    if (!t)
        return py::none();
    return py::float_(static_cast<double>(t->count()) / 1e9);
}

std::optional<qos_spec> to_qos(const py::object& qos)
{
    if (qos.is_none())
        return std::nullopt;
    qos_spec q;
    q.delay = field<std::uint32_t>(qos, "delay");
    q.bandwidth = field<std::uint64_t>(qos, "bandwidth");
    q.availability = field<std::uint8_t>(qos, "availability");
    q.loss = field<std::uint32_t>(qos, "loss");
    q.ber = field<std::uint32_t>(qos, "ber");
    q.in_order = field<std::uint8_t>(qos, "in_order");
    q.max_gap = field<std::uint32_t>(qos, "max_gap");
    q.cypher_s = field<std::uint16_t>(qos, "cypher_s");
    q.timeout = field<std::uint32_t>(qos, "timeout");
    return q;
}

py::object from_qos(const qos_spec& q)
{
    return qos_class()(py::arg("delay") = q.delay, py::arg("bandwidth") = q.bandwidth,
                       py::arg("availability") = q.availability, py::arg("loss") = q.loss,
                       py::arg("ber") = q.ber, py::arg("in_order") = q.in_order,
                       py::arg("max_gap") = q.max_gap, py::arg("cypher_s") = q.cypher_s,
                       py::arg("timeout") = q.timeout);
}

} // namespace ouroboros::python
