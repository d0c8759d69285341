// embedded_backend.cpp - the embedded runtime as a backend: its flow half
// (flows.hpp) and its IRM half (irm_client.hpp).
#include "embedded_backend.hpp"

#include "flows.hpp"
#include "irm_client.hpp"

#include "runtime/wire.hpp"

namespace ouroboros::embedded {
namespace {

class embedded_backend final : public detail::backend {
public:
    const char* name() const noexcept override { return "embedded"; }
    detail::flow_backend& flows() noexcept override { return flows_; }
    detail::irm_backend& irm() noexcept override { return irm_; }

private:
    embedded_flows flows_;
    embedded_irm irm_;
};

} // namespace

std::unique_ptr<detail::backend> make_backend()
{
    return std::make_unique<embedded_backend>();
}

int protocol_version() noexcept
{
    return proto::version;
}

} // namespace ouroboros::embedded
