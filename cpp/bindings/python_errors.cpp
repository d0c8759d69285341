// python_errors.cpp - exception translation and Ctrl-C support.
#include "python_errors.hpp"

#include <o7s/detail/backend.hpp>

#include <cxxabi.h>
#include <unistd.h>

namespace ouroboros::python {
namespace {

// The exception a signal handler raised while a call was blocked, kept per
// thread between the hook (which runs it) and the call's return.
struct pending_error {
    PyObject* type = nullptr;
    PyObject* value = nullptr;
    PyObject* traceback = nullptr;
};
thread_local pending_error pending;

unsigned long main_thread = 0; // the thread that finalizes the interpreter

bool interpreter_finalizing() noexcept
{
#if PY_VERSION_HEX >= 0x030D0000
    return Py_IsFinalizing() != 0;
#else
    return _Py_IsFinalizing() != 0;
#endif
}

bool run_signal_handlers() noexcept
{
    // Python runs signal handlers in the main thread only: another thread
    // would take the GIL for nothing, and, if finalization began while it
    // waited for it, be ended by pthread_exit() in this noexcept frame
    // (std::terminate at exit; seen with threads blocked in flow_accept on
    // the system backend). In the main thread, once finalizing, signal
    // handlers do not run any more.
    if (PyThread_get_thread_ident() != main_thread || interpreter_finalizing())
        return false;
    py::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() == 0)
        return false;
    PyErr_Fetch(&pending.type, &pending.value, &pending.traceback);
    return true;
}

py::object make_exception(int errnum, const std::string& message, bool irm)
{
    // Kept for the life of the process: a static py::object would be
    // destroyed after the interpreter.
    PYBIND11_CONSTINIT static py::gil_safe_call_once_and_store<py::object> make;
    auto& fn = make.call_once_and_store_result([] {
                       return py::module_::import("ouroboros.errors").attr("_make");
                   }).get_stored();
    return fn(errnum, message, irm);
}

} // namespace

void park_if_finalizing() noexcept
{
    if (!interpreter_finalizing() || PyThread_get_thread_ident() == main_thread)
        return;
    for (;;)
        ::pause();
}

void gil_released::take_back(PyThreadState* state) noexcept
{
    park_if_finalizing();
    try {
        PyEval_RestoreThread(state);
    } catch (abi::__forced_unwind&) {
        // Finalization began while this thread waited for the GIL, and
        // Python ends such threads with pthread_exit(). Its unwind may not
        // leave this noexcept function (std::terminate) nor be swallowed:
        // the thread stays here until the process exits.
        for (;;)
            ::pause();
    }
}

bool restore_interrupt()
{
    if (pending.type == nullptr)
        return false;
    PyErr_Restore(pending.type, pending.value, pending.traceback);
    pending = {};
    return true;
}

void raise(int errnum, const std::string& message, bool irm)
{
    py::object exc = make_exception(errnum, message, irm);
    PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc.ptr())), exc.ptr());
    throw py::error_already_set();
}

void install_error_handling(py::module_& m)
{
    static_cast<void>(m);
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p)
                std::rethrow_exception(p);
        } catch (const ouroboros::error& e) {
            py::object exc = make_exception(e.num(), e.what(), false);
            PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc.ptr())), exc.ptr());
        }
    });
    main_thread = py::module_::import("threading")
                      .attr("main_thread")()
                      .attr("ident")
                      .cast<unsigned long>();
    detail::set_interrupt_hook(&run_signal_handlers);
}

} // namespace ouroboros::python
