// flow_install.cpp - flow requests to the daemon, and installing the flows
// it grants in this process (flow_install.hpp).
#include "flow_install.hpp"

#include "peer_watch.hpp"
#include "wait_fd.hpp"

#include <o7s/error.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace ouroboros::embedded {

void release_flow(std::unique_ptr<flow_state> f) noexcept
{
    if (f->qos.timeout > 0)
        unwatch_peer(*f);
    // Before the socket closes, so the peer sees FLOW_DEALLOC.
    f->my_state().fetch_or(end_deallocated, std::memory_order_release);
    ::munmap(f->page, f->mapped_bytes);
    ::close(f->sock);
    for (int fd : {f->notify, f->my_bell, f->peer_bell, f->poll_fd})
        if (fd >= 0)
            ::close(fd);
}

namespace {

int bad_memory(const char* why)
{
    detail::set_error_detail(std::string("the runtime daemon sent a flow whose shared memory ") +
                             why);
    return -errc::irmd;
}

// Maps the whole memfd of a flow (page and rings) after checking it: its
// size must be what the page's ring_bytes says (read once, here) and, with
// rings, sealed against shrinking (a truncated memfd would turn our next
// access into a SIGBUS). Sets up f's page, rings and bells.
int map_flow_memory(int memfd, proto::message& raw, flow_state& f)
{
    struct stat st{};
    if (::fstat(memfd, &st) != 0)
        return -errno;
    const auto size = static_cast<std::uint64_t>(st.st_size);
    if (size < flow_page_size || size > runtime::flow_memory_bytes(runtime::ring_max_bytes))
        return bad_memory("has an impossible size");
    void* mem = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
    if (mem == MAP_FAILED) {
        detail::set_error_detail("cannot map the flow's shared page");
        return -errno;
    }
    auto* page = static_cast<flow_page*>(mem);
    f.page = page;
    f.mapped_bytes = size;
    if (page->magic != flow_page_magic || page->version != flow_page_version) {
        detail::set_error_detail("the runtime daemon sent a flow page of another version "
                                 "(restart the daemon after upgrading)");
        return -errc::irmd;
    }
    const std::uint64_t ring_bytes = page->ring_bytes;
    if (!runtime::ring_bytes_valid(ring_bytes) || size != runtime::flow_memory_bytes(ring_bytes))
        return bad_memory("does not match its ring size");
    if (ring_bytes == 0)
        return 0;
    const int seals = ::fcntl(memfd, F_GET_SEALS);
    if (seals < 0 || !(seals & F_SEAL_SHRINK))
        return bad_memory("is not sealed against shrinking");
    if (raw.fds.size() != 5)
        return bad_memory("came without its data bells");
    auto* data = static_cast<std::uint8_t*>(mem) + flow_page_size;
    const int me = f.side, peer = 1 - f.side;
    f.tx = runtime::ring_writer(&page->ring[me], data + me * ring_bytes, ring_bytes);
    f.rx = runtime::ring_reader(&page->ring[peer], data + peer * ring_bytes, ring_bytes);
    f.my_bell = raw.fds[3 + me].release();
    f.peer_bell = raw.fds[3 + peer].release();
    return 0;
}

} // namespace

int take_grant(const proto::flow_granted& grant, proto::message& raw,
               std::unique_ptr<flow_state>& f)
{
    if (raw.fds.size() < 2 || raw.fds.size() > 5) {
        detail::set_error_detail("the runtime daemon granted a flow without its descriptors");
        return -errc::irmd;
    }
    auto granted = std::make_unique<flow_state>();
    granted->id = grant.flow_id;
    granted->side = grant.side ? 1 : 0;
    granted->qos = grant.qos;
    if (int rc = map_flow_memory(raw.fds[1].get(), raw, *granted); rc < 0) {
        if (granted->page)
            ::munmap(granted->page, granted->mapped_bytes);
        for (int fd : {granted->my_bell, granted->peer_bell})
            if (fd >= 0)
                ::close(fd);
        return rc;
    }
    granted->sock = raw.fds[0].release();
    if (raw.fds.size() > 2)
        granted->notify = raw.fds[2].release();
    f = std::move(granted);
    return 0;
}

int read_acceptor_key(flow_state& f, std::string& peer_key,
                      std::chrono::steady_clock::time_point deadline)
{
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
        if (deadline == std::chrono::steady_clock::time_point::min())
            return -EAGAIN;
        if (int rc = wait_fd(f.sock, POLLIN, deadline); rc < 0)
            return rc;
    }
}

int install_flow(flow_table<flow_state>& table, std::unique_ptr<flow_state> f, key_pair& keys,
                 const std::string& peer_key, qos_spec* qos_out)
{
    if (f->qos.cypher_s > 0) {
        int err = 0;
        if (f->side == 1) {
            err = keys.generate();
            std::string mine = keys.public_key();
            if (err == 0 && ::send(f->sock, mine.data(), mine.size(), MSG_NOSIGNAL) !=
                                static_cast<ssize_t>(mine.size())) {
                detail::set_error_detail("the allocating process left during the key exchange");
                err = -errc::flow_down;
            }
        }
        if (err == 0)
            f->cipher = flow_cipher::create(keys, peer_key, f->id, f->side, f->qos.cypher_s, err);
        if (!f->cipher) {
            release_flow(std::move(f)); // the peer sees the flow go down
            return err;
        }
    }
    if (f->has_frct()) {
        auto fl = frct_flags::resource_control;
        if (f->qos.loss == 0)
            fl |= frct_flags::retransmission | frct_flags::linger;
        f->frct.store(detail::raw(fl));
    }
    if (!table.put(f->sock, f.get())) {
        release_flow(std::move(f));
        return -EMFILE;
    }
    if (f->qos.timeout > 0)
        watch_peer(*f);
    if (qos_out)
        *qos_out = f->qos;
    return f.release()->sock;
}

namespace {

// A flow request for event loops: the request goes out at once; poll()
// reads the grant when the connection is readable. An allocation that
// asked to confirm confirms it there; an encrypted allocation then waits,
// on the flow's socket, for the acceptor's key.
class pending_request final : public detail::pending_flow {
public:
    pending_request(flow_table<flow_state>& table, proto::writer request, bool accept,
                    steady::time_point accept_by, bool confirm, key_pair keys)
        : table_(table), request_(std::move(request)), accept_(accept), accept_by_(accept_by),
          confirm_(confirm), keys_(std::move(keys))
    {
    }

    ~pending_request() override
    {
        if (state_ == waiting_key) {
            release_flow(std::move(f_)); // confirmed already: the acceptor sees it deallocated
        } else if (state_ == waiting_reply && accept_) {
            // A flow granted to us meanwhile is deallocated rather than left
            // for the kernel to close, so the allocator sees FLOW_DEALLOC.
            giving_up_ = true;
            int fd = poll(nullptr);
            if (fd >= 0)
                release_flow(std::unique_ptr<flow_state>(table_.take(fd)));
            detail::take_error_detail();
        }
        // Otherwise the connection closes: the daemon drops the request (an
        // allocation's grant included, before the acceptor saw it).
    }

    int start() { return call_.start(request_); }

    int fd() const noexcept override { return state_ == waiting_key ? f_->sock : call_.fd(); }

    int poll(qos_spec* qos) override
    {
        if (state_ == waiting_reply) {
            if (int rc = take_reply(); rc < 0)
                return rc;
        }
        if (state_ == waiting_key) {
            int rc = read_acceptor_key(*f_, grant_.peer_key,
                                       std::chrono::steady_clock::time_point::min());
            if (rc == -EAGAIN)
                return rc;
            state_ = finished;
            if (rc < 0) {
                release_flow(std::move(f_));
                return rc;
            }
        }
        if (!f_)
            return -EALREADY;
        return install_flow(table_, std::move(f_), keys_, grant_.peer_key, qos);
    }

private:
    enum state { waiting_reply, waiting_key, finished };

    // Reads the grant if it is there and confirms it. 0 or -errno (-EAGAIN:
    // not yet).
    int take_reply()
    {
        proto::message raw;
        int rc = call_.try_finish(raw);
        if (rc == -EAGAIN)
            return rc;
        // As a blocking accept does (request_flow()): one whose daemon died
        // goes to the daemon started afresh; the caller then waits on the
        // new connection (fd()).
        if (rc < 0 && accept_ && !giving_up_ &&
            retry_after_loss(call_, accept_by_, quick_losses_)) {
            proto::flow_accept again;
            if (accept_by_ != steady::time_point::max())
                again.timeout_ns = runtime::time_left(accept_by_).count();
            request_ = proto::writer(proto::msg::flow_accept);
            call_ = daemon_call();
            if (rc = encode_message(again, request_); rc == 0 && (rc = call_.start(request_)) == 0)
                return -EAGAIN;
        }
        state_ = finished;
        if (rc < 0) {
            call_.done(); // pools the connection after an error record only
            return rc;
        }
        // On failure the connection closes unpooled: the daemon then drops
        // an allocation's grant and the acceptor never sees the flow.
        if (rc = decode_reply(raw, grant_); rc < 0)
            return rc;
        if (rc = take_grant(grant_, raw, f_); rc < 0)
            return rc;
        if (confirm_) {
            proto::writer w(proto::msg::flow_confirm);
            rc = encode_message(proto::flow_confirm{grant_.flow_id}, w);
            if (rc == 0)
                rc = call_.send(w);
            if (rc < 0) {
                release_flow(std::move(f_));
                return rc;
            }
        }
        call_.done();
        if (f_->side == 0 && f_->qos.cypher_s > 0)
            state_ = waiting_key;
        return 0;
    }

    flow_table<flow_state>& table_;
    proto::writer request_;
    bool accept_;
    steady::time_point accept_by_; // an accept's deadline
    bool confirm_;
    key_pair keys_;
    daemon_call call_;
    int quick_losses_ = 0;   // retry_after_loss()
    bool giving_up_ = false; // destroyed: no retry
    state state_ = waiting_reply;
    proto::flow_granted grant_;
    std::unique_ptr<flow_state> f_;
};

} // namespace

std::unique_ptr<detail::pending_flow> start_pending(flow_table<flow_state>& table,
                                                    proto::writer request, bool accept,
                                                    steady::time_point accept_by, bool confirm,
                                                    key_pair keys, int& err)
{
    auto r = std::make_unique<pending_request>(table, std::move(request), accept, accept_by,
                                               confirm, std::move(keys));
    if (err = r->start(); err < 0)
        return nullptr;
    return r;
}

} // namespace ouroboros::embedded
