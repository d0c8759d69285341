// inherited.hpp - flows, flow sets, event queues and flow requests that a
// process inherited across fork().
//
// Such an object belongs to the process that made it. fork() copies it
// into the child, but what it stands for stays shared with the parent: the
// flow's socket (a shutdown() there hangs up the parent's flow), its shared
// page (a "deallocated" mark there is the parent's), a flow set's epoll
// instance and eventfd, the daemon connection of a request, the real
// Ouroboros' shared memory. So, as pyzmq does with its contexts, each
// object keeps the id of the process that made it: in any other process
// it reads as closed, its operations throw, and closing or destroying it
// lets it go without touching anything shared (it leaks the child's copies
// of its descriptors, which go when the child exits or execs).
#pragma once

#include <sys/types.h>

#include <string>

namespace ouroboros::detail {

// This process' id, cached (getpid() is a system call) and refreshed in
// the child of every fork() (pthread_atfork), so it is cheap enough for
// every flow operation.
pid_t this_process() noexcept;

// Throws error(errnum) saying that `what` belongs to process `owner`,
// which forked this one, and what a child may do instead.
[[noreturn]] void throw_inherited(int errnum, const std::string& what, pid_t owner);

} // namespace ouroboros::detail
