"""IPCPs on the embedded runtime: create, bootstrap, destroy, list; the
configuration classes of every IPCP type; typed errors."""

from __future__ import annotations

import errno

import pytest

from ouroboros import irm
from ouroboros.dev import flow_alloc
from ouroboros.errors import (ENAME, AlreadyExists, FlowException, IpcpBootstrapError, IpcpConnectError,
                              IpcpCreateError, IpcpEnrollError, IpcpStateError, IpcpTypeError,
                              IrmError, IrmNotSupported, NoSuchIpcp)
from ouroboros.irm import IpcpConfig, IpcpType
from ouroboros.qos import QoSSpec

# These test the embedded runtime's IPCP model.
pytestmark = pytest.mark.embedded_only

LIST_FROM_ANOTHER_PROCESS = """
from ouroboros import irm
for i in irm.list_ipcps():
    print(i.pid, i.type.name, i.name, i.layer or "-", flush=True)
"""

MODELLED = [IpcpType.LOCAL, IpcpType.BROADCAST]
NOT_MODELLED = [IpcpType.UNICAST, IpcpType.ETH_LLC, IpcpType.ETH_DIX, IpcpType.UDP4,
                IpcpType.UDP6]


def test_a_fresh_runtime_has_one_bootstrapped_local_ipcp() -> None:
    [default] = irm.list_ipcps()
    assert (default.name, default.type, default.layer) == ("local", IpcpType.LOCAL, "local")
    assert default.pid > 4194304  # never a real process id


@pytest.mark.parametrize("kind", MODELLED)
def test_create_bootstrap_list_destroy(kind: IpcpType, spawn) -> None:
    pid = irm.create_ipcp("mine", kind)
    assert pid > 4194304
    created = [i for i in irm.list_ipcps() if i.pid == pid]
    assert created == [irm.IpcpInfo(pid, kind, "mine", "")]
    irm.bootstrap_ipcp(pid, IpcpConfig(kind, "my-layer"))
    assert irm.find_ipcp("my-layer").pid == pid
    # Another process sees the same IRM.
    p = spawn(LIST_FROM_ANOTHER_PROCESS)
    status, out, err = p.finish()
    assert status == 0, err
    assert f"{pid} {kind.name} mine my-layer" in out.splitlines()
    irm.destroy_ipcp(pid)
    assert pid not in [i.pid for i in irm.list_ipcps()]


@pytest.mark.parametrize("kind", NOT_MODELLED)
def test_types_the_embedded_runtime_does_not_model(kind: IpcpType) -> None:
    with pytest.raises(IrmNotSupported, match="not supported by the embedded runtime") as e:
        irm.create_ipcp("other", kind)
    assert isinstance(e.value, IpcpCreateError) and e.value.errno == errno.ENOTSUP
    assert [i.name for i in irm.list_ipcps()] == ["local"]


@pytest.mark.parametrize("call, op", [
    (lambda pid: irm.enroll_ipcp(pid, "somewhere"), IpcpEnrollError),
    (lambda pid: irm.connect_ipcp(pid, irm.DT_COMP, "peer"), IpcpConnectError),
    (lambda pid: irm.connect_ipcp(pid, irm.MGMT_COMP, "peer", QoSSpec()), IpcpConnectError),
    (lambda pid: irm.disconnect_ipcp(pid, irm.DT_COMP, "peer"), IpcpConnectError),
])
def test_enrolment_and_connections_are_not_supported(call, op) -> None:
    pid = irm.find_ipcp().pid
    with pytest.raises(IrmNotSupported, match="embedded runtime") as e:
        call(pid)
    assert isinstance(e.value, op)


def test_duplicate_ipcp_names_are_refused() -> None:
    irm.create_ipcp("twin", IpcpType.LOCAL)
    with pytest.raises(AlreadyExists, match="'twin' exists already") as e:
        irm.create_ipcp("twin", IpcpType.BROADCAST)
    assert isinstance(e.value, IpcpCreateError) and isinstance(e.value, FileExistsError)
    assert e.value.errno == errno.EEXIST


def test_bootstrap_errors_say_what_is_wrong() -> None:
    local = irm.create_ipcp("l2", IpcpType.LOCAL)
    with pytest.raises(IpcpTypeError, match="is a local IPCP") as e:
        irm.bootstrap_ipcp(local, IpcpConfig(IpcpType.BROADCAST, "x"))
    assert isinstance(e.value, IpcpBootstrapError)
    with pytest.raises(NoSuchIpcp, match="no IPCP with pid 12"):
        irm.bootstrap_ipcp(12, IpcpConfig(IpcpType.LOCAL, "x"))
    with pytest.raises(AlreadyExists, match="layer 'local' exists already"):
        irm.bootstrap_ipcp(local, IpcpConfig(IpcpType.LOCAL, "local"))
    irm.bootstrap_ipcp(local, IpcpConfig(IpcpType.LOCAL, "second"))
    irm.bootstrap_ipcp(local, IpcpConfig(IpcpType.LOCAL, "second"))  # same again: fine
    with pytest.raises(IpcpStateError, match="bootstrapped already"):
        irm.bootstrap_ipcp(local, IpcpConfig(IpcpType.LOCAL, "third"))
    with pytest.raises(ValueError, match="layer_name"):
        irm.bootstrap_ipcp(local, IpcpConfig(IpcpType.LOCAL))
    with pytest.raises(TypeError):
        irm.bootstrap_ipcp(local, "second")  # type: ignore[arg-type]


def test_destroying_an_ipcp_unregisters_its_names() -> None:
    pid = irm.create_ipcp("doomed", IpcpType.LOCAL)
    irm.bootstrap_ipcp(pid, IpcpConfig(IpcpType.LOCAL, "doomed-layer"))
    irm.serve("svc", layer="doomed-layer")
    [svc] = [n for n in irm.list_bindings() if n.name == "svc"]
    assert svc.ipcps == [pid]
    irm.destroy_ipcp(pid)
    [svc] = [n for n in irm.list_bindings() if n.name == "svc"]
    assert svc.ipcps == []
    with pytest.raises(FlowException, match="not registered in any layer") as e:
        flow_alloc("svc", timeo=1)
    assert e.value.errno == ENAME
    with pytest.raises(NoSuchIpcp):
        irm.destroy_ipcp(pid)


def test_an_ipcp_must_be_bootstrapped_before_names_register_with_it() -> None:
    pid = irm.create_ipcp("fresh", IpcpType.LOCAL)
    irm.create_name(irm.NameInfo("early"))
    with pytest.raises(IpcpStateError, match="not bootstrapped"):
        irm.reg_name("early", pid)


# --- configuration classes: upstream names, C defaults, validation


def test_defaults_are_those_of_ouroboros_ipcp_h() -> None:
    conf = IpcpConfig(IpcpType.UNICAST, "u")
    assert conf.dir_hash_algo == irm.DirectoryHashAlgo.SHA3_256
    uc = irm.UnicastConfig()
    assert (uc.dt.addr_size, uc.dt.eid_size, uc.dt.max_ttl) == (4, 8, 60)
    assert uc.dt.routing.pol == irm.RoutingPolicy.LINK_STATE
    ls = uc.dt.routing.ls
    assert (ls.pol, ls.t_recalc, ls.t_update, ls.t_timeo) == (irm.LinkStatePolicy.SIMPLE, 4, 15, 60)
    dht = uc.dir.dht
    assert uc.dir.pol == irm.DirectoryPolicy.DHT
    assert (dht.alpha, dht.k, dht.t_expire, dht.t_refresh, dht.t_replicate) == (3, 8, 86400, 900, 900)
    assert uc.addr_auth == irm.AddressAuthPolicy.FLAT_RANDOM
    assert uc.cong_avoid == irm.CongestionAvoidPolicy.MB_ECN
    assert (irm.EthConfig().dev, irm.EthConfig().ethertype) == ("", 0xA000)
    assert (irm.Udp4Config().ip_addr, irm.Udp4Config().port) == ("0.0.0.0", 3435)
    assert (irm.Udp6Config().dns_addr, irm.Udp6Config().port) == ("::", 3435)
    assert irm.BIND_AUTO == 1
    assert [int(t) for t in IpcpType] == list(range(7))


def test_a_part_left_none_gets_the_same_defaults_in_cpp() -> None:
    # A part that is None crosses as the C++ model's defaults.
    from ouroboros._core import irm as core
    cpp = core.defaults()
    assert (cpp.unicast, cpp.eth, cpp.udp4, cpp.udp6) == (
        irm.UnicastConfig(), irm.EthConfig(), irm.Udp4Config(), irm.Udp6Config())
    assert cpp.dir_hash_algo == IpcpConfig(IpcpType.LOCAL).dir_hash_algo


def _leaves(conf: object, prefix: str = "") -> dict:
    """Every field of a configuration, by dotted path."""
    out = {}
    for name in getattr(conf, "_fields"):
        value = getattr(conf, name)
        if hasattr(value, "_fields"):
            out.update(_leaves(value, f"{prefix}{name}."))
        else:
            out[prefix + name] = value
    return out


def test_the_daemon_gets_every_field_and_names_those_it_ignores(runtime) -> None:
    ls = irm.LinkStateConfig(irm.LinkStatePolicy.ECMP, 5, 16, 61)
    uc = irm.UnicastConfig(irm.DtConfig(2, 4, 9, irm.RoutingConfig(ls=ls)),
                           irm.DirConfig(dht=irm.DhtConfig(4, 9, 1000, 901, 902)),
                           cong_avoid=irm.CongestionAvoidPolicy.NONE)
    conf = IpcpConfig(IpcpType.BROADCAST, "full", irm.DirectoryHashAlgo.SHA3_512, uc,
                      irm.EthConfig("lo", 0xA001), irm.Udp4Config("192.0.2.1", "192.0.2.2", 4000),
                      irm.Udp6Config("2001:db8::1", "2001:db8::2", 4001))
    pid = irm.create_ipcp("full", IpcpType.BROADCAST)
    irm.bootstrap_ipcp(pid, conf)
    plain = IpcpConfig(IpcpType.BROADCAST, "full", unicast=irm.UnicastConfig(),
                       eth=irm.EthConfig(), udp4=irm.Udp4Config(), udp6=irm.Udp6Config())
    set_fields = {k for k, v in _leaves(conf).items() if _leaves(plain)[k] != v}
    [line] = [ln for ln in runtime.log().splitlines() if f"IPCP {pid} in layer" in ln]
    assert set(line.split("ignores ", 1)[1].split(", ")) == set_fields
    assert len(set_fields) == 22  # all but the type, the layer and one-member policies


@pytest.mark.parametrize("build, error", [
    (lambda: irm.DtConfig(addr_size=0), ValueError),
    (lambda: irm.DtConfig(max_ttl=256), ValueError),
    (lambda: irm.DtConfig(eid_size="8"), TypeError),
    (lambda: irm.DhtConfig(alpha=11), ValueError),
    (lambda: irm.DhtConfig(t_expire=9), ValueError),
    (lambda: irm.LinkStateConfig(t_timeo=0), ValueError),
    (lambda: irm.LinkStateConfig(pol=7), ValueError),
    (lambda: irm.EthConfig(ethertype=0x0500), ValueError),
    (lambda: irm.EthConfig(dev="x" * 256), ValueError),
    (lambda: irm.Udp4Config(ip_addr="10.0.0.256"), ValueError),
    (lambda: irm.Udp4Config(ip_addr="::1"), ValueError),
    (lambda: irm.Udp6Config(dns_addr="10.0.0.1"), ValueError),
    (lambda: irm.Udp6Config(port=0), ValueError),
    (lambda: irm.UnicastConfig(dt=irm.DirConfig()), TypeError),
    (lambda: IpcpConfig(9, "x"), ValueError),
    (lambda: IpcpConfig(IpcpType.LOCAL, "a\0b"), ValueError),
    (lambda: IpcpConfig(IpcpType.LOCAL, "x", dir_hash_algo=True), TypeError),
    (lambda: irm.NameInfo("n", pol_lb=5), ValueError),
    (lambda: irm.NameInfo("n", server_sec="path"), TypeError),
    (lambda: irm.NameSecPaths(enc="x" * 600), ValueError),
])
def test_configurations_are_validated_when_built(build, error) -> None:
    with pytest.raises(error):
        build()


def test_configurations_are_validated_when_changed_and_compare_by_value() -> None:
    conf = IpcpConfig(IpcpType.UDP4, "u4", udp4=irm.Udp4Config("192.0.2.1", port=4000))
    with pytest.raises(ValueError, match="Udp4Config.port"):
        conf.udp4.port = 70000  # type: ignore[union-attr]
    assert conf.udp4.port == 4000  # type: ignore[union-attr]
    assert conf == IpcpConfig(IpcpType.UDP4, "u4", udp4=irm.Udp4Config("192.0.2.1", port=4000))
    assert conf != IpcpConfig(IpcpType.UDP4, "u4")
    assert "Udp4Config(ip_addr='192.0.2.1'" in repr(conf)
    conf.layer_name = "renamed"
    assert conf.udp4.port == 4000  # type: ignore[union-attr]


def test_a_configuration_for_a_type_not_modelled_validates_then_fails_clearly() -> None:
    conf = IpcpConfig(IpcpType.ETH_DIX, "eth", eth=irm.EthConfig("lo", 0xA001))
    with pytest.raises(IpcpTypeError):
        irm.bootstrap_ipcp(irm.find_ipcp().pid, conf)


def test_irm_errors_are_irm_errors_with_errno() -> None:
    with pytest.raises(IrmError) as e:
        irm.destroy_ipcp(1)
    assert e.value.errno == 1003 and "no IPCP with pid 1" in str(e.value)
