// module.cpp - the ouroboros._core extension module.
#include "bindings.hpp"
#include "python_errors.hpp"

namespace ouroboros::python {

void bind_all(py::module_& m)
{
    install_error_handling(m);
    bind_enums(m);
    bind_flow(m);
    bind_flow_batch(m);
    bind_irm(m);
    bind_runtime(m);
}

} // namespace ouroboros::python

PYBIND11_MODULE(_core, m)
{
    m.doc() = "Compiled core of pyOuroboros (use the ouroboros package, not this module).";
    ouroboros::python::bind_all(m);
}
