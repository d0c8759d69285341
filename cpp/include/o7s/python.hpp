// o7s/python.hpp - for C++ programs that embed Python and hand flows to it.
//
//     pybind11::scoped_interpreter python;
//     ouroboros::python::install_core();          // before importing ouroboros
//     auto handle = pybind11::module_::import("handler").attr("handle");
//     handle(ouroboros::python::to_python(ouroboros::flow::accept()));
//
// The program links o7s::python (add_subdirectory with O7S_BUILD_PYTHON=ON)
// and pybind11::embed. The pure-Python package `ouroboros` must be
// importable (pip install); its own compiled module is never loaded, so
// Python and C++ share this program's one copy of the library and its flows.
#pragma once

#include <o7s/flow.hpp>

#include <pybind11/pybind11.h>

namespace ouroboros::python {

// Creates ouroboros._core from the bindings compiled into this program and
// registers it in sys.modules. Call once the interpreter runs.
void install_core();

// An ouroboros.dev.Flow that owns `f` (which is left unallocated).
pybind11::object to_python(flow&& f);

} // namespace ouroboros::python
