// inherited.cpp - the process id that objects inherited across fork() are
// told apart by (inherited.hpp).
#include "inherited.hpp"

#include <o7s/error.hpp>

#include <pthread.h>
#include <unistd.h>

#include <atomic>

namespace ouroboros::detail {
namespace {

std::atomic<pid_t> cached{0};

void refresh() noexcept
{
    cached.store(::getpid(), std::memory_order_relaxed);
}

} // namespace

pid_t this_process() noexcept
{
    // Once, before the first object is made: the child handler then keeps
    // it right across every later fork().
    static const bool registered = (refresh(), ::pthread_atfork(nullptr, nullptr, &refresh) == 0);
    static_cast<void>(registered);
    return cached.load(std::memory_order_relaxed);
}

void throw_inherited(int errnum, const std::string& what, pid_t owner)
{
    throw error(errnum, what + " belongs to process " + std::to_string(owner) +
                            ", which forked this one: a child cannot use it (the parent keeps "
                            "it open; the child can allocate flows of its own)");
}

} // namespace ouroboros::detail
