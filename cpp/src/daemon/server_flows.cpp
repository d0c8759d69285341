// server_flows.cpp - brokering unicast flows between processes.
#include "server.hpp"

#include "../embedded/flow_page.hpp"
#include "../embedded/flow_state.hpp"
#include "log.hpp"

#include <o7s/error.hpp>

#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>

namespace ouroboros::daemon {
namespace {

struct new_flow {
    util::unique_fd end[2]; // [0] for the allocator, [1] for the acceptor
    util::unique_fd page;
    util::unique_fd notify; // shared by both ends: state changes wake event sets
};

// A socketpair for the data, a shared page for the counters and state, and
// an eventfd through which each end tells the other of state changes.
int make_flow(std::uint64_t id, new_flow& f, std::string& why)
{
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
        why = std::string("socketpair: ") + std::strerror(errno);
        return -errno;
    }
    f.end[0].reset(sv[0]);
    f.end[1].reset(sv[1]);
    embedded::tune_socket(sv[0]);
    embedded::tune_socket(sv[1]);

    f.page.reset(::memfd_create("o7s-flow", MFD_CLOEXEC));
    if (!f.page || ::ftruncate(f.page.get(), embedded::flow_page_size) != 0) {
        why = std::string("cannot create the flow page: ") + std::strerror(errno);
        return -errno;
    }
    void* mem = ::mmap(nullptr, embedded::flow_page_size, PROT_READ | PROT_WRITE, MAP_SHARED,
                       f.page.get(), 0);
    if (mem == MAP_FAILED) {
        why = std::string("cannot map the flow page: ") + std::strerror(errno);
        return -errno;
    }
    auto* page = new (mem) embedded::flow_page();
    page->flow_id = id;
    ::munmap(mem, embedded::flow_page_size);

    f.notify.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!f.notify) {
        why = std::string("cannot create the flow's eventfd: ") + std::strerror(errno);
        return -errno;
    }
    return 0;
}

clock::time_point deadline_from(std::int64_t timeout_ns)
{
    return timeout_ns < 0 ? clock::time_point::max()
                          : clock::now() + std::chrono::nanoseconds(timeout_ns);
}

} // namespace

void server::flow_alloc(client& c, proto::reader& r)
{
    std::string name = r.str();
    bool has_qos = r.u8() != 0;
    qos_spec qos = r.qos();
    std::int64_t timeout_ns = r.i64();
    std::string key = r.str();
    r.end();
    if (!has_qos)
        qos = qos_spec{};

    std::string why;
    std::vector<pid_t> servers;
    if (int rc = registry::check_name(name, why); rc < 0)
        return reply_error(c, -rc, why);
    if (int rc = registry_.servers_for(name, servers, why); rc < 0)
        return reply_error(c, -rc, why);

    c.waiting = true;
    allocs_.push_back(
        pending_alloc{c.id, c.pid, name, qos, deadline_from(timeout_ns), std::move(key)});
    match_pending();
    // A zero timeout means: only if a process is accepting right now.
    if (timeout_ns == 0)
        expire_pending();
}

void server::flow_accept(client& c, proto::reader& r)
{
    std::int64_t timeout_ns = r.i64();
    std::string key = r.str();
    r.end();
    c.waiting = true;
    accepts_.push_back(pending_accept{c.id, c.pid, deadline_from(timeout_ns), std::move(key)});
    match_pending();
    if (timeout_ns == 0)
        expire_pending();
}

void server::flow_join(client& c, proto::reader& r)
{
    r.str();
    r.u8();
    r.qos();
    r.i64();
    r.end();
    reply_error(c, ENOTSUP, "broadcast layers are not implemented by the embedded runtime yet");
}

void server::fail_alloc(const pending_alloc& a, int err, const std::string& why)
{
    if (client* c = find(a.client)) {
        c->waiting = false;
        reply_error(*c, err, why);
    }
}

// Pairs waiting allocations with waiting accepts, oldest allocation first,
// in the order of the name's load-balancing policy.
void server::match_pending()
{
    for (auto a = allocs_.begin(); a != allocs_.end();) {
        std::vector<pid_t> servers;
        std::string why;
        if (int rc = registry_.servers_for(a->name, servers, why); rc < 0) {
            fail_alloc(*a, -rc, why);
            a = allocs_.erase(a);
            continue;
        }
        bool granted = false;
        for (pid_t pid : servers) {
            auto acc = std::find_if(accepts_.begin(), accepts_.end(),
                                    [pid](const pending_accept& p) { return p.pid == pid; });
            if (acc == accepts_.end())
                continue;
            pending_accept accept = *acc;
            accepts_.erase(acc);
            if (grant(*a, accept)) {
                granted = true;
                break;
            }
        }
        a = granted ? allocs_.erase(a) : std::next(a);
    }
    drop_doomed();
}

// Hands the two ends of a new flow out. False when the acceptor is gone,
// in which case the allocation keeps waiting for another one.
bool server::grant(const pending_alloc& a, const pending_accept& acc)
{
    client* acceptor = find(acc.client);
    client* allocator = find(a.client);
    if (acceptor == nullptr || allocator == nullptr)
        return false; // cannot happen: requests leave with their connection

    std::uint64_t id = next_flow_++;
    new_flow f;
    std::string why;
    if (int rc = make_flow(id, f, why); rc < 0) {
        O7S_WARN("flow %llu: %s", static_cast<unsigned long long>(id), why.c_str());
        fail_alloc(a, -rc, why);
        return true;
    }

    // Each end gets the other's public key: the key exchange of encrypted
    // flows (see embedded/flow_crypto.hpp).
    proto::writer to_acceptor(proto::msg::flow_granted);
    to_acceptor.u64(id).u8(1).qos(a.qos).str(a.key);
    int fds_acceptor[3] = {f.end[1].get(), f.page.get(), f.notify.get()};
    acceptor->waiting = false;
    if (!send(*acceptor, to_acceptor, fds_acceptor, 3))
        return false; // try another acceptor

    proto::writer to_allocator(proto::msg::flow_granted);
    to_allocator.u64(id).u8(0).qos(a.qos).str(acc.key);
    int fds_allocator[3] = {f.end[0].get(), f.page.get(), f.notify.get()};
    allocator->waiting = false;
    // Should this fail, the acceptor sees the flow go down at once.
    send(*allocator, to_allocator, fds_allocator, 3);

    registry_.served(a.name, acc.pid);
    O7S_INFO("flow %llu: %d -> '%s' -> %d", static_cast<unsigned long long>(id),
             static_cast<int>(a.pid), a.name.c_str(), static_cast<int>(acc.pid));
    return true;
}

void server::expire_pending()
{
    const auto now = clock::now();
    for (auto a = allocs_.begin(); a != allocs_.end();) {
        if (a->deadline > now) {
            ++a;
            continue;
        }
        fail_alloc(*a, ETIMEDOUT, "no process bound to '" + a->name + "' accepted the flow in time");
        a = allocs_.erase(a);
    }
    for (auto acc = accepts_.begin(); acc != accepts_.end();) {
        if (acc->deadline > now) {
            ++acc;
            continue;
        }
        if (client* c = find(acc->client)) {
            c->waiting = false;
            reply_error(*c, ETIMEDOUT, "no flow arrived in time");
        }
        acc = accepts_.erase(acc);
    }
}

} // namespace ouroboros::daemon
