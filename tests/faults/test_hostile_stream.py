"""Issue 20 at the stream level: what a hostile ``/stream`` can no longer do to ``SessionEvents``.

Each test reproduces one attack against the hostile fake Mix on loopback and checks the bound that
now holds (``mix_mcp.mix.stream_limits``): bytes and time before ``connected``, reopenings that
heartbeats do not reset, events without ``id:``, over-long ids, and a parser whose work is linear in
the bytes it is fed.
"""

from __future__ import annotations

import re
import time
from typing import Any

import anyio
import pytest

from mix_mcp.mix import events as events_module
from mix_mcp.mix.client import MixClient
from mix_mcp.mix.events import SessionEvents, SSEDecoder, StreamEvent, StreamLostError, StreamUnconfirmedError
from mix_mcp.mix.stream_limits import (
    MAX_BARREN_REOPENINGS,
    MAX_BYTES_BEFORE_CONNECTED,
    MAX_EVENT_ID_CHARS,
    MAX_REOPENINGS,
)
from tests.faults.conftest import fast_settings
from tests.faults.hostile_mix import SID, Events, Flood, Trickle, connected, hostile_mix, sse

CONTENT = b'event: content\ndata: {"type":"content","content":"flood"}\n\n'


async def read_all(client: MixClient, *, until: str = "complete", **kwargs: Any) -> list[StreamEvent]:
    seen: list[StreamEvent] = []
    async with SessionEvents(client, SID, heartbeat_timeout=client.settings.read_timeout, **kwargs) as events:
        with anyio.fail_after(20):
            async for event in events:
                seen.append(event)
                if event.type == until:
                    break
    return seen


@pytest.mark.anyio
async def test_a_flood_without_connected_stops_at_the_byte_bound() -> None:
    flood = Flood(CONTENT)
    with hostile_mix(flood) as (upstream, _mix):
        async with MixClient(fast_settings(upstream)) as client:
            started = time.monotonic()
            with pytest.raises(StreamUnconfirmedError, match="without confirming"):
                await read_all(client)
            elapsed = time.monotonic() - started
        assert await upstream.until(lambda _u: bool(flood.sent), within=10)
    assert elapsed < 5
    # What the fake managed to write before mix-mcp hung up: the bound plus what sat in socket buffers.
    assert flood.sent[0] < MAX_BYTES_BEFORE_CONNECTED + 16 * 1024 * 1024


@pytest.mark.anyio
async def test_a_slow_trickle_without_connected_stops_at_the_confirm_deadline() -> None:
    # A comment every 0.1 s: never silent long enough for the read timeout, never over the byte bound.
    with hostile_mix(Trickle(b": still here\n")) as (upstream, _mix):
        async with MixClient(fast_settings(upstream, read_timeout=1.0)) as client:
            started = time.monotonic()
            with pytest.raises(StreamUnconfirmedError, match=r"within 1\.5 s"):
                await read_all(client, confirm_timeout=1.5)
            assert time.monotonic() - started < 4


@pytest.mark.anyio
async def test_heartbeats_do_not_reset_the_reopening_budget() -> None:
    loop = Events(sse(connected("1"), ("2", "heartbeat", {})))
    with hostile_mix(Events(sse(connected("1"))), loop) as (upstream, _mix):
        async with MixClient(fast_settings(upstream)) as client:
            with pytest.raises(StreamLostError, match="brought nothing") as lost:
                await read_all(client)
        opened = sum(1 for r in upstream.since(0) if r.path == "/stream")
    assert opened == 1 + MAX_BARREN_REOPENINGS
    assert lost.value.last_event_id == "2"


@pytest.mark.anyio
async def test_reopenings_are_capped_even_when_each_brings_something_new(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events_module, "FIRST_RECONNECT_DELAY", 0.001)
    streams = [Events(sse(connected(str(n)), (f"e{n}", "thinking", {"content": "x"}))) for n in range(80)]
    with hostile_mix(*streams) as (upstream, _mix):
        async with MixClient(fast_settings(upstream)) as client:
            with pytest.raises(StreamLostError, match=f"reopened {MAX_REOPENINGS} times"):
                await read_all(client)
        assert sum(1 for r in upstream.since(0) if r.path == "/stream") == 1 + MAX_REOPENINGS


@pytest.mark.anyio
async def test_events_without_an_id_keep_the_last_id_and_are_not_dropped() -> None:
    body = sse(
        connected("0"),
        ("1", "content", {"content": "a"}),
        (None, "content", {"content": "b"}),
        (None, "complete", {"done": True, "content": "ab"}),
    )
    with hostile_mix(Events(body, hold=5)) as (upstream, _mix):
        async with MixClient(fast_settings(upstream)) as client:
            seen = await read_all(client)
    assert [(e.type, e.id, e.own_id) for e in seen] == [
        ("content", "1", True),
        ("content", "1", False),
        ("complete", "1", False),
    ]


def test_an_id_over_the_limit_leaves_the_resume_point_where_it_was() -> None:
    decoder = SSEDecoder()
    long_id = "x" * (MAX_EVENT_ID_CHARS + 1)
    [first, second] = decoder.feed(f"id: 7\ndata: {{}}\n\nid: {long_id}\ndata: {{}}\n\n".encode())
    assert (first.id, first.own_id) == ("7", True)
    assert (second.id, second.own_id) == ("7", False) and decoder.last_event_id == "7"


class _CountingPattern:
    """Stands in for the decoder's line-end pattern and counts the bytes each search walks over."""

    def __init__(self) -> None:
        self.pattern = re.compile(rb"[\r\n]")
        self.walked = 0

    def search(self, buffer: bytearray, position: int) -> re.Match[bytes] | None:
        found = self.pattern.search(buffer, position)
        self.walked += (found.end() if found else len(buffer)) - position
        return found


@pytest.mark.parametrize("chunk", [1, 7, 4096])
def test_the_parser_walks_each_byte_a_bounded_number_of_times(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    counter = _CountingPattern()
    monkeypatch.setattr(events_module, "_LINE_END", counter)
    data = b": c\n" * 16_384 + b"data: " + b"y" * 100_000 + b"\n\n"  # short lines, then a long one in pieces
    decoder = SSEDecoder()
    got = [event for start in range(0, len(data), chunk) for event in decoder.feed(data[start : start + chunk])]
    assert len(got) == 1 and got[0].data == {"raw": "y" * 100_000}
    assert counter.walked <= 2 * len(data), f"walked {counter.walked:,} bytes for {len(data):,}"
