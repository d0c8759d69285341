// bind_runtime.cpp - backend selection and facts about the runtime.
#include "bindings.hpp"
#include "conversions.hpp"
#include "python_errors.hpp"

#include <o7s/backend.hpp>
#include <o7s/error.hpp>
#include <o7s/version.hpp>

namespace ouroboros::python {

void bind_runtime(py::module_& m)
{
    m.def("backend_name", [] { return blocking([] { return backend_name(); }); },
          "Name of the active backend ('embedded' or 'system'), choosing it if needed.");
    m.def(
        "select_backend",
        [](py::handle name) {
            auto wanted = to_text(name, "name");
            blocking([&] { select_backend(wanted); });
        },
        py::arg("name"), "Selects 'embedded', 'system' or 'auto'.");
    m.def("system_backend_unavailable_reason",
          [] { return blocking([] { return system_backend_unavailable_reason(); }); },
          "Why the system backend cannot be used, or '' when it can.");
    m.attr("__version__") = version();
    m.def("versions", [] {
        version_report r = blocking([] { return versions(); });
        return py::make_tuple(r.version, r.runtime_protocol, r.system_release, r.irmd_release,
                              r.irmd_problem);
    }, "(version, runtime_protocol, system_release, irmd_release, irmd_problem): "
       "o7s/version.hpp's version_report.");
    m.def(
        "strerror", [](py::handle errnum) { return ouroboros::strerror(to_int<int>(errnum, "errnum")); },
        py::arg("errnum"),
          "Message for an errno value, including Ouroboros' own codes (1000+).");
}

} // namespace ouroboros::python
