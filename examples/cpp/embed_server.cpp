// embed_server - a C++ program that accepts flows and lets a Python script
// handle them (3-clause BSD).
//
//   embed_server NAME SCRIPT.py [COUNT]
//
// Serves NAME; for each accepted flow calls handle(flow) from SCRIPT.py,
// where `flow` is an ouroboros.dev.Flow owning the C++ flow. Stops after
// COUNT flows (default: never).
#include <o7s/o7s.hpp>
#include <o7s/python.hpp>

#include <pybind11/embed.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace py = pybind11;

int main(int argc, char** argv)
{
    if (argc < 3) {
        std::fprintf(stderr, "usage: embed_server NAME SCRIPT.py [COUNT]\n");
        return 2;
    }
    const std::string name = argv[1];
    const std::string script = argv[2];
    long count = argc > 3 ? std::atol(argv[3]) : -1;

    py::scoped_interpreter python;
    try {
        ouroboros::python::install_core(); // Python uses this program's flows
        py::dict scope;
        scope["__file__"] = script;
        py::eval_file(script, scope);
        py::object handle = scope["handle"];

        ouroboros::irm::bind_process(::getpid(), name);
        ouroboros::irm::reg_name(name, ouroboros::irm::list_ipcps().at(0).pid);
        std::printf("serving %s\n", name.c_str());
        std::fflush(stdout);
        for (long served = 0; count < 0 || served < count; ++served) {
            ouroboros::flow f;
            {
                py::gil_scoped_release nogil; // let Python threads run meanwhile
                f = ouroboros::flow::accept();
            }
            handle(ouroboros::python::to_python(std::move(f)));
        }
        return 0;
    } catch (const py::error_already_set& e) {
        std::fprintf(stderr, "embed_server: Python error: %s\n", e.what());
    } catch (const ouroboros::error& e) {
        std::fprintf(stderr, "embed_server: %s\n", e.what());
    }
    return 1;
}
