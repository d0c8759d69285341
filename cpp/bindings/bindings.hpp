// bindings.hpp - the parts of the _core extension module.
#pragma once

#include <pybind11/pybind11.h>

namespace ouroboros::python {

namespace py = pybind11;

void bind_enums(py::module_& m);
void bind_event(py::module_& m);
void bind_flow(py::module_& m);
void bind_flow_batch(py::module_& m); // after bind_flow: extends _core.Flow
void bind_flow_request(py::module_& m);
void bind_irm(py::module_& m);
void bind_runtime(py::module_& m);

// Everything above; shared by the extension module and by programs that
// embed Python (PYBIND11_EMBEDDED_MODULE).
void bind_all(py::module_& m);

} // namespace ouroboros::python
