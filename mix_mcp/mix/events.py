"""A Mix session's event stream (``GET /stream?sessionId=``), read as a real stream.

Mix reports an agent run only here: thinking and content deltas, tool calls, permission requests,
completion, errors. A follower must survive what long-lived HTTP connections go through, so
``SessionEvents``:

* parses server-sent events itself, in time linear in the bytes received and under the bounds of
  ``stream_limits`` (line, event, bytes and time before ``connected``): a hostile or broken upstream
  cannot make it buffer without limit, spin, or hold a call past its deadline;
* reconnects after a dropped connection, an end of stream or a silent one (no byte, not even a
  heartbeat, within the heartbeat timeout), sending ``Last-Event-ID`` so that Mix replays what was
  missed; events already seen (by their own id) are dropped, so nothing is lost and nothing counted
  twice; an event without an ``id:`` line keeps the last event id and is never taken for a replay;
* ignores events that name another session;
* gives up with ``StreamLostError`` after a few reopenings in a row that brought no new event
  (heartbeats do not count as new) or too many in all;
* always closes its connection, whatever ends the reading (``aclose``, cancellation, errors).

What a failure means for a message (sent or not) is for the caller to say: ``tools/runs`` does.
"""

from __future__ import annotations

import json
import logging
import re
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final

import anyio
import httpx2

from mix_mcp.mix.client import MixClient
from mix_mcp.mix.errors import ErrorHints, MixAPIError, MixMCPError
from mix_mcp.mix.json_text import parse_json
from mix_mcp.mix.stream_limits import (
    CONFIRM_TIMEOUT,
    FIRST_RECONNECT_DELAY,
    MAX_BARREN_REOPENINGS,
    MAX_BYTES_BEFORE_CONNECTED,
    MAX_EVENT_BYTES,
    MAX_EVENT_ID_CHARS,
    MAX_EVENTS_BEFORE_CONNECTED,
    MAX_LINE_BYTES,
    MAX_RECONNECT_DELAY,
    MAX_REOPENINGS,
    SEEN_IDS,
)
from mix_mcp.observe.logs import log_event

logger = logging.getLogger("mix_mcp.events")

__all__ = [
    "MAX_EVENT_BYTES",
    "MAX_LINE_BYTES",
    "SSEDecoder",
    "SessionEvents",
    "StreamError",
    "StreamEvent",
    "StreamFormatError",
    "StreamLostError",
    "StreamUnconfirmedError",
]

_LINE_END: Final = re.compile(rb"[\r\n]")


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One server-sent event: its id, its type (``event:``) and its data (a JSON object, else ``{"raw": text}``).

    ``id`` is the event's own ``id:`` when it had one, else the stream's last event id (the SSE rule);
    ``own_id`` tells the two apart, since only an event's own id identifies it (for dropping replays).
    """

    id: str | None
    type: str
    data: dict[str, Any]
    own_id: bool = True

    @property
    def nested(self) -> bool:
        """Whether it belongs to a subagent's run (spawned by a tool call), not to the run itself."""
        return bool(self.data.get("parentToolCallId"))


class StreamError(MixMCPError):
    """Something went wrong with the event stream itself (not with a request Mix answered)."""


class StreamFormatError(StreamError):
    """Mix sent something that is not a server-sent event stream within the bounds of ``stream_limits``."""


class StreamUnconfirmedError(StreamError):
    """The stream opened but Mix never confirmed it (no ``connected`` in time or within the byte bound)."""


class StreamLostError(StreamError):
    """The stream dropped and could not be reopened; the run may still be going on in Mix."""

    def __init__(self, session_id: str, last_event_id: str | None, reason: str) -> None:
        self.session_id = session_id
        self.last_event_id = last_event_id
        self.reason = reason
        super().__init__(f"The event stream of session {session_id!r} was lost ({reason}).")

    def describe(self, hints: ErrorHints) -> str:
        return str(self)


@dataclass(slots=True)
class SSEDecoder:
    """Bytes in, events out, following the server-sent events rules (WHATWG HTML, 9.2), with size bounds.

    Linear: a line ending is searched for from where the previous search stopped, never from the
    start of the buffer again, so a flood of short lines or a long line in small chunks costs time in
    proportion to its bytes.
    """

    last_event_id: str | None = None
    #: Reconnection delay Mix asked for (``retry:``), in seconds.
    retry: float | None = None
    _buffer: bytearray = field(default_factory=bytearray)
    #: Bytes at the start of ``_buffer`` already known to hold no line ending.
    _scanned: int = 0
    _data: bytearray = field(default_factory=bytearray)
    _has_data: bool = False
    _type: str = ""
    _id: str | None = None
    _id_seen: bool = False

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        buffer = self._buffer
        buffer += chunk
        if buffer.find(b"\r", self._scanned) < 0:
            return self._feed_lf_only()
        events: list[StreamEvent] = []
        start = 0
        position = self._scanned
        size = len(buffer)
        while True:
            found = _LINE_END.search(buffer, position)
            if found is None:
                position = size
                break
            end = found.start()
            step = 1
            if buffer[end] == 0x0D:
                if end + 1 == size:
                    position = end  # a CR at the end may be the first half of CRLF: wait for the next byte
                    break
                if buffer[end + 1] == 0x0A:
                    step = 2
            if end - start > MAX_LINE_BYTES:
                raise StreamFormatError(f"Mix's event stream sent a line longer than {MAX_LINE_BYTES:,} bytes")
            event = self._line(bytes(buffer[start:end]))
            if event is not None:
                events.append(event)
            start = position = end + step
        del buffer[:start]
        self._scanned = position - start
        self._check_tail()
        return events

    def _feed_lf_only(self) -> list[StreamEvent]:
        """The common case, no CR in sight: split every complete line at once (C speed), then read them."""
        buffer = self._buffer
        last = buffer.rfind(b"\n", self._scanned)
        if last < 0:
            self._scanned = len(buffer)
            self._check_tail()
            return []
        events: list[StreamEvent] = []
        for raw in bytes(buffer[:last]).split(b"\n"):
            if len(raw) > MAX_LINE_BYTES:
                raise StreamFormatError(f"Mix's event stream sent a line longer than {MAX_LINE_BYTES:,} bytes")
            event = self._line(raw)
            if event is not None:
                events.append(event)
        del buffer[: last + 1]
        self._scanned = len(buffer)
        self._check_tail()
        return events

    def _check_tail(self) -> None:
        if len(self._buffer) > MAX_LINE_BYTES:
            raise StreamFormatError(f"Mix's event stream sent a line longer than {MAX_LINE_BYTES:,} bytes")

    def reset_event(self) -> None:
        """Forget a half-received event (its connection dropped)."""
        self._buffer.clear()
        self._scanned = 0
        self._data.clear()
        self._has_data = False
        self._type = ""
        self._id, self._id_seen = None, False

    def _line(self, raw: bytes) -> StreamEvent | None:
        if not raw:
            return self._dispatch()
        if raw[0] == 0x3A:
            return None  # a comment: keeps proxies from closing an idle connection
        name, _, value = raw.partition(b":")
        if value[:1] == b" ":
            value = value[1:]
        if name == b"data":
            if len(self._data) + len(value) + 1 > MAX_EVENT_BYTES:
                raise StreamFormatError(f"Mix's event stream sent an event larger than {MAX_EVENT_BYTES:,} bytes")
            if self._has_data:
                self._data += b"\n"
            self._data += value
            self._has_data = True
        elif name == b"event":
            self._type = value.decode("utf-8", "replace")
        elif name == b"id" and b"\0" not in value:
            # Only an id that can go back in a Last-Event-ID header (and in a tool's arguments) moves the
            # resume point; an empty one clears it, as the standard says.
            text = value.decode("ascii", "replace")
            if not value:
                self._id, self._id_seen = None, True
            elif len(text) <= MAX_EVENT_ID_CHARS and all(0x21 <= c <= 0x7E for c in value):
                self._id, self._id_seen = text, True
        elif name == b"retry" and value.isdigit() and len(value) < 10:
            self.retry = int(value) / 1000
        return None

    def _dispatch(self) -> StreamEvent | None:
        own = self._id_seen and self._id is not None
        if self._id_seen:
            self.last_event_id = self._id
        kind, event_id = self._type, self._id
        self._type, self._id, self._id_seen = "", None, False
        if not self._has_data:
            return None
        text = self._data.decode("utf-8", "replace")
        self._data.clear()
        self._has_data = False
        parsed = None
        if text.lstrip()[:1] == "{":  # Mix's data is a JSON object; anything else is kept as raw text
            try:
                parsed = parse_json(text)
            except (json.JSONDecodeError, RecursionError):
                parsed = None
        data = parsed if isinstance(parsed, dict) else {"raw": text}
        if not kind:
            declared = data.get("event") or data.get("type")
            kind = declared if isinstance(declared, str) else "message"
        return StreamEvent(event_id if own else self.last_event_id, kind, data, own_id=own)


class SessionEvents:
    """The events of one session, across reconnects: ``async with SessionEvents(...) as events: async for e in``.

    Entering opens the stream and waits for Mix's ``connected`` event, so that a message sent after
    it cannot produce events the stream misses; that wait is bounded in time (``confirm_timeout``)
    and in bytes. ``connected`` and ``heartbeat`` events are consumed here; everything else of this
    session is yielded once.
    """

    def __init__(
        self,
        client: MixClient,
        session_id: str,
        *,
        last_event_id: str | None = None,
        heartbeat_timeout: float,
        confirm_timeout: float = CONFIRM_TIMEOUT,
        operation: str | None = None,
    ) -> None:
        self._client = client
        self.session_id = session_id
        self._decoder = SSEDecoder(last_event_id=last_event_id)
        self._heartbeat_timeout = heartbeat_timeout
        self._confirm_timeout = min(confirm_timeout, CONFIRM_TIMEOUT)
        self._operation = operation
        self._response: httpx2.Response | None = None
        self._chunks: AsyncIterator[bytes] | None = None
        self._pending: deque[StreamEvent] = deque()
        self._seen: deque[str] = deque(maxlen=SEEN_IDS)
        self._seen_set: set[str] = set()
        #: Reopenings made so far, and the id of the first ``connected`` event (where this stream started).
        self.reconnects = 0
        self.connected_id: str | None = None
        #: Whether Mix confirmed a connection (sent ``connected``) at least once.
        self.confirmed = False
        self.heartbeats = 0
        self.ignored = 0
        self._barren = 0

    @property
    def last_event_id(self) -> str | None:
        """The id to resume from: every event up to it has been read (or handed out)."""
        return self._decoder.last_event_id

    async def __aenter__(self) -> SessionEvents:
        try:
            await self._connect()
        except BaseException:
            await self.aclose()
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection, even from a cancelled task (the close itself is shielded)."""
        response, self._response, self._chunks = self._response, None, None
        if response is not None:
            with anyio.CancelScope(shield=True):
                await response.aclose()

    def __aiter__(self) -> SessionEvents:
        return self

    async def __anext__(self) -> StreamEvent:
        while True:
            if self._pending:
                event = self._pending.popleft()
                if self._keep(event):
                    self._barren = 0
                    return event
                continue
            await self._read_more()

    def _keep(self, event: StreamEvent) -> bool:
        if event.type == "heartbeat":
            self.heartbeats += 1  # alive, but not progress: the reopening count stands
            return False
        if event.type == "connected":
            self.connected_id = self.connected_id or event.id
            return False
        other = event.data.get("sessionId")
        if isinstance(other, str) and other != self.session_id:
            self.ignored += 1
            return False
        if event.own_id and event.id is not None:
            if event.id in self._seen_set:
                return False  # replayed after a reconnect: already handed out
            if len(self._seen) == self._seen.maxlen:
                self._seen_set.discard(self._seen[0])
            self._seen.append(event.id)
            self._seen_set.add(event.id)
        return True

    async def _connect(self) -> None:
        """Open the stream and read up to its ``connected`` event, within the time and byte bounds."""
        with anyio.move_on_after(self._confirm_timeout) as scope:
            await self._open_and_confirm()
        if scope.cancelled_caught:
            raise StreamUnconfirmedError(
                f"Mix's event stream for session {self.session_id!r} did not confirm the connection (no "
                f"'connected' event) within {self._confirm_timeout:g} s"
            )

    async def _open_and_confirm(self) -> None:
        response = await self._client.open_event_stream(
            self.session_id,
            last_event_id=self._decoder.last_event_id,
            read_timeout=self._heartbeat_timeout,
            operation=self._operation,
        )
        self._response, self._chunks = response, response.aiter_bytes()
        received = 0
        before: list[StreamEvent] = []
        while True:
            chunk = await self._next_bytes()
            if chunk is None:
                raise StreamLostError(self.session_id, self.last_event_id, "it ended before Mix confirmed it")
            received += len(chunk)
            events = self._decoder.feed(chunk)
            connected = next((i for i, e in enumerate(events) if e.type == "connected"), None)
            if connected is not None:
                self.connected_id = self.connected_id or events[connected].id
                self.confirmed = True
                self._pending.extend(before)
                self._pending.extend(events)
                return
            before.extend(events)
            if received > MAX_BYTES_BEFORE_CONNECTED or len(before) > MAX_EVENTS_BEFORE_CONNECTED:
                raise StreamUnconfirmedError(
                    f"Mix's event stream for session {self.session_id!r} sent {received:,} bytes ({len(before):,} "
                    f"events) without confirming the connection (no 'connected' event; the bounds are "
                    f"{MAX_BYTES_BEFORE_CONNECTED:,} bytes and {MAX_EVENTS_BEFORE_CONNECTED:,} events)"
                )

    async def _next_bytes(self) -> bytes | None:
        """The next chunk; ``None`` when the connection ended, dropped or went silent."""
        assert self._chunks is not None
        try:
            return await self._chunks.__anext__()
        except StopAsyncIteration:
            return None
        except (httpx2.TimeoutException, httpx2.NetworkError, httpx2.RemoteProtocolError) as failure:
            log_event(logger, logging.INFO, "stream_dropped", reason=type(failure).__name__)
            return None

    async def _read_more(self) -> None:
        chunk = await self._next_bytes() if self._chunks is not None else None
        if chunk is not None:
            self._pending.extend(self._decoder.feed(chunk))
            return
        await self._reconnect()

    async def _reconnect(self) -> None:
        await self.aclose()
        self._decoder.reset_event()
        delay = self._decoder.retry if self._decoder.retry is not None else FIRST_RECONNECT_DELAY
        delay = max(delay, FIRST_RECONNECT_DELAY * 2 ** min(self._barren, 6))
        while True:
            self._barren += 1
            self.reconnects += 1
            if self._barren > MAX_BARREN_REOPENINGS:
                raise StreamLostError(
                    self.session_id, self.last_event_id, f"{MAX_BARREN_REOPENINGS} reopenings in a row brought nothing"
                )
            if self.reconnects > MAX_REOPENINGS:
                raise StreamLostError(
                    self.session_id, self.last_event_id, f"it was reopened {MAX_REOPENINGS} times in one call"
                )
            await anyio.sleep(min(delay, MAX_RECONNECT_DELAY))
            delay = max(delay * 2, FIRST_RECONNECT_DELAY)
            log_event(logger, logging.INFO, "stream_reconnect", attempt=self._barren, resume=self.last_event_id)
            try:
                await self._connect()
                return
            except MixAPIError as refused:
                await self.aclose()
                if refused.status < 500 and refused.status not in (408, 429):
                    raise  # the session is gone, or access was refused: a retry cannot help
            except MixMCPError:
                await self.aclose()
