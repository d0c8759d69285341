// new_flow.cpp - creating the socketpair and the page of a flow.
#include "new_flow.hpp"

#include "runtime/flow_page.hpp"
#include "runtime/flow_socket.hpp"

#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>

namespace ouroboros::daemon {

int make_flow(std::uint64_t id, new_flow& f, std::string& why)
{
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
        int err = errno;
        why = std::string("socketpair: ") + std::strerror(err);
        return -err;
    }
    f.end[0].reset(sv[0]);
    f.end[1].reset(sv[1]);
    runtime::tune_socket(sv[0]);
    runtime::tune_socket(sv[1]);

    f.page.reset(::memfd_create("o7s-flow", MFD_CLOEXEC));
    if (!f.page || ::ftruncate(f.page.get(), runtime::flow_page_size) != 0) {
        int err = errno;
        why = std::string("cannot create the flow page: ") + std::strerror(err);
        return -err;
    }
    runtime::flow_page* page = nullptr;
    if (int rc = map_flow_page(f.page.get(), page, why); rc < 0)
        return rc;
    new (page) runtime::flow_page();
    page->flow_id = id;
    ::munmap(page, runtime::flow_page_size);
    return 0;
}

int map_flow_page(int page_fd, runtime::flow_page*& out, std::string& why)
{
    void* mem = ::mmap(nullptr, runtime::flow_page_size, PROT_READ | PROT_WRITE, MAP_SHARED,
                       page_fd, 0);
    if (mem == MAP_FAILED) {
        int err = errno;
        why = std::string("cannot map the flow page: ") + std::strerror(err);
        return -err;
    }
    out = static_cast<runtime::flow_page*>(mem);
    return 0;
}

} // namespace ouroboros::daemon
