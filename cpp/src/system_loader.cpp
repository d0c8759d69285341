// system_loader.cpp - the system backend is not part of this build yet.
#include "system_loader.hpp"

namespace ouroboros::detail {

std::unique_ptr<backend> load_system_backend(std::string& why)
{
    why = "this build of pyOuroboros has no system backend (Ouroboros was not found at "
          "build time)";
    return nullptr;
}

} // namespace ouroboros::detail
