// new_flow.cpp - creating the socketpair, the memfd and the bells of a flow.
#include "new_flow.hpp"

#include "log.hpp"

#include "runtime/flow_page.hpp"
#include "runtime/flow_socket.hpp"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>

namespace ouroboros::daemon {

int make_flow(std::uint64_t id, std::size_t ring_bytes, new_flow& f, std::string& why)
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

    // Pages of the rings are allocated only when SDUs pass through them.
    // Sealed against shrinking: an end that truncated the memfd would make
    // the other's next access to the rings a SIGBUS (the ends check the
    // seal before they trust the size).
    f.page.reset(::memfd_create("o7s-flow", MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (!f.page || ::ftruncate(f.page.get(), runtime::flow_memory_bytes(ring_bytes)) != 0 ||
        ::fcntl(f.page.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
        int err = errno;
        why = std::string("cannot create the flow page: ") + std::strerror(err);
        return -err;
    }
    runtime::flow_page* page = nullptr;
    if (int rc = map_flow_page(f.page.get(), page, why); rc < 0)
        return rc;
    new (page) runtime::flow_page();
    page->flow_id = id;
    page->ring_bytes = ring_bytes;
    ::munmap(page, runtime::flow_page_size);
    if (ring_bytes == 0)
        return 0;
    for (auto& bell : f.bell) {
        bell.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
        if (!bell) {
            int err = errno;
            why = std::string("cannot create the flow's data bells: ") + std::strerror(err);
            return -err;
        }
    }
    return 0;
}

std::size_t flow_ring_bytes_from_env()
{
    const char* text = std::getenv("OUROBOROS_FLOW_RING_KIB");
    if (text == nullptr || *text == '\0')
        return runtime::ring_default_bytes;
    char* end = nullptr;
    errno = 0;
    unsigned long long kib = std::strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0' || text[0] == '-') {
        O7S_WARN("OUROBOROS_FLOW_RING_KIB=%s is not a number of KiB: flows get the default "
                 "rings of %zu KiB",
                 text, runtime::ring_default_bytes >> 10);
        return runtime::ring_default_bytes;
    }
    if (kib == 0) {
        O7S_INFO("OUROBOROS_FLOW_RING_KIB=0: flows have no shared-memory rings (SDUs go "
                 "through their sockets)");
        return 0;
    }
    const unsigned long long lo = runtime::ring_min_bytes >> 10, hi = runtime::ring_max_bytes >> 10;
    unsigned long long used = kib < lo ? lo : kib > hi ? hi : kib;
    if (used != kib)
        O7S_WARN("OUROBOROS_FLOW_RING_KIB=%llu is outside %llu..%llu: flows get rings of "
                 "%llu KiB",
                 kib, lo, hi, used);
    else
        O7S_INFO("flows get shared-memory rings of %llu KiB per direction", used);
    return static_cast<std::size_t>(used << 10);
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
