// o7s/version.hpp - which pyOuroboros this is, and what it can talk to.
#pragma once

#include <string>

namespace ouroboros {

// pyOuroboros' version (pyproject.toml's, e.g. "0.1.0"); the CMake package
// o7s carries the same one.
std::string version();

struct version_report {
    std::string version;          // version()
    int runtime_protocol = 0;     // control protocol spoken with the embedded daemon
    std::string system_release;   // Ouroboros release the system backend was built
                                  // for ("" when this build has no system backend)
    std::string irmd_release;     // release whose protocol the running IRMd speaks
                                  // (e.g. "0.23"; "" when none answers)
    std::string irmd_problem;     // why no IRMd answers ("" when one does)
};

// The versions above. Asks the IRMd's socket (up to 2 s) but loads nothing:
// it never selects a backend nor registers the process with an IRMd.
version_report versions();

} // namespace ouroboros
