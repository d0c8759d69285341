"""``o7s-irm``: the ``irm`` command of Ouroboros for pyOuroboros' runtimes.

Same syntax as the real ``irm`` tool (0.23), so its tutorials and scripts
work with only the command name changed; it is not called ``irm`` so that
it never shadows the real one. Words may be abbreviated to a prefix, the
first match in the tool's order winning (``o7s-irm i b t local n x l y``)::

    o7s-irm ipcp create type local name local_ipcp
    o7s-irm ipcp bootstrap type local name local_ipcp layer local_layer
    o7s-irm name register oping_server layer local_layer
    o7s-irm bind process 1234 name oping_server
    o7s-irm bind program /usr/bin/oping name oping_server auto -- --listen
    o7s-irm ipcp list
    o7s-irm name list
    o7s-irm runtime status      (the embedded runtime's daemon; not in irm)
    o7s-irm runtime stop

It prints nothing on success, a table for ``list``, and errors on stderr
with exit status 1 (``runtime status``: 3 when no daemon runs).
``o7s-irm --version`` prints pyOuroboros' version.
"""

from __future__ import annotations

import os
import sys
from typing import Callable, Dict, List, NoReturn, Optional, Sequence, Tuple, TypeVar

from .. import __version__, cli
from .. import irm as _irm
from .. import runtime as _runtime
from ..errors import IrmNotSupported, OuroborosError
from ..ipcp_config import (AddressAuthPolicy, CongestionAvoidPolicy, DhtConfig, DirConfig,
                          DirectoryHashAlgo, DirectoryPolicy, DtConfig, EthConfig, IpcpConfig,
                          IpcpType, LinkStateConfig, LinkStatePolicy, RoutingConfig,
                          UnicastConfig, Udp4Config, Udp6Config)
from ..irm import BIND_AUTO, LoadBalancePolicy, NameInfo, NameSecPaths
from ..qos import (QoSSpec, qos_best_effort, qos_data, qos_raw, qos_video,
                  qos_voice)

V = TypeVar("V")

PROG = "o7s-irm"

TYPES: Dict[str, IpcpType] = {
    "unicast": IpcpType.UNICAST, "broadcast": IpcpType.BROADCAST, "local": IpcpType.LOCAL,
    "udp4": IpcpType.UDP4, "udp6": IpcpType.UDP6, "eth-llc": IpcpType.ETH_LLC,
    "eth-dix": IpcpType.ETH_DIX,
}
TYPE_NAMES = {v: k for k, v in TYPES.items()}
POLICIES = {"round-robin": LoadBalancePolicy.ROUND_ROBIN, "spillover": LoadBalancePolicy.SPILL}
POLICY_NAMES = {v: k for k, v in POLICIES.items()}
HASHES = {"SHA3_224": DirectoryHashAlgo.SHA3_224, "SHA3_256": DirectoryHashAlgo.SHA3_256,
          "SHA3_384": DirectoryHashAlgo.SHA3_384, "SHA3_512": DirectoryHashAlgo.SHA3_512}
ROUTING = {"link_state": LinkStatePolicy.SIMPLE, "lfa": LinkStatePolicy.LFA,
           "ecmp": LinkStatePolicy.ECMP}
CONGESTION = {"none": CongestionAvoidPolicy.NONE, "mb-ecn": CongestionAvoidPolicy.MB_ECN}


class UsageError(Exception):
    """Bad command line: the message, then the usage of the command."""

    def __init__(self, message: str, usage: str) -> None:
        super().__init__(message)
        self.usage = usage


def matches(word: str, keyword: str) -> bool:
    """The irm tool's abbreviation rule: ``word`` is a prefix of ``keyword``."""
    return bool(word) and keyword.startswith(word)


def pick(word: str, keywords: Sequence[str]) -> Optional[str]:
    """The first keyword that ``word`` abbreviates."""
    return next((k for k in keywords if matches(word, k)), None)


def parse_pairs(args: List[str], keywords: Sequence[str], usage: str,
                flags: Sequence[str] = ()) -> Dict[str, List[str]]:
    """``keyword value`` pairs (and lone ``flags``), keywords abbreviated;
    a keyword given twice keeps all its values."""
    out: Dict[str, List[str]] = {}
    i = 0
    while i < len(args):
        key = pick(args[i], list(keywords) + list(flags))
        if key is None:
            raise UsageError(f'"{args[i]}" is unknown', usage)
        if key in flags:
            out.setdefault(key, []).append("")
            i += 1
            continue
        if i + 1 >= len(args):
            raise UsageError(f'"{key}" needs a value', usage)
        out.setdefault(key, []).append(args[i + 1])
        i += 2
    return out


def one(pairs: Dict[str, List[str]], key: str, usage: str,
        default: Optional[str] = None) -> str:
    values = pairs.get(key)
    if values:
        return values[-1]
    if default is None:
        raise UsageError(f'"{key}" is missing', usage)
    return default


def choice(options: Dict[str, V], word: str, what: str, usage: str) -> V:
    if word not in options:
        raise UsageError(f'{what} "{word}" is unknown (one of: {", ".join(options)})', usage)
    return options[word]


def number(word: str, what: str, usage: str, base: int = 10) -> int:
    try:
        return int(word, base)
    except ValueError:
        raise UsageError(f'{what} "{word}" is not a number', usage) from None


def table(headers: Sequence[str], rows: Sequence[Sequence[str]],
          right: Sequence[int] = ()) -> str:
    """A boxed table; columns in ``right`` are right-aligned."""
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.rjust(w) if i in right else c.ljust(w)
                                 for i, (c, w) in enumerate(zip(cells, widths))) + " |"
    return "\n".join([rule, line(headers), rule] + [line(r) for r in rows] + [rule])


# --- ipcp

IPCP_USAGE = """usage: o7s-irm ipcp OPERATION
  OPERATION: create destroy bootstrap enroll connect disconnect list help"""
CREATE_USAGE = f"usage: o7s-irm ipcp create name NAME type TYPE\n  TYPE: {' '.join(TYPES)}"
DESTROY_USAGE = "usage: o7s-irm ipcp destroy name NAME"
BOOTSTRAP_USAGE = f"""usage: o7s-irm ipcp bootstrap name NAME layer LAYER [type TYPE] [OPTIONS]
  creates the IPCP when there is none of that name and TYPE is given
  TYPE: {' '.join(TYPES)}
  all types:  [hash {'|'.join(HASHES)}] (default SHA3_256)
  unicast:    [addr_auth flat] [directory DHT] [routing {'|'.join(ROUTING)}]
              [congestion {'|'.join(CONGESTION)}] [addr BYTES] [eid BYTES] [ttl N]
              [dht_alpha N] [dht_k N] [dht_t_expire S] [dht_t_refresh S]
              [dht_t_replicate S] [ls_t_recalc S] [ls_t_update S] [ls_t_timeo S]
              [autobind]
  broadcast:  [autobind]
  udp4, udp6: ip ADDRESS [port PORT] [dns ADDRESS]
  eth-llc:    device NAME
  eth-dix:    device NAME [ethertype HEX]
  the embedded runtime bootstraps local and broadcast IPCPs"""
BOOTSTRAP_KEYS = ("type", "layer", "name", "hash", "ip", "dns", "device", "ethertype", "addr",
                  "eid", "ttl", "port", "autobind", "addr_auth", "directory", "dht_alpha",
                  "dht_k", "dht_t_expire", "dht_t_refresh", "dht_t_replicate", "routing",
                  "ls_t_timeo", "ls_t_update", "ls_t_recalc", "congestion")
ENROLL_USAGE = """usage: o7s-irm ipcp enroll name NAME (layer LAYER | dst DST) [type unicast|broadcast]
  [autobind]   (needs the real Ouroboros)"""
CONNECT_USAGE = """usage: o7s-irm ipcp connect name NAME dst DST [component dt|mgmt] [qos raw|best|voice|video|data]
  (needs the real Ouroboros)"""
DISCONNECT_USAGE = """usage: o7s-irm ipcp disconnect name NAME dst DST [component dt|mgmt]
  (needs the real Ouroboros)"""
LIST_USAGE = f"usage: o7s-irm ipcp list [name NAME] [type TYPE] [layer LAYER]\n  TYPE: {' '.join(TYPES)}"


def ipcp_create(args: List[str]) -> None:
    pairs = parse_pairs(args, ("type", "name"), CREATE_USAGE)
    kind = choice(TYPES, one(pairs, "type", CREATE_USAGE), "IPCP type", CREATE_USAGE)
    _irm.create_ipcp(one(pairs, "name", CREATE_USAGE), kind)


def ipcp_destroy(args: List[str]) -> None:
    cli.destroy_ipcp(one(parse_pairs(args, ("name",), DESTROY_USAGE), "name", DESTROY_USAGE))


def _int_option(pairs: Dict[str, List[str]], key: str, default: int) -> int:
    return number(pairs[key][-1], key, BOOTSTRAP_USAGE) if key in pairs else default


def bootstrap_config(pairs: Dict[str, List[str]], kind: IpcpType, layer: str) -> IpcpConfig:
    """The configuration the bootstrap options describe (defaults of
    Ouroboros' ipcp.h for what is not given)."""
    u = BOOTSTRAP_USAGE
    hash_algo = choice(HASHES, one(pairs, "hash", u, "SHA3_256"), "hash", u)
    conf = IpcpConfig(kind, layer, hash_algo)
    if kind == IpcpType.UNICAST:
        addr_auth = choice({"flat": AddressAuthPolicy.FLAT_RANDOM},
                           one(pairs, "addr_auth", u, "flat"), "address policy", u)
        directory = choice({"DHT": DirectoryPolicy.DHT}, one(pairs, "directory", u, "DHT"),
                           "directory policy", u)
        ls = LinkStateConfig(
            choice(ROUTING, one(pairs, "routing", u, "link_state"), "routing", u),
            _int_option(pairs, "ls_t_recalc", 4), _int_option(pairs, "ls_t_update", 15),
            _int_option(pairs, "ls_t_timeo", 60))
        dht = DhtConfig(_int_option(pairs, "dht_alpha", 3), _int_option(pairs, "dht_k", 8),
                        _int_option(pairs, "dht_t_expire", 86400),
                        _int_option(pairs, "dht_t_refresh", 900),
                        _int_option(pairs, "dht_t_replicate", 900))
        conf.unicast = UnicastConfig(
            DtConfig(_int_option(pairs, "addr", 4), _int_option(pairs, "eid", 8),
                     _int_option(pairs, "ttl", 60), RoutingConfig(ls=ls)),
            DirConfig(directory, dht), addr_auth,
            choice(CONGESTION, one(pairs, "congestion", u, "mb-ecn"), "congestion", u))
    elif kind in (IpcpType.UDP4, IpcpType.UDP6):
        ip = one(pairs, "ip", u)
        if ip in ("0.0.0.0", "::"):
            raise UsageError(f'cannot use the IP address "{ip}"', u)
        any_addr = "0.0.0.0" if kind == IpcpType.UDP4 else "::"
        dns, port = one(pairs, "dns", u, any_addr), _int_option(pairs, "port", 3435)
        if kind == IpcpType.UDP4:
            conf.udp4 = Udp4Config(ip, dns, port)
        else:
            conf.udp6 = Udp6Config(ip, dns, port)
    elif kind in (IpcpType.ETH_LLC, IpcpType.ETH_DIX):
        ethertype = 0xA000
        if "ethertype" in pairs:
            ethertype = number(pairs["ethertype"][-1].lower().removeprefix("0x"), "ethertype", u, 16)
        conf.eth = EthConfig(one(pairs, "device", u), ethertype)
    return conf


def ipcp_bootstrap(args: List[str]) -> None:
    u = BOOTSTRAP_USAGE
    pairs = parse_pairs(args, [k for k in BOOTSTRAP_KEYS if k != "autobind"], u, ("autobind",))
    name, layer = one(pairs, "name", u), one(pairs, "layer", u)
    wanted = choice(TYPES, pairs["type"][-1], "IPCP type", u) if "type" in pairs else None
    existing = cli.list_ipcps(name=name)
    if not existing and wanted is None:
        raise UsageError(f'no IPCP named "{name}" (give its type to create it)', u)
    kind = existing[0].type if existing else wanted
    assert kind is not None
    if wanted is not None and wanted != kind:
        raise UsageError(f'IPCP "{name}" is a {TYPE_NAMES[kind]} IPCP, not {TYPE_NAMES[wanted]}', u)
    conf = bootstrap_config(pairs, kind, layer)  # check the options before creating
    autobind = "autobind" in pairs
    if autobind and kind not in (IpcpType.UNICAST, IpcpType.BROADCAST):
        print(f"{PROG}: autobind applies to unicast and broadcast IPCPs; ignored",
              file=sys.stderr)
        autobind = False
    if not existing:
        _irm.create_ipcp(name, kind)
    cli.bootstrap_ipcp(name, conf, autobind)


def ipcp_enroll(args: List[str]) -> None:
    u = ENROLL_USAGE
    pairs = parse_pairs(args, ("name", "type", "layer", "dst"), u, ("autobind",))
    name = one(pairs, "name", u)
    dst = one(pairs, "dst", u, one(pairs, "layer", u, ""))
    if not dst:
        raise UsageError('"layer" or "dst" is missing', u)
    kind = choice({"unicast": IpcpType.UNICAST, "broadcast": IpcpType.BROADCAST},
                  one(pairs, "type", u, "unicast"), "IPCP type", u)
    if not cli.list_ipcps(name=name, ipcp_type=kind):
        _irm.create_ipcp(name, kind)
    cli.enroll_ipcp(name, dst, "autobind" in pairs)


def ipcp_connect(args: List[str]) -> None:
    u = CONNECT_USAGE
    pairs = parse_pairs(args, ("name", "dst", "component", "qos"), u)
    presets = {"raw": qos_raw, "best": qos_best_effort, "video": qos_video, "voice": qos_voice,
               "data": qos_data}
    qos: Optional[QoSSpec] = None
    if "qos" in pairs:
        qos = choice(presets, pairs["qos"][-1], "QoS cube", u)
    cli.connect_ipcp(one(pairs, "name", u), one(pairs, "dst", u),
                     one(pairs, "component", u, "*"), qos)


def ipcp_disconnect(args: List[str]) -> None:
    u = DISCONNECT_USAGE
    pairs = parse_pairs(args, ("name", "dst", "component"), u)
    cli.disconnect_ipcp(one(pairs, "name", u), one(pairs, "dst", u),
                        one(pairs, "component", u, "*"))


def ipcp_list(args: List[str]) -> None:
    u = LIST_USAGE
    pairs = parse_pairs(args, ("type", "name", "layer"), u)
    kind = choice(TYPES, pairs["type"][-1], "IPCP type", u) if "type" in pairs else None
    ipcps = cli.list_ipcps(pairs.get("name", [None])[-1], pairs.get("layer", [None])[-1], kind)
    if not ipcps:
        print("No IPCPs in system.")
        return
    rows = [[str(i.pid), i.name, TYPE_NAMES.get(i.type, "unknown"), i.layer or "-"]
            for i in ipcps]
    print(table(["pid", "name", "type", "layer"], rows, right=[0]))


# --- name

NAME_USAGE = """usage: o7s-irm name OPERATION
  OPERATION: create destroy register unregister list help"""
NAME_CREATE_USAGE = f"""usage: o7s-irm name create NAME [lb {'|'.join(POLICIES)}] (default round-robin)
  [sencpath PATH] [scrtpath PATH] [skeypath PATH] [cencpath PATH] [ccrtpath PATH]
  [ckeypath PATH]   (security files; the embedded runtime does not use them)"""
NAME_DESTROY_USAGE = "usage: o7s-irm name destroy NAME"
REG_USAGE = """usage: o7s-irm name register NAME (ipcp IPCP | layer LAYER)...
  creates the name (spillover) if needed; IPCP and LAYER may contain *"""
UNREG_USAGE = """usage: o7s-irm name unregister NAME (ipcp IPCP | layer LAYER)..."""
NAME_LIST_USAGE = "usage: o7s-irm name list [NAME]"


def _name_and_rest(args: List[str], usage: str) -> Tuple[str, List[str]]:
    if not args or not args[0]:
        raise UsageError("the name is missing", usage)
    return args[0], args[1:]


def _sec_path(pairs: Dict[str, List[str]], key: str) -> str:
    if key not in pairs:
        return ""
    path = pairs[key][-1]
    if not os.path.exists(path):
        raise UsageError(f'{key} "{path}" does not exist', NAME_CREATE_USAGE)
    return os.path.realpath(path)


def name_create(args: List[str]) -> None:
    name, rest = _name_and_rest(args, NAME_CREATE_USAGE)
    keys = ("lb", "sencpath", "scrtpath", "skeypath", "cencpath", "ccrtpath", "ckeypath")
    pairs = parse_pairs(rest, keys, NAME_CREATE_USAGE)
    policy = choice(POLICIES, one(pairs, "lb", NAME_CREATE_USAGE, "round-robin"),
                    "load-balance policy", NAME_CREATE_USAGE)
    server = NameSecPaths(_sec_path(pairs, "sencpath"), _sec_path(pairs, "skeypath"),
                          _sec_path(pairs, "scrtpath"))
    client = NameSecPaths(_sec_path(pairs, "cencpath"), _sec_path(pairs, "ckeypath"),
                          _sec_path(pairs, "ccrtpath"))
    _irm.create_name(NameInfo(name, policy, server, client))


def name_destroy(args: List[str]) -> None:
    name, rest = _name_and_rest(args, NAME_DESTROY_USAGE)
    if rest:
        raise UsageError(f'"{rest[0]}" is unknown', NAME_DESTROY_USAGE)
    _irm.destroy_name(name)


def _register(args: List[str], usage: str, call: Callable[..., None]) -> None:
    name, rest = _name_and_rest(args, usage)
    pairs = parse_pairs(rest, ("layer", "ipcp"), usage)
    if not pairs:
        raise UsageError("give at least one ipcp or layer", usage)
    call(name, ipcps=pairs.get("ipcp", []), layers=pairs.get("layer", []))


def name_register(args: List[str]) -> None:
    _register(args, REG_USAGE, cli.reg_name)


def name_unregister(args: List[str]) -> None:
    _register(args, UNREG_USAGE, cli.unreg_name)


def _program_cell(p: _irm.ProgramBinding) -> str:
    cell = p.prog + (" [auto]" if p.auto else "")
    return cell + (" -- " + " ".join(p.argv) if p.argv else "")


def name_list(args: List[str]) -> None:
    if len(args) > 1:
        raise UsageError(f'"{args[1]}" is unknown', NAME_LIST_USAGE)
    layers = {i.pid: i.layer for i in _irm.list_ipcps()}
    try:
        names = [n for n in _irm.list_bindings() if not args or n.name == args[0]]
    except IrmNotSupported:  # the real IRMd tells names and policies only
        infos = [n for n in _irm.list_names() if not args or n.name == args[0]]
        if infos:
            print(table(["name", "load-balance policy"],
                        [[n.name, POLICY_NAMES.get(n.pol_lb, "unknown")] for n in infos]))
        else:
            print("No names in system.")
        return
    if not names:
        print("No names in system.")
        return
    rows = []
    for n in names:
        procs = [str(p.pid) + (f" ({os.path.basename(p.prog)})" if p.prog else "")
                 for p in n.processes]
        rows.append([n.name, POLICY_NAMES.get(n.info.pol_lb, "unknown"),
                     ", ".join(layers.get(pid, str(pid)) for pid in n.ipcps) or "-",
                     ", ".join(procs) or "-",
                     ", ".join(_program_cell(p) for p in n.programs) or "-"])
    print(table(["name", "load-balance policy", "layers", "processes", "programs"], rows))


# --- bind / unbind

BIND_USAGE = """usage: o7s-irm bind OPERATION
  OPERATION: program process ipcp help"""
BIND_PROGRAM_USAGE = """usage: o7s-irm bind program PROGRAM name NAME [auto] [-- ARGUMENTS...]
  auto: start the program when a flow arrives and no bound process accepts it"""
BIND_PROCESS_USAGE = "usage: o7s-irm bind process PID name NAME"
BIND_IPCP_USAGE = "usage: o7s-irm bind ipcp IPCP name NAME"
UNBIND_USAGE = """usage: o7s-irm unbind OPERATION
  OPERATION: program process ipcp help"""
UNBIND_PROGRAM_USAGE = "usage: o7s-irm unbind program PROGRAM [name NAME] (default: every name)"
UNBIND_PROCESS_USAGE = "usage: o7s-irm unbind process PID [name NAME] (default: every name)"
UNBIND_IPCP_USAGE = "usage: o7s-irm unbind ipcp IPCP name NAME"


def bind_program(args: List[str]) -> None:
    u = BIND_PROGRAM_USAGE
    prog: Optional[str] = None
    name: Optional[str] = None
    opts = 0
    argv: List[str] = []
    i = 0
    while i < len(args):
        word = args[i]
        if word == "--":
            argv = args[i + 1:]
            break
        if word == "auto":
            opts |= BIND_AUTO
            i += 1
            continue
        key = pick(word, ("name", "program"))
        if key is None or i + 1 >= len(args):
            raise UsageError(f'"{word}" is unknown' if key is None else f'"{key}" needs a value', u)
        if key == "name":
            name = args[i + 1]
        else:
            prog = args[i + 1]
        i += 2
    if prog is None or name is None:
        raise UsageError("the program and the name are both needed", u)
    cli.bind_program(prog, name, opts, argv)


def _pid(word: str, usage: str) -> int:
    pid = number(word, "process id", usage)
    if pid <= 0:
        raise UsageError(f'"{word}" is not a valid process id', usage)
    return pid


def bind_process(args: List[str]) -> None:
    u = BIND_PROCESS_USAGE
    pairs = parse_pairs(args, ("name", "process"), u)
    cli.bind_process(_pid(one(pairs, "process", u), u), one(pairs, "name", u))


def bind_ipcp(args: List[str]) -> None:
    u = BIND_IPCP_USAGE
    pairs = parse_pairs(args, ("name", "ipcp"), u)
    cli.bind_ipcp(one(pairs, "ipcp", u), one(pairs, "name", u))


def unbind_program(args: List[str]) -> None:
    u = UNBIND_PROGRAM_USAGE
    pairs = parse_pairs(args, ("name", "program"), u)
    cli.unbind_program(one(pairs, "program", u), pairs.get("name", [None])[-1])


def unbind_process(args: List[str]) -> None:
    u = UNBIND_PROCESS_USAGE
    pairs = parse_pairs(args, ("name", "process"), u)
    cli.unbind_process(_pid(one(pairs, "process", u), u), pairs.get("name", [None])[-1])


def unbind_ipcp(args: List[str]) -> None:
    u = UNBIND_IPCP_USAGE
    pairs = parse_pairs(args, ("name", "ipcp"), u)
    cli.unbind_ipcp(one(pairs, "ipcp", u), one(pairs, "name", u))


# --- runtime (the embedded runtime's daemon)

RUNTIME_USAGE = """usage: o7s-irm runtime OPERATION
  OPERATION: status stop help
  the embedded runtime's daemon (o7s-irmd) of this runtime directory
  ($OUROBOROS_RUNTIME_DIR); neither starts one
  status: exit status 0 when it runs, 3 when it does not
  stop:   stops it cleanly (programs it started get SIGTERM); its IPCPs,
          names and bindings stay saved for the next daemon"""
RUNTIME_STATUS_USAGE = "usage: o7s-irm runtime status"
RUNTIME_STOP_USAGE = "usage: o7s-irm runtime stop [timeout SECONDS] (default 10)"
NOT_RUNNING = 3


def _duration(seconds: float) -> str:
    s = int(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60} min"


def _count(n: int, what: str) -> str:
    plural = what + ("es" if what.endswith("s") else "s")
    return f"{n} {what if n == 1 else plural}"


def runtime_status(args: List[str]) -> int:
    if args:
        raise UsageError(f'"{args[0]}" is unknown', RUNTIME_STATUS_USAGE)
    st = _runtime.status()
    print(f"runtime directory: {st.runtime_dir}")
    if not st.running:
        print("daemon:            not running (the first program that uses the embedded "
              "runtime starts it)")
        return NOT_RUNNING
    if st.problem:
        print(f"daemon:            running, pid {st.pid or 'unknown'}; {st.problem}")
        return 0
    print(f"daemon:            running, pid {st.pid}, pyOuroboros {st.version}, protocol "
          f"{st.protocol}, up {_duration(st.uptime)}")
    print(f"serves:            {_count(st.processes, 'process')}, {_count(st.ipcps, 'IPCP')}, "
          f"{_count(st.names, 'name')}, {_count(st.flows, 'flow')}")
    print(f"bindings:          {_count(st.bound_processes, 'bound process')}, "
          f"{_count(st.bound_programs, 'bound program')}")
    print(f"activity:          {_count(st.pending, 'pending flow request')}, "
          f"{_count(st.members, 'broadcast member')}, "
          f"{_count(st.children, 'started program')}")
    if st.idle_exit > 0:
        print(f"idle exit:         after {_duration(st.idle_exit)} without use (state kept)")
    else:
        print("idle exit:         never (stop it with: o7s-irm runtime stop)")
    return 0


def runtime_stop(args: List[str]) -> None:
    u = RUNTIME_STOP_USAGE
    pairs = parse_pairs(args, ("timeout",), u)
    timeout = 10.0
    if "timeout" in pairs:
        try:
            timeout = float(pairs["timeout"][-1])
        except ValueError:
            raise UsageError(f'timeout "{pairs["timeout"][-1]}" is not a number', u) from None
    before = _runtime.status()
    if _runtime.stop(timeout):
        print(f"stopped the runtime daemon (pid {before.pid}) of {before.runtime_dir}")
    else:
        print(f"no runtime daemon runs in {before.runtime_dir}")


# --- dispatch

USAGE = """usage: o7s-irm OPERATION ...
  OPERATION: ipcp bind unbind name runtime help
The real irm tool's syntax, for the embedded runtime of pyOuroboros (or the
real Ouroboros when it is the active backend). Words may be abbreviated.
o7s-irm --version prints pyOuroboros' version."""

Handler = Callable[[List[str]], Optional[int]]
# Each level: (keyword, handler or sub-table), in the tool's matching order;
# and whether the handler gets the keyword itself (bind/unbind parse
# "program PATH" as a pair, like the tool).
Table = Tuple[str, Sequence[Tuple[str, object]], bool]

IPCP: Table = (IPCP_USAGE, (
    ("create", ipcp_create), ("destroy", ipcp_destroy), ("bootstrap", ipcp_bootstrap),
    ("enroll", ipcp_enroll), ("connect", ipcp_connect), ("disconnect", ipcp_disconnect),
    ("list", ipcp_list)), False)
NAME: Table = (NAME_USAGE, (
    ("create", name_create), ("destroy", name_destroy), ("register", name_register),
    ("unregister", name_unregister), ("list", name_list)), False)
BIND: Table = (BIND_USAGE, (
    ("program", bind_program), ("process", bind_process), ("ipcp", bind_ipcp)), True)
UNBIND: Table = (UNBIND_USAGE, (
    ("program", unbind_program), ("process", unbind_process), ("ipcp", unbind_ipcp)), True)
RUNTIME: Table = (RUNTIME_USAGE, (("status", runtime_status), ("stop", runtime_stop)), False)
TOP: Table = (USAGE, (("ipcp", IPCP), ("bind", BIND), ("unbind", UNBIND), ("name", NAME),
                      ("runtime", RUNTIME)), False)


def dispatch(level: Table, args: List[str]) -> Optional[int]:
    """Runs the command; the exit status when it is not 0 (or None)."""
    usage, entries, keep_word = level
    if not args:
        raise UsageError("an operation is missing", usage)
    if args[0] in ("help", "-h", "--help"):
        print(usage)
        return None
    keyword = pick(args[0], [k for k, _ in entries] + ["help"])
    if keyword is None:
        raise UsageError(f'"{args[0]}" is unknown', usage)
    if keyword == "help":
        print(usage)
        return None
    target = dict(entries)[keyword]
    if isinstance(target, tuple):
        return dispatch(target, args[1:])
    handler: Handler = target  # type: ignore[assignment]
    return handler(args if keep_word else args[1:])


def run(argv: Sequence[str]) -> int:
    """Runs one command; returns the exit status."""
    if list(argv) == ["--version"]:
        print(f"{PROG} (pyOuroboros {__version__})")
        return 0
    try:
        status = dispatch(TOP, list(argv))
    except UsageError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        print(e.usage, file=sys.stderr)
        return 1
    except OuroborosError as e:
        print(f"{PROG}: {e.strerror or e}", file=sys.stderr)
        return 1
    except (ValueError, TypeError) as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 1
    return status or 0


def main() -> NoReturn:
    """Entry point of the ``o7s-irm`` console script."""
    try:
        status = run(sys.argv[1:])
        sys.stdout.flush()
    except KeyboardInterrupt:
        status = 130
    except BrokenPipeError:
        status = 1
    sys.exit(status)


if __name__ == "__main__":
    main()
