// bind_all.cpp - everything _core offers, in one call shared by the
// extension module and by programs that embed Python (see o7s/python.hpp).
#include "bindings.hpp"
#include "python_errors.hpp"

namespace ouroboros::python {

void bind_all(py::module_& m)
{
    install_error_handling(m);
    bind_enums(m);
    bind_flow(m);
    bind_flow_batch(m);
    bind_flow_request(m);
    bind_event(m);
    bind_irm(m);
    bind_runtime(m);
}

} // namespace ouroboros::python
