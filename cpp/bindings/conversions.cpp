// conversions.cpp - integers, text, timeouts and QoS specs across the
// language boundary (conversions.hpp).
#include "conversions.hpp"
#include "model.hpp"

#include <o7s/error.hpp>

#include <cerrno>
#include <cstring>

#include <cmath>
#include <limits>
#include <string>

namespace ouroboros::python {

namespace conversion_detail {

std::string type_name(py::handle obj)
{
    return py::str(py::type::of(obj).attr("__name__"));
}

namespace {

// v as an int object (new reference): an int itself, or what __index__
// gives (bool, enums); else TypeError naming `what`.
py::object index_of(py::handle v, const char* what)
{
    if (PyLong_Check(v.ptr()))
        return py::reinterpret_borrow<py::object>(v);
    PyObject* i = PyNumber_Index(v.ptr());
    if (i == nullptr) {
        if (!PyErr_ExceptionMatches(PyExc_TypeError))
            throw py::error_already_set();
        PyErr_Clear();
        throw py::type_error(std::string(what) + " must be an int, not " + type_name(v));
    }
    return py::reinterpret_steal<py::object>(i);
}

} // namespace

bool as_signed(py::handle v, const char* what, long long& out)
{
    int overflow = 0;
    if (PyLong_CheckExact(v.ptr())) { // the common case, without a reference
        out = PyLong_AsLongLongAndOverflow(v.ptr(), &overflow);
        return overflow == 0;
    }
    py::object i = index_of(v, what);
    out = PyLong_AsLongLongAndOverflow(i.ptr(), &overflow);
    return overflow == 0;
}

bool as_unsigned(py::handle v, const char* what, unsigned long long& out)
{
    py::object i = index_of(v, what);
    out = PyLong_AsUnsignedLongLong(i.ptr());
    if (out == static_cast<unsigned long long>(-1) && PyErr_Occurred()) {
        PyErr_Clear(); // negative, or more than 64 bits
        return false;
    }
    return true;
}

void overflow(py::handle v, const char* what, const std::string& low, const std::string& high)
{
    std::string shown = py::repr(v);
    if (shown.size() > 40)
        shown = shown.substr(0, 37) + "...";
    PyErr_SetString(PyExc_OverflowError, (std::string(what) + " must fit between " + low +
                                          " and " + high + ", not " + shown)
                                             .c_str());
    throw py::error_already_set();
}

void out_of_range(const char* what, const std::string& value, const std::string& low,
                  const std::string& high)
{
    std::string range = !low.empty() && !high.empty() ? "between " + low + " and " + high
                        : !low.empty()                ? ">= " + low
                                                      : "<= " + high;
    throw py::value_error(std::string(what) + " must be " + range + ", not " + value);
}

} // namespace conversion_detail

std::string to_text(py::handle v, const char* what)
{
    if (!PyUnicode_Check(v.ptr()))
        throw py::type_error(std::string(what) + " must be a str, not " +
                             conversion_detail::type_name(v));
    Py_ssize_t size = 0;
    const char* utf8 = PyUnicode_AsUTF8AndSize(v.ptr(), &size);
    if (utf8 == nullptr)
        throw py::error_already_set(); // UnicodeEncodeError: it says where
    // Every text argument (a name, layer, path, argument) ends up a C
    // string, where a NUL would silently cut it short.
    if (std::memchr(utf8, '\0', static_cast<std::size_t>(size)) != nullptr)
        throw error(EINVAL, std::string(what) + " cannot contain a NUL character");
    return std::string(utf8, static_cast<std::size_t>(size));
}

std::optional<std::string> to_optional_text(py::handle v, const char* what)
{
    if (v.is_none())
        return std::nullopt;
    return to_text(v, what);
}

timeout to_timeout(const py::object& seconds, const char* what)
{
    if (seconds.is_none())
        return std::nullopt;
    double s = PyFloat_AsDouble(seconds.ptr()); // a float, an int, __float__, __index__
    if (s == -1.0 && PyErr_Occurred()) {
        if (PyErr_ExceptionMatches(PyExc_OverflowError)) {
            PyErr_Clear(); // an int beyond a float: say which argument
            PyErr_SetString(PyExc_OverflowError,
                            (std::string(what) + " is too large a number of seconds; use None "
                                                 "to block")
                                .c_str());
            throw py::error_already_set();
        }
        if (!PyErr_ExceptionMatches(PyExc_TypeError))
            throw py::error_already_set(); // raised by the object's own __float__
        PyErr_Clear();
        throw py::type_error(std::string(what) + " must be a number of seconds or None, not " +
                             conversion_detail::type_name(seconds));
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
