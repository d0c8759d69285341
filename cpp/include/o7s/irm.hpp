// o7s/irm.hpp - the IPC Resource Manager API: IPCPs, layers, names and
// bindings. Mirrors Ouroboros' irm.h; errors throw ouroboros::error.
#pragma once

#include <o7s/qos.hpp>

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace ouroboros {

// The IRM model. Each struct lists its fields once, in fields(), under the
// names of its Python class's constructor parameters and attributes
// (ouroboros.irm, ouroboros.ipcp_config).
// That list drives the control protocol of the embedded runtime
// (cpp/src/runtime/codec.hpp, docs/protocol.md) and the conversion to and
// from Python (cpp/bindings/model.hpp); a field added to a struct and its
// list reaches the daemon and Python without more code.

// IPCP types, values of Ouroboros' enum ipcp_type.
enum class ipcp_type : int {
    local = 0,
    unicast = 1,
    broadcast = 2,
    eth_llc = 3,
    eth_dix = 4,
    udp4 = 5,
    udp6 = 6,
};

// Load-balancing policy of a name (enum pol_balance).
enum class load_balance : int {
    round_robin = 0,
    spill = 1,
};

// bind_program() option: start the program when a flow arrives for the name.
inline constexpr std::uint16_t bind_auto = 0x01;

// Policies and parameters of a layer, with the defaults of Ouroboros'
// ipcp.h (0.23). Times are in seconds.
enum class addr_auth_policy : int { flat_random = 0 };
enum class link_state_policy : int { simple = 0, lfa = 1, ecmp = 2 };
enum class routing_policy : int { link_state = 0 };
enum class cong_avoid_policy : int { none = 0, mb_ecn = 1 };
enum class dir_policy : int { dht = 0 };
enum class dir_hash_algo : int { sha3_224 = 0, sha3_256 = 1, sha3_384 = 2, sha3_512 = 3 };

struct link_state_config {
    link_state_policy pol = link_state_policy::simple;
    std::uint32_t t_recalc = 4;  // recalculate the forwarding table
    std::uint32_t t_update = 15; // between link-state updates
    std::uint32_t t_timeo = 60;  // link timeout

    template <class S, class V> static void fields(S& s, V&& v)
    {
        v("pol", s.pol);
        v("t_recalc", s.t_recalc);
        v("t_update", s.t_update);
        v("t_timeo", s.t_timeo);
    }
};

struct routing_config {
    routing_policy pol = routing_policy::link_state;
    link_state_config ls;

    template <class S, class V> static void fields(S& s, V&& v)
    {
        v("pol", s.pol);
        v("ls", s.ls);
    }
};

struct dt_config {
    std::uint8_t addr_size = 4; // bytes
    std::uint8_t eid_size = 8;  // bytes
    std::uint8_t max_ttl = 60;
    routing_config routing;

    template <class S, class V> static void fields(S& s, V&& v)
    {
        v("addr_size", s.addr_size);
        v("eid_size", s.eid_size);
        v("max_ttl", s.max_ttl);
        v("routing", s.routing);
    }
};

struct dht_config {
    std::uint32_t alpha = 3; // parallel lookups
    std::uint32_t k = 8;     // replication factor
    std::uint32_t t_expire = 86400;
    std::uint32_t t_refresh = 900;
    std::uint32_t t_replicate = 900;

    template <class S, class V> static void fields(S& s, V&& v)
    {
        v("alpha", s.alpha);
        v("k", s.k);
        v("t_expire", s.t_expire);
        v("t_refresh", s.t_refresh);
        v("t_replicate", s.t_replicate);
    }
};

struct dir_config {
    dir_policy pol = dir_policy::dht;
    dht_config dht;

    template <class S, class V> static void fields(S& s, V&& v)
    {
        v("pol", s.pol);
        v("dht", s.dht);
    }
};

struct unicast_config {
    dt_config dt;
    dir_config dir;
    addr_auth_policy addr_auth = addr_auth_policy::flat_random;
    cong_avoid_policy cong_avoid = cong_avoid_policy::mb_ecn;

    template <class S, class V> static void fields(S& s, V&& v)
    {
        v("dt", s.dt);
        v("dir", s.dir);
        v("addr_auth", s.addr_auth);
        v("cong_avoid", s.cong_avoid);
    }
};

struct eth_config {
    std::string dev;                // network interface
    std::uint16_t ethertype = 0xA000; // eth-dix only

    template <class S, class V> static void fields(S& s, V&& v)
    {
        v("dev", s.dev);
        v("ethertype", s.ethertype);
    }
};

// Addresses in text form (dotted quad, or IPv6 notation).
struct udp4_config {
    std::string ip_addr = "0.0.0.0";
    std::string dns_addr = "0.0.0.0";
    std::uint16_t port = 3435;

    template <class S, class V> static void fields(S& s, V&& v)
    {
        v("ip_addr", s.ip_addr);
        v("dns_addr", s.dns_addr);
        v("port", s.port);
    }
};

struct udp6_config {
    std::string ip_addr = "::";
    std::string dns_addr = "::";
    std::uint16_t port = 3435;

    template <class S, class V> static void fields(S& s, V&& v)
    {
        v("ip_addr", s.ip_addr);
        v("dns_addr", s.dns_addr);
        v("port", s.port);
    }
};

// What bootstrap_ipcp() needs. Only the part for `type` is used. The
// embedded runtime models local and broadcast layers, which need nothing
// beyond the type and the layer name: its daemon gets the whole
// configuration, keeps it with the IPCP and logs the fields it ignores
// (those that differ from the defaults).
struct ipcp_config {
    ipcp_config(ipcp_type t = ipcp_type::local, std::string layer_name = {})
        : type(t), layer(std::move(layer_name))
    {
    }

    ipcp_type type = ipcp_type::local;
    std::string layer;
    dir_hash_algo dir_hash = dir_hash_algo::sha3_256;
    unicast_config unicast;
    eth_config eth;
    udp4_config udp4;
    udp6_config udp6;

    template <class S, class V> static void fields(S& s, V&& v)
    {
        v("ipcp_type", s.type);
        v("layer_name", s.layer);
        v("dir_hash_algo", s.dir_hash);
        v("unicast", s.unicast);
        v("eth", s.eth);
        v("udp4", s.udp4);
        v("udp6", s.udp6);
    }
};

struct ipcp_info {
    pid_t pid = -1;
    ipcp_type type = ipcp_type::local;
    std::string name;
    std::string layer;

    template <class S, class V> static void fields(S& s, V&& v)
    {
        v("pid", s.pid);
        v("ipcp_type", s.type);
        v("name", s.name);
        v("layer", s.layer);
    }
};

// Paths of the encryption configuration, key and certificate of a name
// (empty: the IRMd's default). The embedded runtime keeps them with the
// name and does not use them.
struct name_sec_paths {
    std::string enc;
    std::string key;
    std::string crt;

    template <class S, class V> static void fields(S& s, V&& v)
    {
        v("enc", s.enc);
        v("key", s.key);
        v("crt", s.crt);
    }
};

struct name_info {
    // name_info{name, policy} as before the security paths were added.
    name_info(std::string n = {}, load_balance p = load_balance::round_robin)
        : name(std::move(n)), policy(p)
    {
    }

    std::string name;
    load_balance policy = load_balance::round_robin;
    name_sec_paths server_sec; // used when a process accepts flows for the name
    name_sec_paths client_sec; // used when a process allocates flows to it

    template <class S, class V> static void fields(S& s, V&& v)
    {
        v("name", s.name);
        v("pol_lb", s.policy);
        v("server_sec", s.server_sec);
        v("client_sec", s.client_sec);
    }
};

// A process bound to a name: with bind_process(), or because it runs a
// program bound to the name (then `program` is that program's path).
struct process_binding {
    pid_t pid = -1;
    std::string program;

    template <class S, class V> static void fields(S& s, V&& v)
    {
        v("pid", s.pid);
        v("prog", s.program);
    }
};

// A program bound to a name. With bind_auto in `opts`, a flow allocated to
// the name while no bound process accepts starts `path` with `argv`
// (through `interpreter` when it was bound with one).
struct program_binding {
    std::string path;
    std::uint16_t opts = 0;
    std::vector<std::string> argv;
    std::string interpreter;

    template <class S, class V> static void fields(S& s, V&& v)
    {
        v("prog", s.path);
        v("opts", s.opts);
        v("argv", s.argv);
        v("interpreter", s.interpreter);
    }
};

// Everything the IRM knows about one name (what `irm name list` shows).
struct name_bindings {
    name_info info;
    std::vector<pid_t> ipcps; // IPCPs (layers) the name is registered with
    std::vector<process_binding> processes;
    std::vector<program_binding> programs;

    template <class S, class V> static void fields(S& s, V&& v)
    {
        v("info", s.info);
        v("ipcps", s.ipcps);
        v("processes", s.processes);
        v("programs", s.programs);
    }
};

namespace irm {

pid_t create_ipcp(const std::string& name, ipcp_type type);
void destroy_ipcp(pid_t pid);
std::vector<ipcp_info> list_ipcps();
void bootstrap_ipcp(pid_t pid, const ipcp_config& conf);
void enroll_ipcp(pid_t pid, const std::string& dst);
void connect_ipcp(pid_t pid, const std::string& dst, const std::string& component,
                  const qos_spec& qos);
void disconnect_ipcp(pid_t pid, const std::string& dst, const std::string& component);

// A program without a '/' is looked up in $PATH; the IRM keeps its
// absolute, symlink-free path. With an `interpreter`, the program is a
// script that need not be executable: it is started as
// `interpreter program argv...` (the embedded runtime only).
void bind_program(const std::string& program, const std::string& name,
                  std::uint16_t opts = 0, const std::vector<std::string>& argv = {},
                  const std::string& interpreter = {});
// An empty name unbinds the program (or process) from every name.
void unbind_program(const std::string& program, const std::string& name = {});
void bind_process(pid_t pid, const std::string& name);
void unbind_process(pid_t pid, const std::string& name = {});

void create_name(const name_info& info);
void destroy_name(const std::string& name);
std::vector<name_info> list_names();
void reg_name(const std::string& name, pid_t ipcp_pid);
void unreg_name(const std::string& name, pid_t ipcp_pid);

// Names with their registrations and bindings. Not in Ouroboros' C API;
// backends that cannot tell throw ENOTSUP.
std::vector<name_bindings> list_bindings();

} // namespace irm
} // namespace ouroboros
