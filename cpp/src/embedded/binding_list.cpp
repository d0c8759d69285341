// binding_list.cpp - embedded_irm::list_bindings(): the daemon sends the
// rows of the listing in parts that fit a record; a part from a changed
// registry (another generation) means starting over.
#include "irm_client.hpp"

#include "daemon_link.hpp"

#include <o7s/error.hpp>

namespace ouroboros::embedded {
namespace {

using proto::msg;

constexpr auto irm_wait = std::chrono::seconds(30);
constexpr int max_listing_attempts = 5;

// One row of a binding_list reply (see proto::msg::binding_list).
void read_binding_row(proto::reader& r, std::vector<name_bindings>& names)
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

} // namespace

int embedded_irm::list_bindings(std::vector<name_bindings>& out)
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
            int rc = parse_reply(reply, [&](proto::reader& r) {
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

} // namespace ouroboros::embedded
