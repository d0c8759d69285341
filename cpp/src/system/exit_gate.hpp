// exit_gate.hpp - keeps threads out of libouroboros-dev once the process
// exits.
//
// At exit the library's destructor frees the queues and condition
// variables that a thread blocked in flow_read(), flow_accept() or fevent()
// waits on, and the thread crashes the process (seen on 0.21 and 0.22: a
// Python server whose daemon thread is reading when the program ends dies
// of SIGSEGV). An atexit handler, which runs before library destructors,
// shuts the gate and waits for the calls in progress to return: each is a
// bounded slice (io_slice, accept_slice). Calls after that do not enter.
#pragma once

namespace ouroboros::system {

class library_call {
public:
    library_call() noexcept;
    ~library_call();
    library_call(const library_call&) = delete;
    library_call& operator=(const library_call&) = delete;

    // False once the process exits: then do not call the library.
    explicit operator bool() const noexcept { return entered_; }

private:
    bool entered_ = false;
};

// Registers the atexit handler (once); called when the backend is created.
void install_exit_gate();

// What a call that would enter the library reports once the process
// exits: -EINTR, with the detail.
int exiting();

} // namespace ouroboros::system
