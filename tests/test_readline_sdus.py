"""readline() reads from one SDU only: a character cut at the end of an SDU,
or bytes that are not UTF-8, raise UnicodeDecodeError carrying every byte
the readline took, and the next SDU is left alone (issue 13, defect 4)."""

from __future__ import annotations

import asyncio
from typing import Tuple

import pytest

from flow_pairs import pair  # noqa: F401 (fixture)
from ouroboros.asyncio import Flow as AsyncFlow
from ouroboros.dev import Flow

pytestmark = pytest.mark.embedded_only

Pair = Tuple[Flow, Flow]
E_ACUTE = "é".encode()  # b"\xc3\xa9"


@pytest.mark.parametrize("count", [None, 3, 10, 2**63])
def test_a_character_cut_by_the_sdu_end_is_an_error_not_a_wait(pair: Pair, count) -> None:
    a, b = pair
    a.write(b"ab" + E_ACUTE[:1])
    a.write(E_ACUTE[1:] + b"cd")
    with pytest.raises(UnicodeDecodeError) as caught:
        b.readline(count)
    assert caught.value.object == b"ab" + E_ACUTE[:1]
    assert "SDU ends inside a character" in str(caught.value)
    # The next SDU was not touched.
    assert b.read() == E_ACUTE[1:] + b"cd"


def test_a_cut_character_without_a_next_sdu_does_not_block(pair: Pair) -> None:
    a, b = pair
    b.set_rcv_timeout(None)  # the old readline waited here for another SDU
    a.write("xy".encode() + "✓".encode()[:2])
    b.set_rcv_timeout(2)
    with pytest.raises(UnicodeDecodeError) as caught:
        b.readline(5)
    assert caught.value.object == b"xy" + "✓".encode()[:2]


def test_bytes_that_are_not_utf8_stay_on_the_exception(pair: Pair) -> None:
    a, b = pair
    a.write(b"ok\xffno")
    with pytest.raises(UnicodeDecodeError) as caught:
        b.readline()
    assert caught.value.object == b"ok\xffno"
    assert (caught.value.start, caught.value.end) == (2, 3)
    a.write(b"fine")
    assert b.readline() == "fine"


def test_with_a_count_the_rest_of_the_sdu_stays_after_an_undecodable_byte(pair: Pair) -> None:
    a, b = pair
    a.write(b"a\xffbcd")
    with pytest.raises(UnicodeDecodeError) as caught:
        b.readline(2)
    # What this readline read is on the exception; the rest of the SDU stays.
    assert caught.value.object == b"a\xff"
    assert b.read() == b"bcd"


def test_counts_still_split_an_sdu_by_characters(pair: Pair) -> None:
    a, b = pair
    a.write("αβγδ".encode())
    assert b.readline(3) == "αβγ"
    assert b.readline(3) == "δ"
    a.write(b"abc")  # exactly the count: the end of the SDU is not awaited
    assert b.readline(3) == "abc"
    a.write(b"next")
    assert b.readline(100) == "next"


def test_async_readline_reads_one_sdu_too(pair: Pair) -> None:
    a, b = pair

    async def main() -> None:
        async with AsyncFlow(b) as ab:
            a.write(b"ab" + E_ACUTE[:1])
            a.write(E_ACUTE[1:])
            with pytest.raises(UnicodeDecodeError) as caught:
                await ab.readline(10)
            assert caught.value.object == b"ab" + E_ACUTE[:1]
            assert await ab.read() == E_ACUTE[1:]

    asyncio.run(main())
