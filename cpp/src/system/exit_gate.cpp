// exit_gate.cpp - see exit_gate.hpp.
#include "exit_gate.hpp"

#include "system_flows.hpp"

#include <o7s/detail/services.hpp>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <thread>

namespace ouroboros::system {
namespace {

std::atomic<int> inside{0};
std::atomic<bool> shut{false};

void shut_at_exit()
{
    shut.store(true);
    // The longest slice, and some margin; then exit anyway.
    const auto until = clock::now() + accept_slice + std::chrono::milliseconds(200);
    while (inside.load() > 0 && clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

} // namespace

library_call::library_call() noexcept
{
    // Count first, then look: either the exit handler sees this call and
    // waits, or this call sees the gate shut (both atomics are seq_cst).
    inside.fetch_add(1);
    if (shut.load()) {
        inside.fetch_sub(1);
        return;
    }
    entered_ = true;
}

library_call::~library_call()
{
    if (entered_)
        inside.fetch_sub(1);
}

int exiting()
{
    detail::set_error_detail("the process is exiting");
    return -EINTR;
}

void install_exit_gate()
{
    static const bool installed = std::atexit(shut_at_exit) == 0;
    (void)installed;
}

} // namespace ouroboros::system
