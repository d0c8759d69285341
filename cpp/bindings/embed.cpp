// embed.cpp - the bindings as an in-process module for embedding programs.
#include <o7s/python.hpp>

#include "bindings.hpp"
#include "py_flow.hpp"

namespace ouroboros::python {

void install_core()
{
    py::module_ sys = py::module_::import("sys");
    py::dict modules = sys.attr("modules");
    if (modules.contains("ouroboros._core"))
        return;
    // A module object built here, not loaded from the package's _core.so:
    // a second copy of the library would hold flows this one cannot see.
    static PyModuleDef def{};
    py::module_ m = py::module_::create_extension_module(
        "ouroboros._core", "pyOuroboros core, compiled into the embedding program.", &def);
    bind_all(m);
    modules["ouroboros._core"] = m;
}

py::object to_python(flow&& f)
{
    py::object obj = py::module_::import("ouroboros.dev").attr("Flow")();
    obj.cast<py_flow&>().replace(std::move(f));
    return obj;
}

} // namespace ouroboros::python
