// bind_runtime.cpp - backend selection and facts about the runtime.
#include "bindings.hpp"
#include "conversions.hpp"
#include "python_errors.hpp"

#include <o7s/backend.hpp>
#include <o7s/error.hpp>
#include <o7s/runtime_daemon.hpp>
#include <o7s/version.hpp>

#include <chrono>
#include <cmath>

namespace ouroboros::python {
namespace {

py::dict status_dict(const runtime_daemon_status& s)
{
    py::dict d;
    d["runtime_dir"] = s.runtime_dir;
    d["running"] = s.running;
    d["pid"] = s.pid;
    d["problem"] = s.problem;
    d["version"] = s.version;
    d["protocol"] = s.protocol;
    d["uptime"] = std::chrono::duration<double>(s.uptime).count();
    d["processes"] = s.processes;
    d["ipcps"] = s.ipcps;
    d["names"] = s.names;
    d["bound_processes"] = s.bound_processes;
    d["bound_programs"] = s.bound_programs;
    d["flows"] = s.flows;
    d["members"] = s.members;
    d["pending"] = s.pending;
    d["children"] = s.children;
    d["idle_exit"] = std::chrono::duration<double>(s.idle_exit).count();
    return d;
}

} // namespace

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
    m.def("runtime_daemon_status",
          [] { return status_dict(blocking([] { return runtime_daemon(); })); },
          "The embedded runtime daemon of this process' runtime directory, as a dict "
          "(ouroboros.runtime.status() makes it a DaemonStatus); never starts one.");
    m.def("stop_runtime_daemon",
          [](double timeout) {
              if (!(timeout >= 0) || !std::isfinite(timeout))
                  throw py::value_error("timeout must be a number of seconds >= 0");
              auto ms = std::chrono::milliseconds(std::llround(timeout * 1000));
              return blocking([&] { return stop_runtime_daemon(ms); });
          },
          py::arg("timeout"),
          "Stops the embedded runtime daemon, waiting up to `timeout` seconds for it to exit; "
          "False when none was running.");
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
