// conversions.cpp - timeouts, QoS specs and the model's integers across the
// language boundary.
#include "conversions.hpp"
#include "model.hpp"

#include <cmath>
#include <limits>
#include <string>

namespace ouroboros::python {

std::string model_detail::type_name(py::handle obj)
{
    return py::str(py::type::of(obj).attr("__name__"));
}

unsigned long long model_detail::unsigned_int(py::handle v, unsigned long long high,
                                              const std::string& what)
{
    if (PyBool_Check(v.ptr()))
        return v.ptr() == Py_True ? 1 : 0;
    if (!PyLong_Check(v.ptr()))
        throw py::type_error(what + " must be an int, not " + type_name(v));
    unsigned long long x = PyLong_AsUnsignedLongLong(v.ptr());
    bool out_of_range = x == static_cast<unsigned long long>(-1) && PyErr_Occurred();
    if (out_of_range)
        PyErr_Clear();
    if (out_of_range || x > high)
        throw py::value_error(what + " must be between 0 and " + std::to_string(high));
    return x;
}

long long model_detail::signed_int(py::handle v, long long low, long long high,
                                   const std::string& what)
{
    if (PyBool_Check(v.ptr()))
        return v.ptr() == Py_True ? 1 : 0;
    if (!PyLong_Check(v.ptr()))
        throw py::type_error(what + " must be an int, not " + type_name(v));
    int overflow = 0;
    long long x = PyLong_AsLongLongAndOverflow(v.ptr(), &overflow);
    if (overflow != 0 || x < low || x > high)
        throw py::value_error(what + " must be between " + std::to_string(low) + " and " +
                              std::to_string(high));
    return x;
}

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
    return from_python<qos_spec>(qos, "QoSSpec");
}

py::object from_qos(const qos_spec& q)
{
    return to_python(q);
}

} // namespace ouroboros::python
