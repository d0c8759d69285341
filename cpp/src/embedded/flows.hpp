// flows.hpp - the flow half of the embedded backend: what dev.h, fccntl.h
// and fqueue.h mean on an embedded flow (flows.cpp). Allocation asks the
// daemon (flow_install.hpp); I/O goes straight to the flow's socket
// (flow_io.cpp, flow_batch_io.cpp).
#pragma once

#include <o7s/detail/flow_backend.hpp>

#include "flow_state.hpp"

namespace ouroboros::embedded {

class embedded_flows final : public detail::flow_backend {
public:
    int flow_alloc(const std::string& dst, qos_spec* qos, timeout t) override;
    int flow_accept(qos_spec* qos, timeout t) override;
    int flow_join(const std::string& dst, qos_spec* qos, timeout t) override;
    int flow_dealloc(int fd) override;
    void flow_interrupt(int fd) noexcept override;
    // Flow requests for event loops (flow_install.hpp).
    std::unique_ptr<detail::pending_flow> start_flow_request(detail::request_kind kind,
                                                             const std::string& dst,
                                                             const qos_spec* qos, timeout t,
                                                             int& err) override;

    ssize_t flow_read(int fd, void* buf, std::size_t count) override;
    ssize_t flow_write(int fd, const void* buf, std::size_t count) override;
    ssize_t flow_read_many(int fd, sdu_buffer* v, std::size_t n) override;
    ssize_t flow_write_many(int fd, const sdu_view* v, std::size_t n) override;
    // SDUs packed into one buffer: with rings straight from the ring, each
    // record's size known before it is copied (flow_batch_io.hpp).
    ssize_t flow_read_many_into(int fd, void* buf, std::size_t size, std::size_t* ends,
                                std::size_t max) override;

    int set_busy_poll(int fd, std::chrono::nanoseconds budget) override;
    int get_busy_poll(int fd, std::chrono::nanoseconds& budget) override;
    int set_timeout(int fd, detail::direction d, timeout t) override;
    int get_timeout(int fd, detail::direction d, timeout& t) override;
    int set_flags(int fd, flow_flags f) override;
    int get_flags(int fd, flow_flags& f) override;
    int get_qos(int fd, qos_spec& q) override;
    int queue_len(int fd, detail::direction d, std::size_t& n) override;
    int set_frct_flags(int fd, frct_flags f) override;
    int get_frct_flags(int fd, frct_flags& f) override;
    int pollable_fd(int fd) override;
    std::size_t max_sdu() const noexcept override { return runtime::max_sdu(); }
    std::size_t flow_max_sdu(int fd) override;

    std::unique_ptr<detail::event_set> create_event_set(int& err) override;

private:
    flow_table<flow_state> flows_;
};

} // namespace ouroboros::embedded
