// python_errors.hpp - how C++ errors and blocking calls meet Python.
//
// ouroboros::error becomes an exception from ouroboros.errors chosen by
// errno (an OSError subclass). Blocking calls run with the GIL released;
// a signal that interrupts them runs the Python handlers, and an exception
// raised there (KeyboardInterrupt) comes out of the blocked call.
#pragma once

#include <optional>
#include <type_traits>

#include <o7s/error.hpp>

#include <pybind11/pybind11.h>

#include <cerrno>
#include <utility>

namespace ouroboros::python {

namespace py = pybind11;

// Installs the exception translator and the interrupt hook.
void install_error_handling(py::module_& m);

// Raises the Python exception for errnum. `irm` picks the IRM classes.
[[noreturn]] void raise(int errnum, const std::string& message, bool irm = false);

// Raises BlockingIOError for a would-block result (nullopt).
template <class T> T or_would_block(std::optional<T> v, const char* what)
{
    if (!v)
        raise(EAGAIN, std::string(what) + " would block");
    return std::move(*v);
}

// What the _try_ methods for event loops return: None for would-block.
template <class T> py::object or_none(std::optional<T> v)
{
    if (!v)
        return py::none();
    if constexpr (std::is_base_of_v<py::handle, T>)
        return std::move(*v);
    else
        return py::cast(std::move(*v));
}

// True when a signal handler raised during a blocking call; restores that
// exception as the current Python error (call with the GIL held).
bool restore_interrupt();

// While the interpreter finalizes, a thread other than the finalizing one
// that takes the GIL back is ended with pthread_exit(), which cannot unwind
// through the destructor that takes it (std::terminate: the process aborts
// at exit). Such a thread stays here instead, until the process exits, as
// Python's own daemon threads do. Call without the GIL.
void park_if_finalizing() noexcept;

// The GIL released for the life of the object. Taking it back parks the
// thread (as above) when the interpreter finalizes, also when finalization
// began while the thread was already waiting for the GIL: the forced unwind
// of pthread_exit() is caught there instead of reaching a noexcept frame.
class gil_released {
public:
    gil_released() noexcept : state_(PyEval_SaveThread()) {}
    ~gil_released() { take_back(state_); }
    gil_released(const gil_released&) = delete;
    gil_released& operator=(const gil_released&) = delete;

private:
    static void take_back(PyThreadState* state) noexcept;
    PyThreadState* state_;
};

// Runs f() without the GIL. If a signal handler raised meanwhile, that
// exception is what the caller sees.
template <class F> auto blocking(F&& f) -> decltype(f())
{
    try {
        gil_released nogil;
        return f();
    } catch (const ouroboros::error& e) {
        if (e.num() == EINTR && restore_interrupt())
            throw py::error_already_set();
        throw;
    }
}

// Runs an IRM call: like blocking(), with errors mapped to IRM classes.
template <class F> auto irm_call(F&& f) -> decltype(f())
{
    try {
        return blocking(std::forward<F>(f));
    } catch (const ouroboros::error& e) {
        raise(e.num(), e.what(), /*irm=*/true);
    }
}

} // namespace ouroboros::python
