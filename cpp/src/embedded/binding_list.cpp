// binding_list.cpp - embedded_irm::list_bindings(): the daemon sends the
// rows of the listing (runtime/messages.hpp: binding_list) in parts that
// fit a record; a part from a changed registry (another generation) means
// starting over.
#include "irm_client.hpp"

#include "daemon_link.hpp"

#include <o7s/error.hpp>

#include <variant>

namespace ouroboros::embedded {
namespace {

constexpr int max_listing_attempts = 5;

// Adds one row to the names listed so far; rows other than a name's follow
// their name's row.
void add_row(proto::binding_row&& row, std::vector<name_bindings>& names)
{
    if (auto* n = std::get_if<proto::name_row>(&row)) {
        names.push_back(name_bindings{std::move(n->info), {}, {}, {}});
        return;
    }
    const std::string& name = std::visit(
        [](const auto& r) -> const std::string& {
            if constexpr (std::is_same_v<std::decay_t<decltype(r)>, proto::name_row>)
                return r.info.name;
            else
                return r.name;
        },
        row);
    if (names.empty() || names.back().info.name != name)
        throw proto::malformed("binding row for a name that was not listed");
    name_bindings& nb = names.back();
    if (auto* r = std::get_if<proto::reg_row>(&row))
        nb.ipcps.push_back(r->ipcp);
    else if (auto* p = std::get_if<proto::process_row>(&row))
        nb.processes.push_back(std::move(p->process));
    else if (auto* q = std::get_if<proto::program_row>(&row))
        nb.programs.push_back(std::move(q->program));
}

} // namespace

int embedded_irm::list_bindings(std::vector<name_bindings>& out)
{
    for (int attempt = 0; attempt < max_listing_attempts; ++attempt) {
        std::vector<name_bindings> names;
        std::uint64_t generation = 0;
        std::uint32_t seen = 0;
        proto::binding_part part;
        bool changed = false;
        do {
            if (int rc = call(proto::binding_list{seen}, part); rc < 0)
                return rc;
            if (seen > 0 && part.generation != generation) {
                changed = true;
                break;
            }
            generation = part.generation;
            if (part.rows.empty() && seen < part.total) {
                detail::set_error_detail("the runtime daemon sent an empty part of a listing");
                return -errc::irmd;
            }
            seen += static_cast<std::uint32_t>(part.rows.size());
            try {
                for (auto& row : part.rows)
                    add_row(std::move(row), names);
            } catch (const proto::malformed& e) {
                detail::set_error_detail(
                    std::string("malformed listing from the runtime daemon: ") + e.what());
                return -errc::irmd;
            }
        } while (seen < part.total);
        if (!changed) {
            out = std::move(names);
            return 0;
        }
    }
    detail::set_error_detail("the bindings kept changing while they were listed");
    return -EAGAIN;
}

} // namespace ouroboros::embedded
