// model.hpp - the IRM model (o7s/irm.hpp, o7s/qos.hpp) across the language
// boundary, driven by each struct's field list: one conversion for every
// struct instead of one per struct.
//
// From Python, a struct is read attribute by attribute under its field
// names (any object with those attributes will do; None gives the
// defaults). To Python, it is built by calling its class with the fields as
// keyword arguments. The Python classes validate their values when they are
// set (ouroboros.ipcp_config, ouroboros.qos); here a value is only checked
// to fit its C++ field (conversions.hpp).
#pragma once

#include "conversions.hpp"

#include <o7s/irm.hpp>
#include <o7s/qos.hpp>

#include <pybind11/pybind11.h>

#include <limits>
#include <string>
#include <type_traits>
#include <vector>

namespace ouroboros::python {

namespace py = pybind11;

// The Python class of each struct that crosses the boundary.
template <class T> struct py_class;
#define O7S_PY_CLASS(type, module_name, class_name)                                       \
    template <> struct py_class<type> {                                                    \
        static constexpr const char* module = module_name;                                 \
        static constexpr const char* name = class_name;                                    \
    }
O7S_PY_CLASS(qos_spec, "ouroboros.qos", "QoSSpec");
O7S_PY_CLASS(link_state_config, "ouroboros.ipcp_config", "LinkStateConfig");
O7S_PY_CLASS(routing_config, "ouroboros.ipcp_config", "RoutingConfig");
O7S_PY_CLASS(dt_config, "ouroboros.ipcp_config", "DtConfig");
O7S_PY_CLASS(dht_config, "ouroboros.ipcp_config", "DhtConfig");
O7S_PY_CLASS(dir_config, "ouroboros.ipcp_config", "DirConfig");
O7S_PY_CLASS(unicast_config, "ouroboros.ipcp_config", "UnicastConfig");
O7S_PY_CLASS(eth_config, "ouroboros.ipcp_config", "EthConfig");
O7S_PY_CLASS(udp4_config, "ouroboros.ipcp_config", "Udp4Config");
O7S_PY_CLASS(udp6_config, "ouroboros.ipcp_config", "Udp6Config");
O7S_PY_CLASS(ipcp_config, "ouroboros.ipcp_config", "IpcpConfig");
O7S_PY_CLASS(ipcp_info, "ouroboros.irm", "IpcpInfo");
O7S_PY_CLASS(name_sec_paths, "ouroboros.irm", "NameSecPaths");
O7S_PY_CLASS(name_info, "ouroboros.irm", "NameInfo");
O7S_PY_CLASS(process_binding, "ouroboros.irm", "ProcessBinding");
O7S_PY_CLASS(program_binding, "ouroboros.irm", "ProgramBinding");
O7S_PY_CLASS(name_bindings, "ouroboros.irm", "NameBindings");
#undef O7S_PY_CLASS

namespace model_detail {

template <class T> struct is_vector : std::false_type {};
template <class T, class A> struct is_vector<std::vector<T, A>> : std::true_type {};

using conversion_detail::type_name;

// The class object of T, looked up once.
template <class T> py::object class_of()
{
    PYBIND11_CONSTINIT static py::gil_safe_call_once_and_store<py::object> cls;
    return cls
        .call_once_and_store_result(
            [] { return py::module_::import(py_class<T>::module).attr(py_class<T>::name); })
        .get_stored();
}

} // namespace model_detail

template <class T> T from_python(py::handle obj, const std::string& what)
{
    using namespace model_detail;
    if constexpr (std::is_enum_v<T> || std::is_integral_v<T>) {
        using raw = std::conditional_t<std::is_enum_v<T>, std::underlying_type<T>,
                                       std::common_type<T>>;
        return static_cast<T>(to_int<typename raw::type>(obj, what.c_str()));
    } else if constexpr (std::is_same_v<T, std::string>) {
        if (obj.is_none())
            return {};
        return to_text(obj, what.c_str());
    } else if constexpr (is_vector<T>::value) {
        if (PyUnicode_Check(obj.ptr()) || !PySequence_Check(obj.ptr()))
            throw py::type_error(what + " must be a sequence, not " + type_name(obj));
        T out;
        for (py::handle item : py::reinterpret_borrow<py::sequence>(obj))
            out.push_back(from_python<typename T::value_type>(item, what + "[]"));
        return out;
    } else {
        T out{};
        if (obj.is_none())
            return out;
        T::fields(out, [&](const char* name, auto& m) {
            const std::string field = std::string(py_class<T>::name) + "." + name;
            if (!py::hasattr(obj, name))
                throw py::type_error(what + " must be a " + py_class<T>::name + " (it has no " +
                                     name + "), not " + type_name(obj));
            m = from_python<std::decay_t<decltype(m)>>(obj.attr(name), field);
        });
        return out;
    }
}

template <class T> py::object to_python(const T& x)
{
    using namespace model_detail;
    if constexpr (std::is_enum_v<T>) {
        return py::int_(static_cast<std::underlying_type_t<T>>(x));
    } else if constexpr (std::is_integral_v<T> || std::is_same_v<T, std::string>) {
        return py::cast(x);
    } else if constexpr (is_vector<T>::value) {
        py::list out;
        for (const auto& item : x)
            out.append(to_python(item));
        return std::move(out);
    } else {
        py::dict kwargs;
        T::fields(x, [&](const char* name, const auto& m) { kwargs[name] = to_python(m); });
        return class_of<T>()(**kwargs);
    }
}

} // namespace ouroboros::python
