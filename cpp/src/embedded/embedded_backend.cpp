// embedded_backend.cpp - the backend over the embedded runtime: flow
// allocation and the IRM go to the daemon, flow I/O goes straight to the
// flow's socket.
#include "embedded_backend.hpp"

#include "daemon_link.hpp"
#include "event_set.hpp"
#include "flow_batch_io.hpp"
#include "flow_crypto.hpp"
#include "flow_state.hpp"
#include "runtime/flow_table.hpp"
#include "peer_watch.hpp"
#include "wait_fd.hpp"

#include <o7s/error.hpp>

#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace ouroboros::embedded {
namespace {

using detail::direction;
using proto::msg;

constexpr auto irm_wait = std::chrono::seconds(30);
// How much longer than a flow request's own timeout we wait for the daemon
// to answer it before declaring the daemon unresponsive.
constexpr auto reply_grace = std::chrono::seconds(5);

std::int64_t to_wire(timeout t)
{
    return t ? std::max<std::int64_t>(0, t->count()) : -1;
}

timeout reply_wait(timeout t)
{
    return t ? timeout(*t + reply_grace) : timeout();
}

// Runs a request whose reply is a plain "ok".
int simple_call(proto::writer& w)
{
    proto::message reply;
    return call_daemon(w, reply, irm_wait);
}

class embedded_backend final : public detail::backend {
public:
    const char* name() const noexcept override { return "embedded"; }

    // ------------------------------------------------------------ flows

    int flow_alloc(const std::string& dst, qos_spec* qos, timeout t) override
    {
        qos_spec q = qos ? *qos : qos_spec{};
        if (supported_cypher_bits(q.cypher_s, q.cypher_s) < 0) {
            detail::set_error_detail("a cypher of " + std::to_string(q.cypher_s) +
                                     " bits is not supported (at most 256)");
            return -errc::crypt;
        }
        // An encrypted flow needs our half of the key exchange.
        key_pair keys;
        if (q.cypher_s > 0)
            if (int rc = keys.generate(); rc < 0)
                return rc;
        proto::writer w(msg::flow_alloc);
        w.str(dst).u8(qos != nullptr).qos(q).i64(to_wire(t)).str(keys.public_key());
        return request_flow(w, std::move(keys), qos, t);
    }

    int flow_accept(qos_spec* qos, timeout t) override
    {
        // Only the allocator knows whether the flow will be encrypted, so an
        // accept offers no key: for an encrypted flow, request_flow() makes
        // one after the grant and sends it over the flow itself.
        proto::writer w(msg::flow_accept);
        w.i64(to_wire(t)).str("");
        return request_flow(w, key_pair(), qos, t);
    }

    int flow_join(const std::string& dst, qos_spec* qos, timeout t) override
    {
        if (qos && qos->cypher_s > 0) {
            // As Ouroboros 0.21: a broadcast layer has no pair of ends to
            // exchange keys between.
            detail::set_error_detail("broadcast flows cannot be encrypted (cypher_s must be 0)");
            return -ENOTSUP;
        }
        proto::writer w(msg::flow_join);
        w.str(dst).u8(qos != nullptr).qos(qos ? *qos : qos_spec{}).i64(to_wire(t));
        return request_flow(w, key_pair(), qos, t);
    }

    int flow_dealloc(int fd) override
    {
        flow_state* f = flows_.take(fd);
        if (f == nullptr)
            return fd < 0 ? -EINVAL : -errc::not_allocated;
        release(std::unique_ptr<flow_state>(f));
        return 0;
    }

    void flow_interrupt(int fd) noexcept override
    {
        if (flow_state* f = flows_.get(fd)) {
            // Before the hang-up, so the peer sees FLOW_DEALLOC, not FLOW_DOWN.
            f->my_state().fetch_or(end_deallocated, std::memory_order_release);
            ::shutdown(f->sock, SHUT_RDWR);
        }
    }

    ssize_t flow_read(int fd, void* buf, std::size_t count) override
    {
        flow_state* f = flows_.get(fd);
        return f ? read_sdu(*f, buf, count) : missing(fd);
    }

    ssize_t flow_write(int fd, const void* buf, std::size_t count) override
    {
        flow_state* f = flows_.get(fd);
        return f ? write_sdu(*f, buf, count) : missing(fd);
    }

    ssize_t flow_read_many(int fd, sdu_buffer* v, std::size_t n) override
    {
        flow_state* f = flows_.get(fd);
        return f ? read_sdus(*f, v, n) : missing(fd);
    }

    ssize_t flow_write_many(int fd, const sdu_view* v, std::size_t n) override
    {
        flow_state* f = flows_.get(fd);
        return f ? write_sdus(*f, v, n) : missing(fd);
    }

    // ----------------------------------------------------- flow control

    int set_busy_poll(int fd, std::chrono::nanoseconds budget) override
    {
        flow_state* f = flows_.get(fd);
        if (f == nullptr)
            return missing(fd);
        f->busy_poll_ns.store(budget.count());
        return 0;
    }

    int get_busy_poll(int fd, std::chrono::nanoseconds& budget) override
    {
        flow_state* f = flows_.get(fd);
        if (f == nullptr)
            return missing(fd);
        budget = std::chrono::nanoseconds(f->busy_poll_ns.load());
        return 0;
    }

    int set_timeout(int fd, direction d, timeout t) override
    {
        flow_state* f = flows_.get(fd);
        if (f == nullptr)
            return missing(fd);
        if (t && t->count() < 0)
            return -EINVAL;
        (d == direction::rcv ? f->rcv_timeo_ns : f->snd_timeo_ns).store(to_wire(t));
        return 0;
    }

    int get_timeout(int fd, direction d, timeout& t) override
    {
        flow_state* f = flows_.get(fd);
        if (f == nullptr)
            return missing(fd);
        std::int64_t ns = (d == direction::rcv ? f->rcv_timeo_ns : f->snd_timeo_ns).load();
        t = ns < 0 ? timeout() : timeout(std::chrono::nanoseconds(ns));
        return 0;
    }

    // Replaces all flags (FLOWSFLAGS). Down marks the flow down at both
    // ends until a set_flags() without it: reads drain what is queued, then
    // fail with EFLOWDOWN, as do writes. The peer's event sets see
    // FLOW_DOWN, and FLOW_UP when the mark goes.
    int set_flags(int fd, flow_flags fl) override
    {
        flow_state* f = flows_.get(fd);
        if (f == nullptr)
            return missing(fd);
        constexpr auto known = flow_flags::access_mask | flow_flags::down |
                               flow_flags::nonblocking | flow_flags::no_partial_read |
                               flow_flags::no_partial_write;
        if (access_mode(fl) == flow_flags::access_mask) {
            detail::set_error_detail("write-only and read-write cannot both be set");
            return -EINVAL;
        }
        if (any(fl, ~known)) {
            detail::set_error_detail("unknown flow flags 0" +
                                     to_octal(detail::raw(fl & ~known)));
            return -EINVAL;
        }
        f->flags.store(static_cast<std::uint32_t>(fl));
        std::uint32_t was = any(fl, flow_flags::down)
                                ? f->my_state().fetch_or(end_down, std::memory_order_acq_rel)
                                : f->my_state().fetch_and(~end_down, std::memory_order_acq_rel);
        if (bool(was & end_down) != any(fl, flow_flags::down))
            notify_peer(*f);
        return 0;
    }

    int get_flags(int fd, flow_flags& fl) override
    {
        flow_state* f = flows_.get(fd);
        if (f == nullptr)
            return missing(fd);
        fl = f->current_flags();
        return 0;
    }

    int get_qos(int fd, qos_spec& q) override
    {
        flow_state* f = flows_.get(fd);
        if (f == nullptr)
            return missing(fd);
        q = f->qos;
        return 0;
    }

    int queue_len(int fd, direction d, std::size_t& n) override
    {
        flow_state* f = flows_.get(fd);
        if (f == nullptr)
            return missing(fd);
        // rx: what the peer sent that we did not consume; tx the reverse.
        const flow_end_counters& from = d == direction::rcv ? f->peer() : f->mine();
        const flow_end_counters& to = d == direction::rcv ? f->mine() : f->peer();
        std::uint64_t sent = from.sent.load(std::memory_order_acquire);
        std::uint64_t consumed = to.consumed.load(std::memory_order_acquire);
        n = sent > consumed ? static_cast<std::size_t>(sent - consumed) : 0;
        return 0;
    }

    // FRCT flags as Ouroboros keeps them: only flows with FRCT (in_order)
    // have them; retransmission follows the QoS (loss == 0) and cannot be
    // changed; resource control and linger can. The embedded runtime's
    // sockets never lose, reorder or drop queued SDUs, so every flow gets
    // what these flags ask for whatever their value.
    int set_frct_flags(int fd, frct_flags fl) override
    {
        flow_state* f = flows_.get(fd);
        if (f == nullptr)
            return missing(fd);
        if (int rc = need_frct(*f); rc < 0)
            return rc;
        constexpr auto settable = frct_flags::resource_control | frct_flags::linger;
        if (any(fl, ~(settable | frct_flags::retransmission))) {
            detail::set_error_detail("unknown FRCT flags 0" + to_octal(detail::raw(fl)));
            return -EINVAL;
        }
        auto keep = static_cast<frct_flags>(f->frct.load()) & frct_flags::retransmission;
        f->frct.store(detail::raw(keep | (fl & settable)));
        return 0;
    }

    int get_frct_flags(int fd, frct_flags& fl) override
    {
        flow_state* f = flows_.get(fd);
        if (f == nullptr)
            return missing(fd);
        if (int rc = need_frct(*f); rc < 0)
            return rc;
        fl = static_cast<frct_flags>(f->frct.load());
        return 0;
    }

    int pollable_fd(int fd) override
    {
        flow_state* f = flows_.get(fd);
        return f ? f->sock : missing(fd);
    }

    std::size_t max_sdu() const noexcept override { return runtime::max_sdu(); }

    std::size_t flow_max_sdu(int fd) override
    {
        flow_state* f = flows_.get(fd);
        return f ? f->max_payload() : runtime::max_sdu();
    }

    std::unique_ptr<detail::event_set> create_event_set(int& err) override
    {
        auto set = make_event_set(flows_, err);
        if (!set)
            err = -err;
        return set;
    }

    // -------------------------------------------------------------- IRM

    int create_ipcp(const std::string& name, ipcp_type type, pid_t& pid) override
    {
        proto::writer w(msg::ipcp_create);
        w.str(name).i32(static_cast<int>(type));
        proto::message reply;
        int rc = call_daemon(w, reply, irm_wait);
        if (rc < 0)
            return rc;
        return parse(reply, [&](proto::reader& r) { pid = r.i32(); });
    }

    int destroy_ipcp(pid_t pid) override
    {
        proto::writer w(msg::ipcp_destroy);
        w.i32(pid);
        return simple_call(w);
    }

    int list_ipcps(std::vector<ipcp_info>& out) override
    {
        return list_call(msg::ipcp_list, out, [](proto::reader& r) {
            ipcp_info info;
            info.pid = r.i32();
            info.type = static_cast<ipcp_type>(r.i32());
            info.name = r.str();
            info.layer = r.str();
            return info;
        });
    }

    int bootstrap_ipcp(pid_t pid, const ipcp_config& conf) override
    {
        proto::writer w(msg::ipcp_bootstrap);
        w.i32(pid).i32(static_cast<int>(conf.type)).str(conf.layer);
        return simple_call(w);
    }

    int enroll_ipcp(pid_t pid, const std::string& dst) override
    {
        proto::writer w(msg::ipcp_enroll);
        w.i32(pid).str(dst);
        return simple_call(w);
    }

    int connect_ipcp(pid_t pid, const std::string& dst, const std::string& component,
                     const qos_spec& qos) override
    {
        proto::writer w(msg::ipcp_connect);
        w.i32(pid).str(dst).str(component).qos(qos);
        return simple_call(w);
    }

    int disconnect_ipcp(pid_t pid, const std::string& dst, const std::string& component) override
    {
        proto::writer w(msg::ipcp_disconnect);
        w.i32(pid).str(dst).str(component);
        return simple_call(w);
    }

    int bind_program(const std::string& prog, const std::string& name, std::uint16_t opts,
                     const std::vector<std::string>& argv) override
    {
        proto::writer w(msg::bind_program);
        w.str(prog).str(name).u16(opts).u32(static_cast<std::uint32_t>(argv.size()));
        for (const auto& a : argv)
            w.str(a);
        return simple_call(w);
    }

    int bind_script(const std::string& prog, const std::string& name, std::uint16_t opts,
                    const std::vector<std::string>& argv, const std::string& interpreter) override
    {
        proto::writer w(msg::bind_script);
        w.str(prog).str(name).u16(opts).str(interpreter).u32(static_cast<std::uint32_t>(argv.size()));
        for (const auto& a : argv)
            w.str(a);
        return simple_call(w);
    }

    int unbind_program(const std::string& prog, const std::string& name) override
    {
        proto::writer w(msg::unbind_program);
        w.str(prog).str(name);
        return simple_call(w);
    }

    int bind_process(pid_t pid, const std::string& name) override
    {
        proto::writer w(msg::bind_process);
        w.i32(pid).str(name);
        return simple_call(w);
    }

    int unbind_process(pid_t pid, const std::string& name) override
    {
        proto::writer w(msg::unbind_process);
        w.i32(pid).str(name);
        return simple_call(w);
    }

    int create_name(const name_info& info) override
    {
        proto::writer w(msg::name_create);
        w.str(info.name).i32(static_cast<int>(info.policy));
        return simple_call(w);
    }

    int destroy_name(const std::string& name) override
    {
        proto::writer w(msg::name_destroy);
        w.str(name);
        return simple_call(w);
    }

    int list_names(std::vector<name_info>& out) override
    {
        return list_call(msg::name_list, out, [](proto::reader& r) {
            name_info info;
            info.name = r.str();
            info.policy = static_cast<load_balance>(r.i32());
            return info;
        });
    }

    int reg_name(const std::string& name, pid_t ipcp_pid) override
    {
        proto::writer w(msg::name_reg);
        w.str(name).i32(ipcp_pid);
        return simple_call(w);
    }

    int unreg_name(const std::string& name, pid_t ipcp_pid) override
    {
        proto::writer w(msg::name_unreg);
        w.str(name).i32(ipcp_pid);
        return simple_call(w);
    }

    int list_bindings(std::vector<name_bindings>& out) override
    {
        // The daemon sends the rows in parts; a part from a changed registry
        // (another generation) means starting over.
        for (int attempt = 0; attempt < max_listing_attempts; ++attempt) {
            std::vector<name_bindings> names;
            std::uint64_t generation = 0;
            std::uint32_t total = 0, seen = 0;
            bool changed = false;
            do {
                proto::writer w(msg::binding_list);
                w.u32(seen);
                proto::message reply;
                if (int rc = call_daemon(w, reply, irm_wait); rc < 0)
                    return rc;
                std::uint64_t gen = 0;
                std::uint32_t n = 0;
                int rc = parse(reply, [&](proto::reader& r) {
                    gen = r.u64();
                    total = r.u32();
                    n = r.u32();
                    for (std::uint32_t i = 0; i < n; ++i)
                        read_binding_row(r, names);
                });
                if (rc < 0)
                    return rc;
                if (seen > 0 && gen != generation) {
                    changed = true;
                    break;
                }
                generation = gen;
                seen += n;
                if (n == 0 && seen < total) {
                    detail::set_error_detail("the runtime daemon sent an empty part of a listing");
                    return -errc::irmd;
                }
            } while (seen < total);
            if (!changed) {
                out = std::move(names);
                return 0;
            }
        }
        detail::set_error_detail("the bindings kept changing while they were listed");
        return -EAGAIN;
    }

private:
    static constexpr int max_listing_attempts = 5;

    // One row of a binding_list reply (see proto::msg::binding_list).
    static void read_binding_row(proto::reader& r, std::vector<name_bindings>& names)
    {
        auto kind = static_cast<proto::row>(r.u8());
        std::string name = r.str();
        if (kind == proto::row::name) {
            name_bindings nb;
            nb.info.name = name;
            nb.info.policy = static_cast<load_balance>(r.i32());
            names.push_back(std::move(nb));
            return;
        }
        // Other rows follow their name's row.
        if (names.empty() || names.back().info.name != name)
            throw proto::malformed("binding row for a name that was not listed");
        name_bindings& nb = names.back();
        switch (kind) {
        case proto::row::reg:
            nb.ipcps.push_back(r.i32());
            return;
        case proto::row::process: {
            process_binding p;
            p.pid = r.i32();
            p.program = r.str();
            nb.processes.push_back(std::move(p));
            return;
        }
        case proto::row::program: {
            program_binding p;
            p.path = r.str();
            p.opts = r.u16();
            p.interpreter = r.str();
            for (std::uint32_t argc = r.u32(); argc > 0; --argc)
                p.argv.push_back(r.str());
            nb.programs.push_back(std::move(p));
            return;
        }
        default:
            throw proto::malformed("unknown binding row kind");
        }
    }

    static int missing(int fd)
    {
        return fd < 0 ? -EBADF : -errc::not_allocated;
    }

    static int need_frct(const flow_state& f)
    {
        if (f.has_frct())
            return 0;
        detail::set_error_detail("the flow has no FRCT (its QoS does not ask for in-order "
                                 "delivery)");
        return -EPERM;
    }

    static std::string to_octal(std::uint32_t v)
    {
        char buf[16];
        std::snprintf(buf, sizeof buf, "%o", v);
        return buf;
    }

    // Frees what a flow holds; the flow is out of the table already.
    static void release(std::unique_ptr<flow_state> f) noexcept
    {
        if (f->qos.timeout > 0)
            unwatch_peer(*f);
        // Before the socket closes, so the peer sees FLOW_DEALLOC.
        f->my_state().fetch_or(end_deallocated, std::memory_order_release);
        ::munmap(f->page, flow_page_size);
        ::close(f->sock);
        if (f->notify >= 0)
            ::close(f->notify);
    }

    template <class F> static int parse(const proto::message& reply, F&& body)
    {
        try {
            auto r = reply.read();
            body(r);
            r.end();
            return 0;
        } catch (const proto::malformed& e) {
            detail::set_error_detail(std::string("malformed reply from the runtime daemon: ") +
                                     e.what());
            return -errc::irmd;
        }
    }

    // A listing whose reply is a count and that many items of one kind.
    template <class T, class ReadItem>
    static int list_call(msg type, std::vector<T>& out, ReadItem&& read_item)
    {
        proto::writer w(type);
        proto::message reply;
        if (int rc = call_daemon(w, reply, irm_wait); rc < 0)
            return rc;
        return parse(reply, [&](proto::reader& r) {
            out.clear();
            for (std::uint32_t n = r.u32(); n > 0; --n)
                out.push_back(read_item(r));
        });
    }

    // The acceptor's half of the key exchange travels in-band, as the first
    // record of an encrypted flow, so that accepts of plaintext flows make
    // no key pair (it would cost most of an allocation). Neither record
    // counts as an SDU, and the allocator has read it before the flow is
    // handed out. 0 or -errno.
    static int exchange_acceptor_key(flow_state& f, key_pair& keys, std::string& peer_key,
                                     std::chrono::steady_clock::time_point deadline)
    {
        if (f.side == 1) {
            if (int rc = keys.generate(); rc < 0)
                return rc;
            std::string mine = keys.public_key();
            if (::send(f.sock, mine.data(), mine.size(), MSG_NOSIGNAL) !=
                static_cast<ssize_t>(mine.size())) {
                detail::set_error_detail("the allocating process left during the key exchange");
                return -errc::flow_down;
            }
            return 0;
        }
        char key[public_key_size + 1];
        for (;;) {
            ssize_t n = ::recv(f.sock, key, sizeof key, MSG_DONTWAIT);
            if (n == static_cast<ssize_t>(public_key_size)) {
                peer_key.assign(key, public_key_size);
                return 0;
            }
            if (n >= 0 || (errno != EAGAIN && errno != EINTR)) {
                detail::set_error_detail(n == 0 ? "the accepting process left during the key exchange"
                                                : "malformed key exchange on an encrypted flow");
                return n == 0 ? -errc::flow_down : -errc::crypt;
            }
            if (int rc = wait_fd(f.sock, POLLIN, deadline); rc < 0)
                return rc;
        }
    }

    // Sends a flow request and installs the flow the daemon grants.
    int request_flow(proto::writer& w, key_pair keys, qos_spec* qos_out, timeout t)
    {
        const auto deadline = t ? std::chrono::steady_clock::now() + *t
                                : std::chrono::steady_clock::time_point::max();
        proto::message reply;
        int rc = call_daemon(w, reply, reply_wait(t));
        if (rc < 0)
            return rc;
        if (reply.type != msg::flow_granted || reply.fds.size() < 2 || reply.fds.size() > 3) {
            detail::set_error_detail("unexpected reply to a flow request from the runtime daemon");
            return -errc::irmd;
        }
        auto f = std::make_unique<flow_state>();
        std::string peer_key;
        rc = parse(reply, [&](proto::reader& r) {
            f->id = r.u64();
            f->side = r.u8() ? 1 : 0;
            f->qos = r.qos();
            if (!r.at_end())
                peer_key = r.str();
        });
        if (rc < 0)
            return rc;
        void* page = ::mmap(nullptr, flow_page_size, PROT_READ | PROT_WRITE, MAP_SHARED,
                            reply.fds[1].get(), 0);
        if (page == MAP_FAILED) {
            detail::set_error_detail("cannot map the flow's shared page");
            return -errno;
        }
        f->page = static_cast<flow_page*>(page);
        if (f->page->magic != flow_page_magic || f->page->version != flow_page_version) {
            ::munmap(page, flow_page_size);
            detail::set_error_detail("the runtime daemon sent a flow page of another version "
                                     "(restart the daemon after upgrading)");
            return -errc::irmd;
        }
        f->sock = reply.fds[0].release();
        if (reply.fds.size() > 2)
            f->notify = reply.fds[2].release();
        if (f->qos.cypher_s > 0) {
            int err = exchange_acceptor_key(*f, keys, peer_key, deadline);
            if (err == 0)
                f->cipher = flow_cipher::create(keys, peer_key, f->id, f->side, f->qos.cypher_s, err);
            if (!f->cipher) {
                release(std::move(f)); // the peer sees the flow go down
                return err;
            }
        }
        if (f->has_frct()) {
            auto fl = frct_flags::resource_control;
            if (f->qos.loss == 0)
                fl |= frct_flags::retransmission | frct_flags::linger;
            f->frct.store(detail::raw(fl));
        }
        if (!flows_.put(f->sock, f.get())) {
            release(std::move(f));
            return -EMFILE;
        }
        if (f->qos.timeout > 0)
            watch_peer(*f);
        if (qos_out)
            *qos_out = f->qos;
        return f.release()->sock;
    }

    flow_table<flow_state> flows_;
};

} // namespace

std::unique_ptr<detail::backend> make_backend()
{
    return std::make_unique<embedded_backend>();
}

} // namespace ouroboros::embedded
