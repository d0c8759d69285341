// o7s/detail/services.hpp - what the library offers every backend: a place
// for the detail of the last failure, and the interrupt hook.
//
// A backend may leave a human-readable detail for its last failure in this
// thread with set_error_detail(); the wrappers put it in the exception text.
// (The system plugin cannot see the library's symbols: it gets these as
// function pointers, see cpp/src/system_loader/plugin_abi.hpp.)
#pragma once

#include <string>

namespace ouroboros::detail {

// Per-thread detail text for the last failure a backend reported.
void set_error_detail(std::string text);
std::string take_error_detail();

// Blocking waits that a signal cut short (EINTR) ask this hook whether to
// give up (return -EINTR) or carry on. Python installs one that runs the
// signal handlers, so Ctrl-C raises KeyboardInterrupt in a blocked call.
using interrupt_hook = bool (*)() noexcept;
void set_interrupt_hook(interrupt_hook hook) noexcept;
bool interrupted() noexcept;

} // namespace ouroboros::detail
