// flow_install.cpp - a flow request to the daemon, and installing the flow
// it grants in this process (flow_install.hpp).
#include "flow_install.hpp"

#include "peer_watch.hpp"
#include "wait_fd.hpp"

#include <o7s/error.hpp>

#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace ouroboros::embedded {
namespace {

// The acceptor's half of the key exchange travels in-band, as the first
// record of an encrypted flow, so that accepts of plaintext flows make
// no key pair (it would cost most of an allocation). Neither record
// counts as an SDU, and the allocator has read it before the flow is
// handed out. 0 or -errno.
int exchange_acceptor_key(flow_state& f, key_pair& keys, std::string& peer_key,
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

} // namespace

void release_flow(std::unique_ptr<flow_state> f) noexcept
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

int install_flow(flow_table<flow_state>& table, const proto::flow_granted& grant,
                 proto::message& raw, key_pair keys, qos_spec* qos_out,
                 std::chrono::steady_clock::time_point deadline)
{
    if (raw.fds.size() < 2 || raw.fds.size() > 3) {
        detail::set_error_detail("the runtime daemon granted a flow without its descriptors");
        return -errc::irmd;
    }
    auto f = std::make_unique<flow_state>();
    f->id = grant.flow_id;
    f->side = grant.side ? 1 : 0;
    f->qos = grant.qos;
    std::string peer_key = grant.peer_key;
    void* page = ::mmap(nullptr, flow_page_size, PROT_READ | PROT_WRITE, MAP_SHARED,
                        raw.fds[1].get(), 0);
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
    f->sock = raw.fds[0].release();
    if (raw.fds.size() > 2)
        f->notify = raw.fds[2].release();
    if (f->qos.cypher_s > 0) {
        int err = exchange_acceptor_key(*f, keys, peer_key, deadline);
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

} // namespace ouroboros::embedded
