// conversions.hpp - Python values <-> C++ API values: the binding layer's
// one conversion of each kind of argument (integers, text, timeouts, QoS
// specs), so that a bad argument raises the same exception everywhere.
//
// - Not an int (a float, a str, None): TypeError. bool and objects with
//   __index__ (enums) count as ints, as in Python's own calls.
// - An int that does not fit the argument's C++ type: OverflowError, as
//   CPython's own calls raise (os.read(fd, 2**63)).
// - An int that fits but that the call does not take (a negative count,
//   beyond a limit): ValueError.
// - Not a str: TypeError; a str that UTF-8 cannot encode (lone
//   surrogates): UnicodeEncodeError (a ValueError); a str with a NUL:
//   InvalidArgument (an OuroborosError and a ValueError), since each ends
//   up a C string. A name too long is the C++ API's error (InvalidArgument
//   too).
// - Seconds: None blocks, a number is seconds; negative or NaN ValueError.
// Every message names the argument (`what`).
#pragma once

#include <o7s/qos.hpp>
#include <o7s/timeout.hpp>

#include <pybind11/pybind11.h>

#include <limits>
#include <optional>
#include <string>
#include <type_traits>

namespace ouroboros::python {

namespace py = pybind11;

namespace conversion_detail {

std::string type_name(py::handle obj);

// The value of the integer v (TypeError when v is not one); false when it
// does not fit 64 bits (signed, or unsigned: then also when negative).
bool as_signed(py::handle v, const char* what, long long& out);
bool as_unsigned(py::handle v, const char* what, unsigned long long& out);

[[noreturn]] void overflow(py::handle v, const char* what, const std::string& low,
                           const std::string& high);
// ValueError: value is not in [low, high] ("" for a side with no bound).
[[noreturn]] void out_of_range(const char* what, const std::string& value,
                               const std::string& low, const std::string& high);

} // namespace conversion_detail

// An int argument that fits T and lies in [low, high].
template <class T>
T to_int(py::handle v, const char* what, T low = std::numeric_limits<T>::min(),
         T high = std::numeric_limits<T>::max())
{
    static_assert(std::is_integral_v<T> && sizeof(T) <= sizeof(long long));
    using namespace conversion_detail;
    using limits = std::numeric_limits<T>;
    T x{};
    if constexpr (std::is_signed_v<T>) {
        long long y = 0;
        if (!as_signed(v, what, y) || y < limits::min() || y > limits::max())
            overflow(v, what, std::to_string(limits::min()), std::to_string(limits::max()));
        x = static_cast<T>(y);
    } else {
        unsigned long long y = 0;
        if (!as_unsigned(v, what, y) || y > limits::max())
            overflow(v, what, "0", std::to_string(limits::max()));
        x = static_cast<T>(y);
    }
    if (x < low || x > high)
        out_of_range(what, std::to_string(x),
                     low == limits::min() ? "" : std::to_string(low),
                     high == limits::max() ? "" : std::to_string(high));
    return x;
}

// A str argument as UTF-8.
std::string to_text(py::handle v, const char* what);
// A str argument, or None (nullopt).
std::optional<std::string> to_optional_text(py::handle v, const char* what);

// None blocks; a number is seconds (0: do not wait). Negative or NaN
// raises ValueError naming `what`.
timeout to_timeout(const py::object& seconds, const char* what);
py::object from_timeout(const timeout& t);

// None gives nullopt; a QoSSpec (or any object with its attributes) is
// range-checked field by field.
std::optional<qos_spec> to_qos(const py::object& qos);
py::object from_qos(const qos_spec& q);

} // namespace ouroboros::python
