"""A hostile fake Mix on loopback: well-behaved on the message routes, whatever a test picks on ``/stream``.

It is the fault suite's ``FaultUpstream`` with a routing fallback: ``GET /api/sessions/{id}``,
``POST .../messages`` (202, or a busy refusal), ``GET .../messages`` (the stored messages a test
set), ``POST .../cancel`` and ``POST /api/notifications/{id}/respond`` answer as Mix does, and each
``GET /stream`` takes the next of ``streams`` (the last one repeats). The stream behaviours below are
the attacks of issue 20: floods before ``connected``, endless or over-long lines, headers then
silence, heartbeat-then-close loops. Each writes until the client hangs up, so the tests measure what
mix-mcp does, not what the fake runs out of.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tests.faults.upstream import Action, Exchange, FaultUpstream, Respond, Stall, _head

SID = "s-hostile"

SESSION: dict[str, Any] = {
    "id": SID,
    "title": "hostile",
    "sessionType": "main",
    "userMessageCount": 0,
    "assistantMessageCount": 0,
    "toolCallCount": 0,
    "promptTokens": 10,
    "completionTokens": 5,
    "cost": 0.001,
    "createdAt": "2026-02-01T00:00:00Z",
}


def sse(*events: tuple[str | None, str, dict[str, Any]]) -> bytes:
    """Server-sent events: (id or None for no ``id:`` line, event type, data)."""
    out = []
    for event_id, kind, data in events:
        head = f"id: {event_id}\n" if event_id is not None else ""
        out.append(f"{head}event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n")
    return "".join(out).encode()


def connected(event_id: str | None = "0") -> tuple[str | None, str, dict[str, Any]]:
    return (event_id, "connected", {"sessionId": SID})


def _stream_head() -> bytes:
    return _head(200, [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache"), ("Connection", "close")])


@dataclass
class Events(Action):
    """A stream that sends ``body`` and then stays open, silent, for ``hold`` seconds (0: closes at once)."""

    body: bytes
    hold: float = 0.0

    async def open(self, exchange: Exchange) -> None:
        """Send the headers and ``body``, leaving the connection open."""
        exchange.writer.write(_stream_head() + self.body)
        await exchange.writer.drain()

    async def apply(self, exchange: Exchange) -> bool:
        await self.open(exchange)
        if self.hold:
            return await Stall(self.hold).apply(exchange)
        return False


@dataclass
class Flood(Action):
    """Headers, ``prefix``, then ``unit`` over and over until the client hangs up (or ``limit`` bytes)."""

    unit: bytes
    prefix: bytes = b""
    limit: int = 1 << 34
    #: Bytes written to this connection, for the test to read.
    sent: list[int] = field(default_factory=list)

    async def apply(self, exchange: Exchange) -> bool:
        writer = exchange.writer
        block = self.unit * max(1, 65_536 // len(self.unit))
        total = 0
        try:
            writer.write(_stream_head() + self.prefix)
            while total < self.limit:
                writer.write(block)
                total += len(block)
                await writer.drain()
        except (ConnectionError, RuntimeError):
            pass
        self.sent.append(total)
        return False


@dataclass
class Trickle(Action):
    """Headers, ``prefix``, then ``unit`` every ``interval`` seconds for up to ``seconds``: never silent, never much."""

    unit: bytes
    interval: float = 0.1
    prefix: bytes = b""
    seconds: float = 30.0

    async def apply(self, exchange: Exchange) -> bool:
        writer = exchange.writer
        try:
            writer.write(_stream_head() + self.prefix)
            await writer.drain()
            for _ in range(int(self.seconds / self.interval)):
                await asyncio.sleep(self.interval)
                writer.write(self.unit)
                await writer.drain()
        except (ConnectionError, RuntimeError):
            pass
        return False


@dataclass
class HostileMix(Action):
    """The routing fallback: Mix's message routes answered sanely, ``/stream`` as the test scripted."""

    streams: list[Action] = field(default_factory=list)
    stored: list[dict[str, Any]] = field(default_factory=list)
    busy: bool = False
    responses: list[tuple[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def apply(self, exchange: Exchange) -> bool:
        request = exchange.request
        path, method = request.path, request.method
        if path == "/stream":
            with self._lock:
                action = self.streams.pop(0) if len(self.streams) > 1 else self.streams[0]
            return await action.apply(exchange)
        if path.startswith("/api/notifications/") and path.endswith("/respond"):
            with self._lock:
                self.responses.append((path.split("/")[3], request.json()))
            return await Respond(204, b"", None).apply(exchange)
        if path == f"/api/sessions/{SID}" and method == "GET":
            return await Respond.json(200, SESSION).apply(exchange)
        if path == f"/api/sessions/{SID}/messages" and method == "POST":
            if self.busy:
                refusal = Respond.envelope(400, "The session is already processing a message", "bad_request")
                return await refusal.apply(exchange)
            return await Respond.json(202, {"sessionId": SID, "status": "processing"}).apply(exchange)
        if path == f"/api/sessions/{SID}/messages" and method == "GET":
            return await Respond.json(200, self.stored).apply(exchange)
        if path == f"/api/sessions/{SID}/cancel":
            return await Respond.json(200, {"cancelled": True}).apply(exchange)
        return await Respond.envelope(404, f"no route {method} {path}", "not_found").apply(exchange)

    def message_posts(self, upstream: FaultUpstream) -> int:
        return sum(1 for r in upstream.since(0) if r.method == "POST" and r.path.endswith("/messages"))


@contextmanager
def hostile_mix(*streams: Action, **options: Any) -> Iterator[tuple[FaultUpstream, HostileMix]]:
    """``with hostile_mix(Flood(...)) as (upstream, mix):`` a running fake Mix whose streams are ``streams``."""
    mix = HostileMix(list(streams), **options)
    with FaultUpstream(fallback=mix) as upstream:
        yield upstream, mix
