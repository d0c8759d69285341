"""The bad-input table (issue 13, defect 6 and the fault suite): every public
Python call against bad values (types, sizes, negative, huge, NaN, NUL
bytes, over-long and unencodable text, closed objects, concurrent
deallocation). Each gets the TypeError, ValueError, OverflowError or
OuroborosError the docs promise (docs/howto/errors.md), with a message; never pybind11's
"Unable to cast", a bare RuntimeError, a crash or a hang. The flows used
keep working afterwards."""

from __future__ import annotations

import math
import os
import threading
from typing import Any, Callable, List, NamedTuple, Optional, Tuple, Type, Union

import pytest

from o7s_system import ECHO_SERVER as SYSTEM_ECHO_SERVER
from o7s_testing import InThread, wait_blocked
from ouroboros import _core, irm, use_backend
from ouroboros.dev import Flow, flow_accept, flow_alloc, flow_join
from ouroboros.errors import (FlowEventError, FlowNotAllocatedException, InvalidArgument,
                              NotSupported, OuroborosError)
from ouroboros.event import FEventQueue, FlowSet
from ouroboros.ipcp_config import IpcpType
from ouroboros.qos import QoSSpec

Expected = Union[Type[BaseException], Tuple[Type[BaseException], ...]]


class Ctx(NamedTuple):
    a: Flow  # allocated end of a flow pair
    b: Flow  # accepted end
    closed: Flow  # never allocated
    destroyed: FlowSet


class Case(NamedTuple):
    kind: str
    label: str
    call: Callable[[Ctx], Any]
    expected: Expected
    on_system: Optional[Expected] = None  # where the system backend differs


LONG = "x" * 5000  # beyond the runtime protocol's 4096-byte strings
NAME_300 = "y" * 300  # beyond the 255 bytes of a name
PID = os.getpid()


def _as_tuple(expected: Expected) -> Tuple[Type[BaseException], ...]:
    return expected if isinstance(expected, tuple) else (expected,)


def _cases() -> List[Case]:
    c: List[Case] = []

    def add(kind: str, label: str, call: Callable[[Ctx], Any], expected: Expected) -> None:
        on_system: Optional[Expected] = None
        if "FlowRequest" in label:
            # The system backend has no flow requests: NotSupported once
            # the arguments are checked.
            on_system = (_as_tuple(expected) + (NotSupported,))
        elif kind == "text" and label.startswith("irm."):
            # The real IRMd answers for names it cannot hold with ENAME or
            # EIPCP (OuroborosErrors) where the C++ API does not check them.
            on_system = (ValueError, OuroborosError)
        c.append(Case(kind, label, call, expected, on_system))

    # -- not the type the call takes
    for label, call in [
        ("read('x')", lambda x: x.b.read("x")),
        ("read(1.5)", lambda x: x.b.read(1.5)),
        ("read(b'1')", lambda x: x.b.read(b"1")),
        ("read_into(1)", lambda x: x.b.read_into(1)),
        ("read_into('abc')", lambda x: x.b.read_into("abc")),
        ("write(1)", lambda x: x.a.write(1)),
        ("write('text')", lambda x: x.a.write("text")),
        ("write(b'abc', 'x')", lambda x: x.a.write(b"abc", "x")),
        ("write(b'abc', 1.5)", lambda x: x.a.write(b"abc", 1.5)),
        ("read_many('x')", lambda x: x.b.read_many("x")),
        ("read_many(1.5)", lambda x: x.b.read_many(1.5)),
        ("write_many(1)", lambda x: x.a.write_many(1)),
        ("write_many([1])", lambda x: x.a.write_many([1])),
        ("write_many(['x'])", lambda x: x.a.write_many(["x"])),
        ("readline('x')", lambda x: x.b.readline("x")),
        ("readline(1.5)", lambda x: x.b.readline(1.5)),
        ("writeline(b'x')", lambda x: x.a.writeline(b"x")),
        ("writeline('x', 'y')", lambda x: x.a.writeline("x", "y")),
        ("set_rcv_timeout('x')", lambda x: x.a.set_rcv_timeout("x")),
        ("set_snd_timeout(b'1')", lambda x: x.a.set_snd_timeout(b"1")),
        ("set_flags('x')", lambda x: x.a.set_flags("x")),
        ("set_flags(1.5)", lambda x: x.a.set_flags(1.5)),
        ("set_frct_flags('x')", lambda x: x.a.set_frct_flags("x")),
        ("set_busy_poll('x')", lambda x: x.a.set_busy_poll("x")),
        ("Flow().alloc(1)", lambda x: Flow().alloc(1)),
        ("flow_alloc(None)", lambda x: flow_alloc(None)),
        ("flow_alloc(b'name')", lambda x: flow_alloc(b"name")),
        ("flow_alloc(qos=1)", lambda x: flow_alloc("pair", qos=1, timeo=1)),
        ("flow_alloc(timeo='1')", lambda x: flow_alloc("pair", timeo="1")),
        ("flow_join(1)", lambda x: flow_join(1)),
        ("flow_accept(timeo=[])", lambda x: flow_accept(timeo=[])),
        ("FlowSet([1])", lambda x: FlowSet([1])),
        ("FlowSet().add('f')", lambda x: FlowSet().add("f")),
        ("FlowSet().remove(1)", lambda x: FlowSet().remove(1)),
        ("FlowSet().wait(1)", lambda x: FlowSet().wait(1)),
        ("FlowSet().wait(fq, 'x')", lambda x: FlowSet().wait(FEventQueue(), "x")),
        ("FlowRequest.alloc(1)", lambda x: _core.FlowRequest.alloc(1)),
        ("FlowRequest.accept(timeo='x')", lambda x: _core.FlowRequest.accept(timeo="x")),
        ("FlowRequest.poll(1)", lambda x: _core.FlowRequest.accept(timeo=5).poll(1)),
        ("QoSSpec(delay='x')", lambda x: QoSSpec(delay="x")),
        ("QoSSpec(timeout=nan)", lambda x: QoSSpec(timeout=math.nan)),
        ("irm.create_ipcp(1, LOCAL)", lambda x: irm.create_ipcp(1, IpcpType.LOCAL)),
        ("irm.destroy_ipcp('1')", lambda x: irm.destroy_ipcp("1")),
        ("irm.destroy_ipcp(1.5)", lambda x: irm.destroy_ipcp(1.5)),
        ("irm.bootstrap_ipcp(1, 'conf')", lambda x: irm.bootstrap_ipcp(1, "conf")),
        ("irm.enroll_ipcp('x', 'y')", lambda x: irm.enroll_ipcp("x", "y")),
        ("irm.connect_ipcp(1, 2, 'x')", lambda x: irm.connect_ipcp(1, 2, "x")),
        ("irm.bind_program(1, 'n')", lambda x: irm.bind_program(1, "n")),
        ("irm.bind_program(prog, 1)", lambda x: irm.bind_program("/bin/true", 1)),
        ("irm.bind_program(opts='x')", lambda x: irm.bind_program("/bin/true", "n", opts="x")),
        ("irm.bind_program(opts=1.5)", lambda x: irm.bind_program("/bin/true", "n", opts=1.5)),
        ("irm.bind_program(argv=1)", lambda x: irm.bind_program("/bin/true", "n", argv=1)),
        ("irm.bind_program(argv='abc')", lambda x: irm.bind_program("/bin/true", "n", argv="abc")),
        ("irm.unbind_program(1)", lambda x: irm.unbind_program(1)),
        ("irm.bind_process('1', 'n')", lambda x: irm.bind_process("1", "n")),
        ("irm.bind_process(pid, 2)", lambda x: irm.bind_process(PID, 2)),
        ("irm.unbind_process(1.5)", lambda x: irm.unbind_process(1.5)),
        ("irm.create_name('n')", lambda x: irm.create_name("n")),
        ("irm.destroy_name(1)", lambda x: irm.destroy_name(1)),
        ("irm.reg_name(1, pid)", lambda x: irm.reg_name(1, PID)),
        ("irm.reg_name('n', 'p')", lambda x: irm.reg_name("n", "p")),
        ("irm.unreg_name('n', None)", lambda x: irm.unreg_name("n", None)),
        ("irm.serve(None)", lambda x: irm.serve(None)),
        ("use_backend(1)", lambda x: use_backend(1)),
    ]:
        add("type", label, call, TypeError)

    # -- integers out of the range the call takes
    for label, call in [
        ("read(-1)", lambda x: x.b.read(-1)),
        ("read_many(0)", lambda x: x.b.read_many(0)),
        ("read_many(-1)", lambda x: x.b.read_many(-1)),
        ("read_many(1025)", lambda x: x.b.read_many(1025)),
        ("readline(0)", lambda x: x.b.readline(0)),
        ("readline(-1)", lambda x: x.b.readline(-1)),
        ("writeline('x', -1)", lambda x: x.a.writeline("x", -1)),
        ("write(b'abc', -1)", lambda x: x.a.write(b"abc", -1)),
        ("write(b'abc', 4)", lambda x: x.a.write(b"abc", 4)),
        ("set_busy_poll(-1)", lambda x: x.a.set_busy_poll(-1)),
        ("set_busy_poll(1e300)", lambda x: x.a.set_busy_poll(1e300)),
        ("QoSSpec(loss=-1)", lambda x: QoSSpec(loss=-1)),
        ("QoSSpec(ber=2**70)", lambda x: QoSSpec(ber=2**70)),
        ("irm.create_ipcp('x', 99)", lambda x: irm.create_ipcp("x", 99)),
    ]:
        add("range", label, call, ValueError)
    # The real IRMd says no such process (ESRCH, ProcessLookupError).
    c.append(Case("range", "irm.bind_process(-5, 'n')", lambda x: irm.bind_process(-5, "n"),
                  ValueError, OuroborosError))

    # -- integers beyond the C++ type
    for label, call in [
        ("read(2**63)", lambda x: x.b.read(2**63)),
        ("read(2**64)", lambda x: x.b.read(2**64)),
        ("read(-2**70)", lambda x: x.b.read(-2**70)),
        ("read_many(2**63)", lambda x: x.b.read_many(2**63)),
        ("readline(2**64 * -1)", lambda x: x.b.readline(-2**64)),
        ("write(b'abc', 10**20)", lambda x: x.a.write(b"abc", 10**20)),
        ("set_flags(2**32)", lambda x: x.a.set_flags(2**32)),
        ("set_flags(-1)", lambda x: x.a.set_flags(-1)),
        ("set_frct_flags(2**40)", lambda x: x.a.set_frct_flags(2**40)),
        ("set_rcv_timeout(10**400)", lambda x: x.a.set_rcv_timeout(10**400)),
        ("flow_alloc(timeo=10**400)", lambda x: flow_alloc("pair", timeo=10**400)),
        ("irm.bind_process(2**31, 'n')", lambda x: irm.bind_process(2**31, "n")),
        ("irm.destroy_ipcp(2**63)", lambda x: irm.destroy_ipcp(2**63)),
        ("irm.bind_program(opts=2**16)", lambda x: irm.bind_program("/bin/true", "n", opts=2**16)),
        ("irm.reg_name('n', -2**40)", lambda x: irm.reg_name("n", -2**40)),
    ]:
        add("overflow", label, call, (OverflowError, ValueError) if "readline" in label
            else OverflowError)

    # -- NaN, infinities and negative seconds
    for label, call in [
        ("set_rcv_timeout(nan)", lambda x: x.a.set_rcv_timeout(math.nan)),
        ("set_snd_timeout(-inf)", lambda x: x.a.set_snd_timeout(-math.inf)),
        ("set_rcv_timeout(-1)", lambda x: x.a.set_rcv_timeout(-1)),
        ("set_busy_poll(nan)", lambda x: x.a.set_busy_poll(math.nan)),
        ("flow_alloc(timeo=nan)", lambda x: flow_alloc("pair", timeo=math.nan)),
        ("flow_alloc(timeo=-0.5)", lambda x: flow_alloc("pair", timeo=-0.5)),
        ("flow_accept(timeo=nan)", lambda x: flow_accept(timeo=math.nan)),
        ("flow_accept(timeo=-1)", lambda x: flow_accept(timeo=-1)),
        ("FlowSet().wait(fq, nan)", lambda x: FlowSet().wait(FEventQueue(), math.nan)),
        ("FlowSet().wait(fq, -1)", lambda x: FlowSet().wait(FEventQueue(), -1)),
        ("FlowRequest.alloc(timeo=nan)",
         lambda x: _core.FlowRequest.alloc("pair", timeo=math.nan)),
    ]:
        add("seconds", label, call, ValueError)

    # -- NUL bytes in text (each ends up a C string)
    for label, call in [
        ("flow_alloc('a\\0b')", lambda x: flow_alloc("pa\0ir", timeo=1)),
        ("flow_join('a\\0')", lambda x: flow_join("a\0", timeo=1)),
        ("Flow().alloc('\\0')", lambda x: Flow().alloc("\0", timeo=1)),
        ("irm.bind_process(pid, 'a\\0')", lambda x: irm.bind_process(PID, "a\0")),
        ("irm.serve('a\\0')", lambda x: irm.serve("a\0")),
        ("irm.bind_program('/bin/tr\\0ue')", lambda x: irm.bind_program("/bin/tr\0ue", "n")),
        ("irm.bind_program(argv=['a\\0'])",
         lambda x: irm.bind_program("/bin/true", "n", argv=["a\0"])),
        ("irm.destroy_name('\\0')", lambda x: irm.destroy_name("\0")),
        ("irm.create_ipcp('a\\0', LOCAL)", lambda x: irm.create_ipcp("a\0", IpcpType.LOCAL)),
        ("irm.enroll_ipcp(1, 'a\\0')", lambda x: irm.enroll_ipcp(1, "a\0")),
        ("irm.reg_name('a\\0', pid)", lambda x: irm.reg_name("a\0", PID)),
        ("use_backend('embedded\\0')", lambda x: use_backend("embedded\0")),
    ]:
        add("NUL", label, call, ValueError)

    # -- text too long for a name or for the protocol, or not encodable
    for label, call in [
        ("flow_alloc(5000 bytes)", lambda x: flow_alloc(LONG, timeo=1)),
        ("flow_alloc(300 bytes)", lambda x: flow_alloc(NAME_300, timeo=1)),
        ("flow_join(5000 bytes)", lambda x: flow_join(LONG, timeo=1)),
        ("FlowRequest.alloc(5000 bytes)", lambda x: _core.FlowRequest.alloc(LONG)),
        ("irm.bind_process(pid, 5000 bytes)", lambda x: irm.bind_process(PID, LONG)),
        ("irm.bind_process(pid, 300 bytes)", lambda x: irm.bind_process(PID, NAME_300)),
        ("irm.reg_name(5000 bytes, pid)", lambda x: irm.reg_name(LONG, PID)),
        ("irm.destroy_name(5000 bytes)", lambda x: irm.destroy_name(LONG)),
        ("irm.serve(5000 bytes)", lambda x: irm.serve(LONG)),
        ("irm.create_ipcp(5000 bytes)", lambda x: irm.create_ipcp(LONG, IpcpType.LOCAL)),
        ("irm.enroll_ipcp(1, 5000 bytes)", lambda x: irm.enroll_ipcp(1, LONG)),
        ("irm.connect_ipcp(1, dt, 5000 bytes)", lambda x: irm.connect_ipcp(1, irm.DT_COMP, LONG)),
        ("irm.unreg_name(5000 bytes, pid)", lambda x: irm.unreg_name(LONG, PID)),
        ("irm.unbind_process(pid, 5000 bytes)", lambda x: irm.unbind_process(PID, LONG)),
        ("irm.bind_program(argv=10 x 5000 bytes)",
         lambda x: irm.bind_program("/bin/true", "n", argv=[LONG] * 10)),
        ("flow_alloc(lone surrogate)", lambda x: flow_alloc("\ud800", timeo=1)),
        ("irm.serve(lone surrogate)", lambda x: irm.serve("\udcff")),
        ("writeline(lone surrogate)", lambda x: x.a.writeline("\ud800")),
    ]:
        add("text", label, call, ValueError)

    # -- closed objects
    for name, args in [("read", ()), ("read", (3,)), ("read_into", (bytearray(3),)),
                       ("write", (b"x",)), ("readline", ()), ("writeline", ("x",)),
                       ("read_many", ()), ("write_many", ([b"x"],)), ("get_qos", ()),
                       ("get_flags", ()), ("set_flags", (0,)), ("fileno", ()),
                       ("get_rx_queue_len", ()), ("get_tx_queue_len", ()),
                       ("get_frct_flags", ()), ("set_rcv_timeout", (1,)),
                       ("get_rcv_timeout", ()), ("set_busy_poll", (0.1,)), ("dealloc", ())]:
        add("closed", f"unallocated Flow().{name}{args!r}",
            lambda x, name=name, args=args: getattr(x.closed, name)(*args),
            FlowNotAllocatedException)
    add("closed", "unallocated Flow().max_sdu", lambda x: x.closed.max_sdu,
        FlowNotAllocatedException)
    for label, call in [
        ("destroyed FlowSet.add", lambda x: x.destroyed.add(x.a)),
        ("destroyed FlowSet.wait", lambda x: x.destroyed.wait(FEventQueue(), 0)),
        ("destroyed FlowSet.fileno", lambda x: x.destroyed.fileno()),
    ]:
        add("closed", label, call, FlowEventError)

    def finished_request(x: Ctx) -> Any:
        r = _core.FlowRequest.accept(timeo=5)
        r.cancel()
        return r.poll(Flow())

    add("closed", "cancelled FlowRequest.poll", finished_request, OuroborosError)
    add("closed", "FlowRequest.poll(allocated flow)",
        lambda x: _core.FlowRequest.accept(timeo=5).poll(x.a), OuroborosError)
    add("closed", "allocated Flow.alloc again", lambda x: x.a.alloc("pair", timeo=1),
        OuroborosError)
    return c


CASES = _cases()
KINDS = sorted({case.kind for case in CASES})


@pytest.fixture
def ctx(backend: str) -> Any:
    if backend == "system":
        pytest.skip("on the system backend the table runs in one flow: "
                    "test_the_table_on_the_system_backend")
    irm.serve("pair")
    accepted: List[Flow] = []
    t = InThread(lambda: accepted.append(flow_accept(timeo=10)))
    a = flow_alloc("pair", timeo=10)
    assert t.result("no flow accepted") is None
    b = accepted[0]
    for f in (a, b):
        f.set_rcv_timeout(10)
        f.set_snd_timeout(10)
    destroyed = FlowSet()
    destroyed.destroy()
    yield Ctx(a, b, Flow(), destroyed)
    for f in (a, b):
        if not f.closed:
            f.dealloc()


def check(case: Case, x: Ctx) -> BaseException:
    with pytest.raises(case.expected) as caught:
        case.call(x)
    e = caught.value
    assert "Unable to cast" not in str(e) and type(e) is not RuntimeError, repr(e)
    assert str(e), f"{case.label}: {type(e).__name__} without a message"
    return e


@pytest.mark.parametrize("case", CASES, ids=[f"{c.kind}:{c.label}" for c in CASES])
def test_bad_input_gets_a_clear_exception(ctx: Ctx, case: Case) -> None:
    check(case, ctx)
    # Nothing broke: the pair still carries an SDU both ways.
    ctx.a.write(b"still")
    assert ctx.b.read() == b"still"
    ctx.b.write(b"up")
    assert ctx.a.read() == b"up"


def test_the_table_covers_every_kind_of_bad_value() -> None:
    assert KINDS == ["NUL", "closed", "overflow", "range", "seconds", "text", "type"]
    assert len(CASES) >= 150, len(CASES)


def test_the_issue_s_inputs_name_what_was_wrong(ctx: Ctx) -> None:
    # The calls issue 13 found raising pybind11's "Unable to cast".
    with pytest.raises(OverflowError, match="read\\(\\) count"):
        ctx.b.read(2**63)
    with pytest.raises(TypeError, match="read\\(\\) count must be an int, not str"):
        ctx.b.read("x")
    with pytest.raises(TypeError, match="not float"):
        ctx.b.read(1.5)
    with pytest.raises(OverflowError, match="read_many\\(\\) max_count"):
        ctx.b.read_many(2**63)
    with pytest.raises(OverflowError, match="write\\(\\) count"):
        ctx.a.write(b"abc", 10**20)
    # Strings over 4096 bytes: InvalidArgument (a ValueError) saying the limit.
    with pytest.raises(InvalidArgument, match="5000 bytes long; the limit is 255"):
        flow_alloc(LONG, timeo=1)
    with pytest.raises(InvalidArgument, match="exceeds the limit of 4096"):
        irm.bind_program("/bin/true", "n", argv=[LONG])


def test_concurrent_dealloc_wakes_each_blocked_call(ctx: Ctx) -> None:
    # A read, a read_many and a readline blocked in threads, and a flow set
    # wait: dealloc() and destroy() from here end each with a clear error.
    calls = [ctx.b.read, ctx.b.read_many, ctx.b.readline]
    blocked = [InThread(call) for call in calls]
    for t in blocked:
        wait_blocked(t.thread)
    ctx.b.dealloc()
    for t in blocked:
        assert isinstance(t.result("dealloc() did not wake the call"),
                          FlowNotAllocatedException)
    fs = FlowSet()  # (ctx.a has events now: its peer left)
    waiting = InThread(lambda: fs.wait(FEventQueue(), timeo=10))
    wait_blocked(waiting.thread)
    fs.destroy()
    assert isinstance(waiting.result("destroy() did not wake the wait"), FlowEventError)


def test_many_threads_deallocating_one_flow_at_once(ctx: Ctx) -> None:
    # Only one dealloc() deallocates; the others raise FlowNotAllocated or
    # return (they lost the race), and none crashes or hangs.
    start = threading.Barrier(8)
    outcomes: List[object] = []

    def race() -> None:
        start.wait(10)
        try:
            ctx.a.dealloc()
            outcomes.append(None)
        except FlowNotAllocatedException as e:
            outcomes.append(e)

    threads = [threading.Thread(target=race) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
        assert not t.is_alive()
    assert outcomes.count(None) >= 1 and len(outcomes) == 8
    assert ctx.a.closed


# The system backend: the whole table over one flow to an echo server in a
# process of its own (Ouroboros 0.23 cannot allocate a flow within one
# process), "a" and "b" both being that flow.
@pytest.mark.system
@pytest.mark.timeout(300)
def test_the_table_on_the_system_backend(spawn, system_names) -> None:
    name = system_names("bad-input")
    spawn(SYSTEM_ECHO_SERVER, name).expect("ready")
    with flow_alloc(name, timeo=20) as f:
        f.set_rcv_timeout(20)
        f.set_snd_timeout(20)
        destroyed = FlowSet()
        destroyed.destroy()
        x = Ctx(f, f, Flow(), destroyed)
        wrong = []
        for case in CASES:
            try:
                check(case._replace(expected=case.on_system or case.expected), x)
            except BaseException as e:  # noqa: BLE001 - collected, reported below
                wrong.append(f"{case.kind}:{case.label}: {e!r}")
        f.write(b"still")
        assert f.read() == b"still"
    assert not wrong, "\n".join(wrong)
