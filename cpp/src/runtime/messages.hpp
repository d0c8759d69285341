// messages.hpp - the control protocol's messages: one struct per request and
// per reply, each with its fields listed once (codec.hpp encodes, decodes
// and documents them; docs/protocol.md is generated from this file).
//
// A request names its message type (`id` and `label`), says what it does
// (`what`) and what the daemon answers (`reply`). Replies are `ok` records whose body is
// the reply struct, `flow_granted` (with the flow's descriptors), or an
// `error_reply` for any request; a message whose reply is `no_reply` gets
// none. Adding a message: a struct here, an entry
// in `requests`, a handler in the daemon (server.hpp), a call in the
// library.
#pragma once

#include "codec.hpp"
#include "wire.hpp"

#include <o7s/irm.hpp>
#include <o7s/qos.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace ouroboros::proto {

// --- shapes that several messages share ------------------------------------

struct no_fields {
    template <class S, class V> static void fields(S&, V&&) {}
};

struct name_and_ipcp {
    std::string name;
    std::int32_t ipcp = 0;
    template <class S, class V> static void fields(S& s, V&& v)
    {
        v("name", s.name);
        v("ipcp", s.ipcp);
    }
};

struct pid_and_name {
    std::int32_t pid = 0;
    std::string name;
    template <class S, class V> static void fields(S& s, V&& v)
    {
        v("pid", s.pid);
        v("name", s.name);
    }
};

// --- replies --------------------------------------------------------------

// The reply of a message that gets none (flow_confirm).
struct no_reply : no_fields {};

// A success with nothing to tell.
struct ok : no_fields {
    static constexpr msg id = msg::ok;
};

// Any request may get this instead of its reply.
struct error_reply {
    static constexpr msg id = msg::error;
    std::int32_t err = 0; // a positive errno value
    std::string detail;   // a sentence for the user
    template <class S, class V> static void fields(S& s, V&& v)
    {
        v("err", s.err);
        v("detail", s.detail);
    }
};

// The answer to flow_alloc, flow_accept and flow_join. Descriptors: the
// flow's socket, its shared page (runtime/flow_page.hpp) and, for unicast
// flows, the eventfd both ends share.
struct flow_granted {
    static constexpr msg id = msg::flow_granted;
    std::uint64_t flow_id = 0;
    std::uint8_t side = 0; // 0: allocating (or joining) end, 1: accepting end
    qos_spec qos;
    std::string peer_key; // the other end's X25519 public key, or ""
    template <class S, class V> static void fields(S& s, V&& v)
    {
        v("flow_id", s.flow_id);
        v("side", s.side);
        v("qos", s.qos);
        v("peer_key", s.peer_key);
    }
};

// --- flows ----------------------------------------------------------------

struct flow_alloc {
    static constexpr msg id = msg::flow_alloc;
    static constexpr const char* label = "flow_alloc";
    static constexpr const char* what = "Allocate a flow to the process serving a name";
    using reply = flow_granted;
    std::string name;
    std::optional<qos_spec> qos; // none: the default spec
    std::int64_t timeout_ns = -1; // -1: no limit
    std::string public_key;       // X25519; "" unless qos.cypher_s > 0
    // The allocator answers the grant with flow_confirm; the acceptor gets
    // its end only then. Without it the acceptor gets its end first (one
    // daemon round less per allocation).
    bool confirm = false;
    template <class S, class V> static void fields(S& s, V&& v)
    {
        v("name", s.name);
        v("qos", s.qos);
        v("timeout_ns", s.timeout_ns);
        v("public_key", s.public_key);
        v("confirm", s.confirm);
    }
};

struct flow_confirm {
    static constexpr msg id = msg::flow_confirm;
    static constexpr const char* label = "flow_confirm";
    static constexpr const char* what =
        "Confirm the grant of a flow_alloc that asked to: only now does the acceptor get its "
        "end, so an allocation given up before (its connection closed, or another request "
        "sent on it) leaves no flow at either end, and the accept waits on";
    using reply = no_reply;
    std::uint64_t flow_id = 0; // the grant's
    template <class S, class V> static void fields(S& s, V&& v) { v("flow_id", s.flow_id); }
};

struct flow_accept {
    static constexpr msg id = msg::flow_accept;
    static constexpr const char* label = "flow_accept";
    static constexpr const char* what =
        "Accept the next flow to a name the process is bound to (the acceptor's key of an "
        "encrypted flow travels over the flow itself)";
    using reply = flow_granted;
    std::int64_t timeout_ns = -1;
    template <class S, class V> static void fields(S& s, V&& v) { v("timeout_ns", s.timeout_ns); }
};

struct flow_join {
    static constexpr msg id = msg::flow_join;
    static constexpr const char* label = "flow_join";
    static constexpr const char* what = "Join a broadcast layer";
    using reply = flow_granted;
    std::string layer;
    std::optional<qos_spec> qos;
    std::int64_t timeout_ns = -1; // joining never waits
    template <class S, class V> static void fields(S& s, V&& v)
    {
        v("layer", s.layer);
        v("qos", s.qos);
        v("timeout_ns", s.timeout_ns);
    }
};

// --- IPCPs ----------------------------------------------------------------

struct ipcp_created {
    static constexpr msg id = msg::ok;
    std::int32_t pid = 0;
    template <class S, class V> static void fields(S& s, V&& v) { v("pid", s.pid); }
};

struct ipcp_create {
    static constexpr msg id = msg::ipcp_create;
    static constexpr const char* label = "ipcp_create";
    static constexpr const char* what = "Create an IPCP";
    using reply = ipcp_created;
    std::string name;
    ipcp_type type = ipcp_type::local;
    template <class S, class V> static void fields(S& s, V&& v)
    {
        v("name", s.name);
        v("type", s.type);
    }
};

struct ipcp_destroy {
    static constexpr msg id = msg::ipcp_destroy;
    static constexpr const char* label = "ipcp_destroy";
    static constexpr const char* what = "Destroy an IPCP";
    using reply = ok;
    std::int32_t pid = 0;
    template <class S, class V> static void fields(S& s, V&& v) { v("pid", s.pid); }
};

struct ipcp_listing {
    static constexpr msg id = msg::ok;
    std::vector<ipcp_info> ipcps;
    template <class S, class V> static void fields(S& s, V&& v) { v("ipcps", s.ipcps); }
};

struct ipcp_list : no_fields {
    static constexpr msg id = msg::ipcp_list;
    static constexpr const char* label = "ipcp_list";
    static constexpr const char* what = "List the IPCPs";
    using reply = ipcp_listing;
};

struct ipcp_bootstrap {
    static constexpr msg id = msg::ipcp_bootstrap;
    static constexpr const char* label = "ipcp_bootstrap";
    static constexpr const char* what =
        "Bootstrap an IPCP into a layer (the daemon keeps the whole configuration)";
    using reply = ok;
    std::int32_t pid = 0;
    ipcp_config conf;
    template <class S, class V> static void fields(S& s, V&& v)
    {
        v("pid", s.pid);
        v("conf", s.conf);
    }
};

struct ipcp_enroll {
    static constexpr msg id = msg::ipcp_enroll;
    static constexpr const char* label = "ipcp_enroll";
    static constexpr const char* what = "Enroll an IPCP in a layer (not modelled: ENOTSUP)";
    using reply = ok;
    std::int32_t pid = 0;
    std::string dst;
    template <class S, class V> static void fields(S& s, V&& v)
    {
        v("pid", s.pid);
        v("dst", s.dst);
    }
};

struct ipcp_connect {
    static constexpr msg id = msg::ipcp_connect;
    static constexpr const char* label = "ipcp_connect";
    static constexpr const char* what =
        "Connect a component of an IPCP to another (not modelled: ENOTSUP)";
    using reply = ok;
    std::int32_t pid = 0;
    std::string dst;
    std::string component;
    qos_spec qos;
    template <class S, class V> static void fields(S& s, V&& v)
    {
        v("pid", s.pid);
        v("dst", s.dst);
        v("component", s.component);
        v("qos", s.qos);
    }
};

struct ipcp_disconnect {
    static constexpr msg id = msg::ipcp_disconnect;
    static constexpr const char* label = "ipcp_disconnect";
    static constexpr const char* what = "Undo ipcp_connect (not modelled: ENOTSUP)";
    using reply = ok;
    std::int32_t pid = 0;
    std::string dst;
    std::string component;
    template <class S, class V> static void fields(S& s, V&& v)
    {
        v("pid", s.pid);
        v("dst", s.dst);
        v("component", s.component);
    }
};

// --- names ----------------------------------------------------------------

struct name_create {
    static constexpr msg id = msg::name_create;
    static constexpr const char* label = "name_create";
    static constexpr const char* what =
        "Create a name (the daemon keeps its security paths, unused)";
    using reply = ok;
    name_info info;
    template <class S, class V> static void fields(S& s, V&& v) { v("info", s.info); }
};

struct name_destroy {
    static constexpr msg id = msg::name_destroy;
    static constexpr const char* label = "name_destroy";
    static constexpr const char* what = "Destroy a name with its registrations and bindings";
    using reply = ok;
    std::string name;
    template <class S, class V> static void fields(S& s, V&& v) { v("name", s.name); }
};

struct name_listing {
    static constexpr msg id = msg::ok;
    std::vector<name_info> names;
    template <class S, class V> static void fields(S& s, V&& v) { v("names", s.names); }
};

struct name_list : no_fields {
    static constexpr msg id = msg::name_list;
    static constexpr const char* label = "name_list";
    static constexpr const char* what = "List the names";
    using reply = name_listing;
};

struct name_reg : name_and_ipcp {
    static constexpr msg id = msg::name_reg;
    static constexpr const char* label = "name_reg";
    static constexpr const char* what = "Register a name with an IPCP";
    using reply = ok;
};

struct name_unreg : name_and_ipcp {
    static constexpr msg id = msg::name_unreg;
    static constexpr const char* label = "name_unreg";
    static constexpr const char* what = "Unregister a name from an IPCP";
    using reply = ok;
};

// --- bindings ("" as name: every name) ------------------------------------

// Bind requests with a larger body are refused, so that every binding fits
// one row of a binding_list reply.
inline constexpr std::size_t bind_request_limit = max_body - 8192;

struct bind_program {
    static constexpr msg id = msg::bind_program;
    static constexpr const char* label = "bind_program";
    static constexpr const char* what =
        "Bind a program (absolute path) to a name; with an interpreter, a script that "
        "`interpreter path argv...` runs";
    using reply = ok;
    std::string name;
    program_binding prog;
    template <class S, class V> static void fields(S& s, V&& v)
    {
        v("name", s.name);
        v("prog", s.prog);
    }
};

struct unbind_program {
    static constexpr msg id = msg::unbind_program;
    static constexpr const char* label = "unbind_program";
    static constexpr const char* what = "Unbind a program from a name";
    using reply = ok;
    std::string path;
    std::string name;
    template <class S, class V> static void fields(S& s, V&& v)
    {
        v("path", s.path);
        v("name", s.name);
    }
};

struct bind_process : pid_and_name {
    static constexpr msg id = msg::bind_process;
    static constexpr const char* label = "bind_process";
    static constexpr const char* what = "Bind a process to a name";
    using reply = ok;
};

struct unbind_process : pid_and_name {
    static constexpr msg id = msg::unbind_process;
    static constexpr const char* label = "unbind_process";
    static constexpr const char* what = "Unbind a process from a name";
    using reply = ok;
};

// The rows of a binding listing: a name, then its registrations, bound
// processes and bound programs.
struct name_row {
    static constexpr const char* label = "name";
    name_info info;
    template <class S, class V> static void fields(S& s, V&& v) { v("info", s.info); }
};

struct reg_row : name_and_ipcp {
    static constexpr const char* label = "registration";
};

struct process_row {
    static constexpr const char* label = "process";
    std::string name;
    process_binding process;
    template <class S, class V> static void fields(S& s, V&& v)
    {
        v("name", s.name);
        v("process", s.process);
    }
};

struct program_row {
    static constexpr const char* label = "program";
    std::string name;
    program_binding program;
    template <class S, class V> static void fields(S& s, V&& v)
    {
        v("name", s.name);
        v("program", s.program);
    }
};

using binding_row = std::variant<name_row, reg_row, process_row, program_row>;

// One part of a listing: the rows from `first` on that fit a record. A
// generation that changes between parts means the listing changed.
struct binding_part {
    static constexpr msg id = msg::ok;
    std::uint64_t generation = 0;
    std::uint32_t total = 0; // rows in the whole listing
    std::vector<binding_row> rows;
    template <class S, class V> static void fields(S& s, V&& v)
    {
        v("generation", s.generation);
        v("total", s.total);
        v("rows", s.rows);
    }
};

struct binding_list {
    static constexpr msg id = msg::binding_list;
    static constexpr const char* label = "binding_list";
    static constexpr const char* what =
        "List the names with their registrations and bindings, in parts";
    using reply = binding_part;
    std::uint32_t first = 0; // the first row wanted
    template <class S, class V> static void fields(S& s, V&& v) { v("first", s.first); }
};

// --- the daemon itself ------------------------------------------------------

// What the daemon is and what it serves (o7s-irm runtime status).
struct daemon_facts {
    static constexpr msg id = msg::ok;
    std::int32_t pid = 0;
    std::uint16_t version = 0; // of the protocol
    std::string software;      // pyOuroboros' version that built the daemon
    std::string runtime_dir;
    std::uint64_t uptime_ms = 0;
    std::uint32_t processes = 0;  // connected or bound, besides the asker
    std::uint32_t ipcps = 0;
    std::uint32_t names = 0;
    std::uint32_t bound_processes = 0;
    std::uint32_t bound_programs = 0;
    std::uint32_t flows = 0;     // unicast flows it granted that both ends still hold
    std::uint32_t members = 0;   // broadcast members (their flows go through the daemon)
    std::uint32_t pending = 0;   // flow requests waiting for their answer
    std::uint32_t children = 0;  // programs it started that still run
    std::uint64_t idle_exit_ms = 0; // exits after this long without use; 0: never
    template <class S, class V> static void fields(S& s, V&& v)
    {
        v("pid", s.pid);
        v("version", s.version);
        v("software", s.software);
        v("runtime_dir", s.runtime_dir);
        v("uptime_ms", s.uptime_ms);
        v("processes", s.processes);
        v("ipcps", s.ipcps);
        v("names", s.names);
        v("bound_processes", s.bound_processes);
        v("bound_programs", s.bound_programs);
        v("flows", s.flows);
        v("members", s.members);
        v("pending", s.pending);
        v("children", s.children);
        v("idle_exit_ms", s.idle_exit_ms);
    }
};

struct daemon_info : no_fields {
    static constexpr msg id = msg::daemon_info;
    static constexpr const char* label = "daemon_info";
    static constexpr const char* what =
        "Tell what the daemon is (pid, versions, runtime directory, uptime) and what it serves";
    using reply = daemon_facts;
};

struct daemon_stop : no_fields {
    static constexpr msg id = msg::daemon_stop;
    static constexpr const char* label = "daemon_stop";
    static constexpr const char* what = "Stop the daemon (after the reply)";
    using reply = ok;
};

// --- every request, for dispatch and the documentation ---------------------

template <class... R> struct type_list {};

using requests =
    type_list<flow_alloc, flow_accept, flow_join, flow_confirm, ipcp_create, ipcp_destroy,
              ipcp_list, ipcp_bootstrap, ipcp_enroll, ipcp_connect, ipcp_disconnect,
              name_create, name_destroy, name_list, name_reg, name_unreg, bind_program,
              unbind_program, bind_process, unbind_process, binding_list, daemon_info,
              daemon_stop>;

// Decodes the body of a record of type `id` as the matching request and
// calls f with it. False for a type that is no request; throws malformed
// for a body that does not hold the request.
template <class F, class... R> bool dispatch(type_list<R...>, msg id, reader& r, F&& f)
{
    return ((id == R::id ? (f(decode_body<R>(r)), true) : false) || ...);
}

} // namespace ouroboros::proto
