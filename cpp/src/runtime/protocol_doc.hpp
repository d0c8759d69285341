// protocol_doc.hpp - docs/protocol.md, written from the field lists of
// messages.hpp. cpp/tests/test_wire.cpp checks that the file in the
// repository is what this renders (and rewrites it with --write-doc).
#pragma once

#include "messages.hpp"

#include <string>
#include <type_traits>
#include <vector>

namespace ouroboros::proto {

namespace doc_detail {

inline void table(std::string& out, const std::vector<field_row>& rows)
{
    if (rows.empty()) {
        out += "No fields.\n\n";
        return;
    }
    out += "| field | wire type |\n|---|---|\n";
    for (const auto& r : rows)
        out += "| `" + r.path + "` | " + r.type + " |\n";
    out += "\n";
}

template <class T> std::vector<field_row> rows_of()
{
    std::vector<field_row> rows;
    describe<T>(rows);
    return rows;
}

inline const char* reply_kind(msg id)
{
    return id == msg::flow_granted ? "flow_granted (3), with the flow's descriptors" : "ok (1)";
}

template <class R> void request(std::string& out)
{
    out += "### " + std::string(R::label) + " (" + std::to_string(static_cast<int>(R::id)) +
           ")\n\n" + R::what + ".\n\n";
    table(out, rows_of<R>());
    if constexpr (std::is_same_v<typename R::reply, no_reply>) {
        out += "No reply.\n\n";
    } else {
        out += "Reply: " + std::string(reply_kind(R::reply::id)) + "\n\n";
        table(out, rows_of<typename R::reply>());
    }
}

template <class... R> void requests(std::string& out, type_list<R...>)
{
    (request<R>(out), ...);
}

} // namespace doc_detail

inline std::string protocol_markdown()
{
    std::string out =
        "# The embedded runtime's control protocol\n\n"
        "<!-- Generated from cpp/src/runtime/messages.hpp: do not edit. The C++ test\n"
        "     test_wire checks it; `test_wire --write-doc docs/protocol.md` rewrites it. -->\n\n"
        "The library and the daemon `o7s-irmd` talk over the Unix socket `irmd.sock` in the\n"
        "runtime directory, one `SOCK_SEQPACKET` record per message: a 12-byte header (u16 "
        "magic\n"
        "`0x4f37`, u16 protocol version " +
        std::to_string(version) +
        ", u16 message type, u16 flags (0), u32 body length) and\n"
        "the body, with up to " +
        std::to_string(max_fds) +
        " descriptors passed with `SCM_RIGHTS`. A body is at most " +
        std::to_string(max_body) +
        " bytes.\n\n"
        "Fields follow each other without padding: integers and enums little-endian at "
        "their\n"
        "width (enums as the C++ API's values), `bool` as u8, `str` as a u16 length and "
        "UTF-8\n"
        "bytes (at most " +
        std::to_string(max_string) +
        "), lists as a u32 count and the items, optionals as u8 present\n"
        "(1) and the value, variants as u8 alternative and the alternative. A dotted path "
        "is a\n"
        "field of a record; `[]` is an item of a list.\n\n"
        "Every request may get an error reply instead, type 2:\n\n";
    doc_detail::table(out, doc_detail::rows_of<error_reply>());
    out += "A record that does not follow this page gets an error reply (or, for a broken\n"
           "header, a closed connection); the daemon never trusts it.\n\n"
           "A `flow_granted` carries the flow's descriptors in this order: its socket, its\n"
           "memfd (the flow page, `flow_page.hpp`, then for a unicast flow with rings one\n"
           "ring per direction, `flow_ring.hpp`; the page's `ring_bytes` says how large, 0\n"
           "for none), and for a unicast flow the eventfd both ends share for state changes\n"
           "and, with rings, the data bells of end 0 and end 1 (eventfds): end e waits on\n"
           "bell e and writes the other when it puts a record into the empty ring that\n"
           "end reads while it is armed. The memfd is sealed against shrinking.\n\n"
           "## Requests\n\n";
    doc_detail::requests(out, requests{});
    return out;
}

} // namespace ouroboros::proto
