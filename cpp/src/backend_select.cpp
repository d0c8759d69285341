// backend_select.cpp - choosing the active backend, and the per-thread
// helpers every backend uses (error detail, interrupt hook).
#include <o7s/backend.hpp>
#include <o7s/detail/backend.hpp>
#include <o7s/error.hpp>

#include "embedded/embedded_backend.hpp"
#include "flow_handle.hpp"
#include "inherited.hpp"
#include "system_loader/loader.hpp"

#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace ouroboros {
namespace detail {
namespace {

std::mutex select_mutex;
std::unique_ptr<backend> embedded_instance;
std::unique_ptr<backend> system_instance;
// Set once, with system_instance, for active_backend() to read unlocked.
std::atomic<backend*> system_loaded{nullptr};
std::atomic<pid_t> system_loaded_by{0};
std::atomic<backend*> active{nullptr};

thread_local std::string error_detail;
std::atomic<interrupt_hook> hook{nullptr};

backend& embedded_locked()
{
    if (!embedded_instance)
        embedded_instance = embedded::make_backend();
    return *embedded_instance;
}

#ifdef __GLIBC__
// In a child forked from the process that loaded libouroboros-dev, exit()
// would run the library's destructor, which cancels threads the child does
// not have and deallocates every flow of the parent in the shared memory
// they use: the parent's flows would go down when any child exits. So the
// child's exit ends there, before the C-level exit handlers registered
// before it (Python's finalization and atexit have run by then; stdio is
// flushed here).
void leave_without_library_exit_handlers(int status, void*)
{
    static_cast<void>(std::fflush(nullptr));
    ::_exit(status);
}

void in_forked_child() noexcept
{
    static_cast<void>(::on_exit(&leave_without_library_exit_handlers, nullptr));
}
#endif

// Returns the system backend or nullptr with the reason in `why`.
backend* system_locked(std::string& why)
{
    if (!system_instance) {
        system_instance = load_system_backend(why);
        if (!system_instance)
            return nullptr;
        system_loaded_by.store(this_process(), std::memory_order_relaxed);
        system_loaded.store(system_instance.get(), std::memory_order_release);
#ifdef __GLIBC__
        static_cast<void>(::pthread_atfork(nullptr, nullptr, &in_forked_child));
#endif
    }
    return system_instance.get();
}

backend& choose_locked(const std::string& wanted)
{
    if (wanted == "embedded")
        return embedded_locked();
    std::string why;
    if (wanted == "system") {
        if (backend* b = system_locked(why))
            return *b;
        throw error(ENOTSUP, "the system backend is not available: " + why);
    }
    if (wanted == "auto" || wanted.empty()) {
        if (backend* b = system_locked(why))
            return *b;
        return embedded_locked();
    }
    throw error(EINVAL, "unknown backend '" + wanted +
                            "' (expected 'embedded', 'system' or 'auto')");
}

backend& selected_backend()
{
    if (backend* b = active.load(std::memory_order_acquire))
        return *b;
    std::lock_guard<std::mutex> lock(select_mutex);
    if (backend* b = active.load(std::memory_order_relaxed))
        return *b;
    const char* env = std::getenv("OUROBOROS_BACKEND");
    backend& b = choose_locked(env ? env : "auto");
    active.store(&b, std::memory_order_release);
    return b;
}

} // namespace

backend& active_backend()
{
    backend& b = selected_backend();
    // libouroboros-dev keeps one process' state (its flows, its
    // registration with the IRMd, its threads): a forked child has a copy
    // without the threads, which the IRMd does not know.
    if (&b == system_loaded.load(std::memory_order_acquire) &&
        system_loaded_by.load(std::memory_order_relaxed) != this_process())
        throw error(ENOTSUP, "the system backend was loaded by process " +
                                 std::to_string(system_loaded_by.load()) +
                                 ", which forked this one; libouroboros-dev serves only the "
                                 "process that loaded it: exec a new program in the child");
    return b;
}

void set_error_detail(std::string text)
{
    error_detail = std::move(text);
}

std::string take_error_detail()
{
    std::string text;
    text.swap(error_detail);
    return text;
}

void set_interrupt_hook(interrupt_hook h) noexcept
{
    hook.store(h, std::memory_order_release);
}

bool interrupted() noexcept
{
    interrupt_hook h = hook.load(std::memory_order_acquire);
    return h != nullptr && h();
}

} // namespace detail

std::string backend_name()
{
    return detail::selected_backend().name();
}

void select_backend(const std::string& name)
{
    std::lock_guard<std::mutex> lock(detail::select_mutex);
    detail::backend& b = detail::choose_locked(name);
    detail::backend* current = detail::active.load(std::memory_order_relaxed);
    if (current != nullptr && current != &b && detail::open_flows.load() > 0)
        throw error(EBUSY, std::string("cannot switch to the ") + b.name() +
                               " backend while flows of the " + current->name() +
                               " backend are open");
    detail::active.store(&b, std::memory_order_release);
}

std::string system_backend_unavailable_reason()
{
    std::lock_guard<std::mutex> lock(detail::select_mutex);
    std::string why;
    return detail::system_locked(why) ? std::string() : why;
}

} // namespace ouroboros
