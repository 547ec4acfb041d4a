"""The event stream against a fault-injecting upstream: drops, silences, replays, strangers, junk, refusals.

Each test scripts what ``GET /stream`` answers, connection by connection, and checks what
``SessionEvents`` hands out, what it sent back (``Last-Event-ID``) and that it closed what it opened.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import anyio
import pytest

from mix_mcp.mix.client import MixClient
from mix_mcp.mix.errors import MixAPIError, MixResponseError
from mix_mcp.mix.events import MAX_LINE_BYTES, SessionEvents, StreamEvent, StreamFormatError, StreamLostError
from tests.faults.conftest import fast_settings
from tests.faults.upstream import Action, Exchange, FaultUpstream, Respond, Stall, _head

SID = "s-1"


def sse(*events: tuple[str | None, str, dict[str, Any]]) -> bytes:
    out = []
    for event_id, kind, data in events:
        head = f"id: {event_id}\n" if event_id is not None else ""
        out.append(f"{head}event: {kind}\ndata: {json.dumps(data)}\n\n")
    return "".join(out).encode()


def stream(*events: tuple[str | None, str, dict[str, Any]]) -> Respond:
    return Respond(200, sse(*events), "text/event-stream")


def connected(event_id: str) -> tuple[str, str, dict[str, Any]]:
    return (event_id, "connected", {"sessionId": SID})


@dataclass
class OpenThenStall(Action):
    """An event stream that sends ``body`` and then nothing at all (no heartbeat) for ``seconds``."""

    body: bytes
    seconds: float

    async def apply(self, exchange: Exchange) -> bool:
        exchange.writer.write(_head(200, [("Content-Type", "text/event-stream"), ("Connection", "close")]) + self.body)
        await exchange.writer.drain()
        return await Stall(self.seconds).apply(exchange)


async def collect(client: MixClient, until: str = "complete", **kwargs: Any) -> tuple[list[StreamEvent], SessionEvents]:
    seen: list[StreamEvent] = []
    async with SessionEvents(client, SID, heartbeat_timeout=client.settings.read_timeout, **kwargs) as events:
        with anyio.fail_after(20):
            async for event in events:
                seen.append(event)
                if event.type == until:
                    break
    return seen, events


@pytest.mark.anyio
async def test_a_dropped_stream_resumes_with_last_event_id_and_drops_replays_and_strangers(
    upstream: FaultUpstream,
) -> None:
    upstream.push(
        stream(
            connected("0"),
            ("1", "thinking", {"content": "a"}),
            ("2", "content", {"content": "b", "sessionId": "someone-else"}),
            ("3", "content", {"content": "c"}),
        ),
        stream(
            connected("3"),
            ("3", "content", {"content": "c"}),  # replayed: already handed out
            (None, "heartbeat", {"type": "ping"}),
            ("4", "tool", {"id": "t", "name": "Task", "parentToolCallId": "p"}),
            ("5", "complete", {"done": True, "content": "bc"}),
        ),
    )
    async with MixClient(fast_settings(upstream)) as client:
        seen, events = await collect(client)
    assert [(e.id, e.type) for e in seen] == [("1", "thinking"), ("3", "content"), ("4", "tool"), ("5", "complete")]
    assert seen[2].nested and not seen[1].nested
    assert events.reconnects == 1 and events.ignored == 1 and events.heartbeats == 1
    first, second = upstream.since(0)
    assert first.header("Last-Event-ID") is None and second.header("Last-Event-ID") == "3"
    assert first.target == f"/stream?sessionId={SID}" and first.header("Accept") == "text/event-stream"


@pytest.mark.anyio
async def test_a_silent_stream_counts_as_dropped_after_the_heartbeat_timeout(upstream: FaultUpstream) -> None:
    upstream.push(
        OpenThenStall(sse(connected("7"), ("8", "thinking", {"content": "x"})), seconds=10),
        stream(connected("8"), ("9", "complete", {"done": True})),
    )
    async with MixClient(fast_settings(upstream, read_timeout=0.5)) as client:
        seen, events = await collect(client)
    assert [e.id for e in seen] == ["8", "9"] and events.reconnects == 1
    silent, resumed = upstream.since(0)
    assert silent.closed_by_client, "the silent connection was closed, not left open"
    assert resumed.header("Last-Event-ID") == "8"


@pytest.mark.anyio
async def test_reconnects_that_bring_nothing_give_up_with_the_resume_point(upstream: FaultUpstream) -> None:
    upstream.push(stream(connected("0"), ("41", "thinking", {"content": "x"})))
    upstream.push(*[stream(connected("41")) for _ in range(10)])
    async with MixClient(fast_settings(upstream)) as client:
        with pytest.raises(StreamLostError) as lost:
            await collect(client)
    assert lost.value.last_event_id == "41"
    assert "brought nothing" in str(lost.value)  # what to do next is the run tools' to say (test_hostile_runs)
    assert upstream.count() <= 1 + 6, "bounded: a few reconnects, then an answer"


@pytest.mark.anyio
async def test_refusals_and_non_streams_are_clear_errors(upstream: FaultUpstream) -> None:
    upstream.push(Respond.envelope(404, "Session not found", "not_found"))
    upstream.push(Respond.json(200, {"not": "a stream"}))
    async with MixClient(fast_settings(upstream)) as client:
        with pytest.raises(MixAPIError) as missing:
            await collect(client)
        assert missing.value.status == 404 and "Session not found" in str(missing.value)
        with pytest.raises(MixResponseError) as junk:
            await collect(client)
        assert "is not an event stream" in str(junk.value)


@pytest.mark.anyio
async def test_nothing_is_buffered_without_a_bound(upstream: FaultUpstream) -> None:
    huge = b"data: " + b"x" * (MAX_LINE_BYTES + 10) + b"\n\n"
    upstream.push(Respond(200, sse(connected("0")) + huge, "text/event-stream"))
    async with MixClient(fast_settings(upstream)) as client:
        with pytest.raises(StreamFormatError, match="longer than"):
            await collect(client)


@pytest.mark.anyio
async def test_a_cancelled_reader_closes_its_connection(upstream: FaultUpstream) -> None:
    upstream.push(OpenThenStall(sse(connected("0")), seconds=10))
    async with MixClient(fast_settings(upstream, read_timeout=30)) as client:
        with anyio.move_on_after(0.5):
            await collect(client)
        assert await upstream.until(lambda u: u.since(0)[0].closed_by_client, within=10)
