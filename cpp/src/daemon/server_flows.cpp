// server_flows.cpp - brokering flows: unicast flows between processes,
// broadcast flows through the relay.
#include "server.hpp"

#include "log.hpp"
#include "runtime/names.hpp"
#include "new_flow.hpp"
#include "process_info.hpp"
#include "runtime/deadline.hpp"

#include <o7s/error.hpp>

#include <sys/eventfd.h>

#include <algorithm>
#include <cerrno>

namespace ouroboros::daemon {
namespace {

clock::time_point deadline_from(std::int64_t timeout_ns)
{
    return runtime::deadline_after_ns(timeout_ns);
}

} // namespace

void server::on(client& c, const proto::flow_alloc& req)
{
    const std::string& name = req.name;
    const qos_spec qos = req.qos.value_or(qos_spec{});
    const std::int64_t timeout_ns = req.timeout_ns;

    std::string why;
    std::vector<pid_t> servers;
    if (int rc = runtime::check_name(name, why); rc < 0)
        return reply_error(c, -rc, why);
    if (int rc = registry_.servers_for(name, servers, why); rc < 0)
        return reply_error(c, -rc, why);

    c.waiting = true;
    const auto now = clock::now();
    // Without a timeout, give up after the IRMd's allocation timeout.
    pending_alloc a{c.id, c.pid, name, qos,
                    timeout_ns < 0 ? now + default_alloc_timeout : deadline_from(timeout_ns),
                    now + autostart_grace};
    a.key = req.public_key;
    a.confirm = req.confirm;
    a.default_deadline = timeout_ns < 0;
    allocs_.push_back(std::move(a));
    match_pending();
    // A zero timeout means: only if a process is accepting right now.
    if (timeout_ns == 0)
        expire_pending();
}

void server::on(client& c, const proto::flow_accept& req)
{
    const std::int64_t timeout_ns = req.timeout_ns;
    c.waiting = true;
    accepted_.insert(c.pid);
    auto started = children_.find(c.pid);
    if (started != children_.end())
        started->second.accepted = true;
    accepts_.push_back(pending_accept{c.id, c.pid, deadline_from(timeout_ns)});
    match_pending();
    if (timeout_ns == 0)
        expire_pending();
}

void server::on(client& c, const proto::flow_join& req) // joining never waits
{
    const std::string& layer = req.layer;
    qos_spec qos = req.qos.value_or(qos_spec{});

    std::string why;
    if (int rc = runtime::check_name(layer, why, "layer name"); rc < 0)
        return reply_error(c, -rc, why);
    const ipcp_record* ipcp = registry_.ipcp_of_layer(layer);
    if (ipcp == nullptr)
        return reply_error(c, errc::ipcp,
                           "no layer '" + layer +
                               "' (bootstrap a broadcast IPCP into it before joining it)");
    if (ipcp->type != ipcp_type::broadcast)
        return reply_error(c, ENOTSUP,
                           "layer '" + layer +
                               "' is not a broadcast layer; flow_join needs one (flow_alloc "
                               "reaches names registered in a local layer)");

    std::uint64_t id = next_flow_++;
    runtime::unique_fd sock, page;
    if (int rc = relay_.join(ipcp->id, c.pid, id, sock, page, why); rc < 0)
        return reply_error(c, -rc, why);
    // The relay is no peer that could time out: no peer timeout here.
    qos.timeout = 0;
    int fds[2] = {sock.get(), page.get()};
    // Should this fail, our end closes with `sock` and the relay drops it.
    if (reply(c, proto::flow_granted{id, 0, qos, ""}, fds, 2))
        O7S_INFO("flow %llu: %d joined broadcast layer '%s' (%zu members)",
                 static_cast<unsigned long long>(id), static_cast<int>(c.pid), layer.c_str(),
                 relay_.members_of(ipcp->id));
}

void server::fail_alloc(const pending_alloc& a, int err, const std::string& why)
{
    if (client* c = find(a.client)) {
        c->waiting = false;
        reply_error(*c, err, why);
    }
}

// Pairs waiting allocations with waiting accepts, oldest allocation first,
// in the order of the name's load-balancing policy; starts auto-start
// programs for allocations that nobody accepts.
void server::match_pending()
{
    const auto now = clock::now();
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
        if (!granted && now >= a->start_at)
            a->grace_checked = true;
        if (granted || !autostart(*a))
            a = allocs_.erase(a);
        else
            ++a;
    }
    drop_doomed();
}

bool server::autostart_due() const
{
    const auto now = clock::now();
    return std::any_of(allocs_.begin(), allocs_.end(), [now](const pending_alloc& a) {
        return !a.grace_checked && now >= a.start_at;
    });
}

// Hands the allocator its end of a new flow; the acceptor gets the other
// one when the allocator confirms (flow_confirm). False when the acceptor
// is gone, in which case the allocation keeps waiting for another one.
bool server::grant(const pending_alloc& a, const pending_accept& acc)
{
    client* acceptor = find(acc.client);
    client* allocator = find(a.client);
    if (acceptor == nullptr || allocator == nullptr)
        return false; // cannot happen: requests leave with their connection

    std::uint64_t id = next_flow_++;
    new_flow f;
    std::string why;
    if (int rc = make_flow(id, ring_bytes_, f, why); rc < 0) {
        O7S_WARN("flow %llu: %s", static_cast<unsigned long long>(id), why.c_str());
        accepts_.push_front(acc);
        fail_alloc(a, -rc, why);
        return true;
    }
    // Unicast ends tell each other of state changes through it (event sets).
    f.notify.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!f.notify) {
        int err = errno;
        why = "cannot create the flow's eventfd"; // the error adds strerror(err)
        O7S_WARN("flow %llu: %s", static_cast<unsigned long long>(id), why.c_str());
        accepts_.push_front(acc);
        fail_alloc(a, err, why);
        return true;
    }

    // The allocator gets no key: an encrypted flow's acceptor sends its own
    // over the flow itself (embedded/flow_install.cpp).
    const proto::flow_granted to_allocator{id, 0, a.qos, ""};
    int fds_allocator[5] = {f.end[0].get(), f.page.get(), f.notify.get(), f.bell[0].get(),
                            f.bell[1].get()};
    const std::size_t nfds = f.bell[0] ? 5 : 3;
    if (!a.confirm) {
        if (!hand_to_acceptor(id, a, acc, f))
            return false; // try another acceptor
        allocator->waiting = false;
        // Should this fail, the acceptor sees the flow go down at once.
        reply(*allocator, to_allocator, fds_allocator, nfds);
        return true;
    }
    allocator->waiting = false;
    if (!reply(*allocator, to_allocator, fds_allocator, nfds)) {
        accepts_.push_front(acc); // the allocator is gone: nobody saw the flow
        return true;
    }
    f.end[0].reset();
    grants_[a.client] = pending_grant{id, runtime::deadline_after(confirm_wait), a, acc, std::move(f)};
    return true;
}

bool server::hand_to_acceptor(std::uint64_t id, const pending_alloc& a, const pending_accept& acc,
                              const new_flow& f)
{
    client* acceptor = find(acc.client);
    if (acceptor == nullptr)
        return false;
    // The acceptor gets the allocator's public key (an encrypted flow's);
    // its own goes over the flow itself (embedded/flow_install.cpp).
    int fds[5] = {f.end[1].get(), f.page.get(), f.notify.get(), f.bell[0].get(), f.bell[1].get()};
    acceptor->waiting = false;
    if (!reply(*acceptor, proto::flow_granted{id, 1, a.qos, a.key}, fds, f.bell[0] ? 5 : 3))
        return false;
    registry_.served(a.name, acc.pid);
    census_.add(f.page.get(), a.pid, acc.pid);
    O7S_INFO("flow %llu: %d -> '%s' -> %d", static_cast<unsigned long long>(id),
             static_cast<int>(a.pid), a.name.c_str(), static_cast<int>(acc.pid));
    return true;
}

void server::on(client& c, const proto::flow_confirm& req)
{
    const std::uint64_t id = req.flow_id;
    auto it = grants_.find(c.id);
    // A grant whose acceptor timed out meanwhile is gone: the allocator's
    // end has hung up already.
    if (it == grants_.end() || it->second.id != id)
        return;
    pending_grant g = std::move(it->second);
    grants_.erase(it);
    if (hand_to_acceptor(id, g.alloc, g.accept, g.flow))
        return;
    // The acceptor left between the grant and the confirmation: the
    // allocator's end hangs up when our copy of the other end closes.
    O7S_INFO("flow %llu: the accepting process %d left before it got the flow",
             static_cast<unsigned long long>(id), static_cast<int>(g.accept.pid));
}

void server::abandon_grant(std::uint64_t allocator)
{
    auto it = grants_.find(allocator);
    if (it == grants_.end())
        return;
    O7S_INFO("flow %llu: the allocating process %d gave up; '%s' is accepting again",
             static_cast<unsigned long long>(it->second.id),
             static_cast<int>(it->second.alloc.pid), it->second.alloc.name.c_str());
    if (find(it->second.accept.client) != nullptr) {
        accepts_.push_front(it->second.accept);
        rematch_ = true;
    }
    grants_.erase(it);
}

std::string server::unserved(const std::string& name) const
{
    std::vector<pid_t> servers;
    std::string why;
    if (registry_.servers_for(name, servers, why) < 0 || servers.empty())
        return "";
    std::string never, busy;
    for (pid_t pid : servers) {
        std::string cmd;
        for (const auto& arg : command_line(pid))
            cmd += (cmd.empty() ? "" : " ") + arg;
        if (cmd.size() > 60)
            cmd = cmd.substr(0, 57) + "...";
        std::string& list = accepted_.count(pid) ? busy : never;
        list += (list.empty() ? "" : ", ") + std::to_string(pid) +
                (cmd.empty() ? "" : " (" + cmd + ")");
    }
    std::string out;
    if (!never.empty())
        out += "; bound but never called flow_accept(): " + never;
    if (!busy.empty())
        out += "; bound and busy: " + busy;
    return out;
}

void server::expire_pending()
{
    const auto now = clock::now();
    for (auto a = allocs_.begin(); a != allocs_.end();) {
        if (a->deadline > now) {
            ++a;
            continue;
        }
        auto started = children_.find(a->started);
        if (started != children_.end())
            fail_alloc(*a, ETIMEDOUT,
                       "program " + started->second.program + " was started for '" + a->name +
                           "' (pid " + std::to_string(a->started) +
                           ") but did not accept the flow in time (its output is in " +
                           started->second.log + ")");
        else
            fail_alloc(*a, ETIMEDOUT,
                       "no process bound to '" + a->name + "' accepted the flow " +
                           (a->default_deadline
                                ? "within " + std::to_string(default_alloc_timeout.count()) +
                                      " s (the limit without a timeout, as with the IRMd)"
                                : "in time") +
                           unserved(a->name));
        a = allocs_.erase(a);
    }
    std::vector<std::uint64_t> unconfirmed;
    for (const auto& [allocator, g] : grants_)
        if (g.confirm_by <= now)
            unconfirmed.push_back(allocator);
    for (std::uint64_t allocator : unconfirmed)
        abandon_grant(allocator); // its accept may expire below
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
