// fast_method.hpp - the per-SDU methods of _core.Flow without pybind11's
// generic dispatcher.
//
// pybind11 spends about 400 instructions dispatching each call (argument
// vectors on the heap, overload resolution, a type caster for self): a
// fifth of a whole 1500-byte read from Python, and more than CPython's own
// socket methods spend. def_fast() registers a method as a plain
// METH_FASTCALL descriptor instead: the arguments are parsed here and C++
// exceptions go through pybind11's registered translators, as before.
// flow_of() reads pybind11's instance layout (py::detail), for known
// pybind11 releases only.
#pragma once

#include "py_flow.hpp"

#include <pybind11/pybind11.h>

#include <array>
#include <cstddef>
#include <optional>
#include <type_traits>
#include <utility>

namespace ouroboros::python {

namespace py = pybind11;

struct fast_param {
    const char* name;
    bool required; // otherwise it defaults to None
};

template <std::size_t N> using fast_args = std::array<py::handle, N>;

namespace fast_detail {

// The py_flow inside a _core.Flow (or subclass) instance; the method
// descriptor has checked the type already. With the pybind11 releases whose
// instance layout this was written against (3.0, 3.1: pyproject.toml bounds
// the build to them), straight from the instance; with any other, through
// the public cast, which costs about as much as the dispatcher saved.
#if PYBIND11_VERSION_MAJOR == 3 && PYBIND11_VERSION_MINOR <= 1
inline py_flow& flow_of(PyObject* self)
{
    static const py::detail::type_info* tinfo = py::detail::get_type_info(typeid(py_flow));
    auto* inst = reinterpret_cast<py::detail::instance*>(self);
    py::detail::value_and_holder vh = inst->simple_layout
                                          ? py::detail::value_and_holder(inst, tinfo, 0, 0)
                                          : inst->get_value_and_holder(tinfo);
    if (!vh.holder_constructed())
        throw py::type_error("Flow.__init__() was not called");
    return *vh.value_ptr<py_flow>();
}
#else
inline py_flow& flow_of(PyObject* self)
{
    return py::handle(self).cast<py_flow&>();
}
#endif

// Positional-or-keyword arguments into out[]; false with a TypeError set.
inline bool parse(const char* fn, const fast_param* params, std::size_t n, PyObject* const* args,
                  Py_ssize_t nargs, PyObject* kwnames, py::handle* out)
{
    if (nargs > static_cast<Py_ssize_t>(n)) {
        PyErr_Format(PyExc_TypeError, "%s() takes at most %zu arguments (%zd given)", fn, n,
                     nargs);
        return false;
    }
    for (Py_ssize_t i = 0; i < nargs; ++i)
        out[i] = args[i];
    const Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    for (Py_ssize_t k = 0; k < nkw; ++k) {
        PyObject* key = PyTuple_GET_ITEM(kwnames, k);
        std::size_t j = 0;
        while (j < n && PyUnicode_CompareWithASCIIString(key, params[j].name) != 0)
            ++j;
        if (j == n) {
            PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%U'", fn,
                         key);
            return false;
        }
        if (out[j]) {
            PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument '%s'", fn,
                         params[j].name);
            return false;
        }
        out[j] = args[nargs + k];
    }
    for (std::size_t j = 0; j < n; ++j) {
        if (out[j])
            continue;
        if (params[j].required) {
            PyErr_Format(PyExc_TypeError, "%s() missing required argument '%s'", fn,
                         params[j].name);
            return false;
        }
        out[j] = Py_None;
    }
    return true;
}

// One instantiation per method (every lambda has its own type).
template <class F, std::size_t N> struct method {
    static inline std::optional<F> fn;
    static inline std::array<fast_param, N> params;
    static inline const char* name = nullptr;

    static PyObject* call(PyObject* self, PyObject* const* args, Py_ssize_t nargs,
                          PyObject* kwnames) noexcept
    {
        try {
            fast_args<N> a{};
            if (!parse(name, params.data(), N, args, nargs, kwnames, a.data()))
                return nullptr;
            auto result = (*fn)(flow_of(self), a);
            if constexpr (std::is_base_of_v<py::handle, decltype(result)>)
                return result.release().ptr();
            else
                return py::cast(std::move(result)).release().ptr();
        } catch (py::error_already_set& e) {
            e.restore();
        } catch (...) {
            py::detail::try_translate_exceptions();
        }
        return nullptr;
    }
};

} // namespace fast_detail

// Adds method `name` to the class: fn(py_flow&, const fast_args<N>&) with
// missing optional arguments as None. `doc` may start with a signature line
// ("read($self, count=None)\n--\n\n") for inspect.signature().
template <std::size_t N, class F>
void def_fast(py::class_<py_flow>& cls, const char* name, const std::array<fast_param, N>& params,
              F fn, const char* doc)
{
    using M = fast_detail::method<F, N>;
    M::fn.emplace(std::move(fn));
    M::params = params;
    M::name = name;
    // Must outlive the class: one per instantiation, never freed.
    static PyMethodDef def{name, reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(&M::call)),
                           METH_FASTCALL | METH_KEYWORDS, doc};
    py::object descr = py::reinterpret_steal<py::object>(
        PyDescr_NewMethod(reinterpret_cast<PyTypeObject*>(cls.ptr()), &def));
    if (!descr)
        throw py::error_already_set();
    cls.attr(name) = descr;
}

} // namespace ouroboros::python
