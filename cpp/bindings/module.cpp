// module.cpp - the ouroboros._core extension module.
#include "bindings.hpp"

PYBIND11_MODULE(_core, m)
{
    m.doc() = "Compiled core of pyOuroboros (use the ouroboros package, not this module).";
    ouroboros::python::bind_all(m);
}
