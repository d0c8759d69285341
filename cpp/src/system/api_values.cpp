// api_values.cpp - the C++ API's flag and event values are the installed
// release's: the backend passes them to libouroboros-dev unchanged, so a
// build against headers with other values fails here, at compile time.
// (The error numbers do differ between releases: errno_map.hpp maps them.)
#include "ouroboros_c.hpp"

#include <o7s/flags.hpp>

namespace ouroboros::system {
namespace {

using detail::raw;

static_assert(raw(flow_flags::read_only) == FLOWFRDONLY);
static_assert(raw(flow_flags::write_only) == FLOWFWRONLY);
static_assert(raw(flow_flags::read_write) == FLOWFRDWR);
static_assert(raw(flow_flags::access_mask) == FLOWFACCMODE);
static_assert(raw(flow_flags::down) == FLOWFDOWN);
static_assert(raw(flow_flags::nonblocking_read) == FLOWFRNOBLOCK);
static_assert(raw(flow_flags::nonblocking_write) == FLOWFWNOBLOCK);
static_assert(raw(flow_flags::nonblocking) == FLOWFNONBLOCK);
static_assert(raw(flow_flags::no_partial_read) == FLOWFRNOPART);
static_assert(raw(flow_flags::no_partial_write) == FLOWFWNOPART);
static_assert(raw(flow_flags::defaults) == FLOWFDEFAULT);

static_assert(raw(frct_flags::retransmission) == FRCTFRTX);
static_assert(raw(frct_flags::resource_control) == FRCTFRESCNTL);
static_assert(raw(frct_flags::linger) == FRCTFLINGER);

static_assert(raw(event_type::pkt) == FLOW_PKT);
static_assert(raw(event_type::down) == FLOW_DOWN);
static_assert(raw(event_type::up) == FLOW_UP);
static_assert(raw(event_type::alloc) == FLOW_ALLOC);
static_assert(raw(event_type::dealloc) == FLOW_DEALLOC);
static_assert(raw(event_type::peer) == FLOW_PEER);

} // namespace
} // namespace ouroboros::system
