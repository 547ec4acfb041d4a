"""A Mix session's event stream (``GET /stream?sessionId=``), read as a real stream.

Mix reports an agent run only here: thinking and content deltas, tool calls, permission requests,
completion, errors. A follower must survive what long-lived HTTP connections go through, so
``SessionEvents``:

* parses server-sent events itself, under a size bound per line and per event (a hostile or broken
  upstream cannot make it buffer without limit);
* reconnects after a dropped connection, an end of stream or a silent one (no byte, not even a
  heartbeat, within the heartbeat timeout), sending ``Last-Event-ID`` so that Mix replays what was
  missed; events already seen are dropped, so nothing is lost and nothing counted twice;
* ignores events that name another session;
* gives up with ``StreamLostError`` after a few reconnects in a row that brought nothing, saying
  which event id resumes the run;
* always closes its connection, whatever ends the reading (``aclose``, cancellation, errors).
"""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final

import anyio
import httpx2

from mix_mcp.mix.client import MixClient
from mix_mcp.mix.errors import ErrorHints, MixAPIError, MixMCPError
from mix_mcp.observe.logs import log_event

logger = logging.getLogger("mix_mcp.events")

#: Largest line and largest event (all its data lines together) accepted from Mix, in bytes.
MAX_LINE_BYTES: Final = 1024 * 1024
MAX_EVENT_BYTES: Final = 4 * 1024 * 1024
#: Event ids remembered to drop replays (the replay after a reconnect overlaps what was read).
SEEN_IDS: Final = 4096
#: Reconnects in a row, with no event in between, before the stream counts as lost.
MAX_RECONNECTS: Final = 5
#: Longest pause before a reconnect, whatever ``retry:`` Mix asks for.
MAX_RECONNECT_DELAY: Final = 5.0
_FIRST_RECONNECT_DELAY: Final = 0.1


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One server-sent event: its id, its type (``event:``) and its data (a JSON object, else ``{"raw": text}``)."""

    id: str | None
    type: str
    data: dict[str, Any]

    @property
    def nested(self) -> bool:
        """Whether it belongs to a subagent's run (spawned by a tool call), not to the run itself."""
        return bool(self.data.get("parentToolCallId"))


class StreamFormatError(MixMCPError):
    """Mix sent something that is not a server-sent event stream within the bounds above."""


class StreamLostError(MixMCPError):
    """The stream dropped and could not be reopened; the run may still be going on in Mix."""

    def __init__(self, session_id: str, last_event_id: str | None, reason: str) -> None:
        resume = (
            f" Follow it again with send_message(session_id={session_id!r}, follow_from_event_id={last_event_id!r})."
            if last_event_id is not None
            else ""
        )
        super().__init__(
            f"The event stream of session {session_id!r} was lost ({reason}); the run may still be going on "
            f"in Mix.{resume} list_messages shows what it has written."
        )
        self.last_event_id = last_event_id

    def describe(self, hints: ErrorHints) -> str:
        return str(self)


@dataclass(slots=True)
class SSEDecoder:
    """Bytes in, events out, following the server-sent events rules (WHATWG HTML, 9.2), with size bounds."""

    last_event_id: str | None = None
    #: Reconnection delay Mix asked for (``retry:``), in seconds.
    retry: float | None = None
    _buffer: bytearray = field(default_factory=bytearray)
    _data: list[str] = field(default_factory=list)
    _data_bytes: int = 0
    _type: str = ""
    _id: str | None = None

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        self._buffer += chunk
        events: list[StreamEvent] = []
        start = 0
        buffer = self._buffer
        while True:
            lf, cr = buffer.find(b"\n", start), buffer.find(b"\r", start)
            ends = [i for i in (lf, cr) if i >= 0]
            if not ends:
                break
            end = min(ends)
            if end == cr and end == len(buffer) - 1:
                break  # a CR at the end may be the first half of CRLF: wait for the next byte
            step = 2 if end == cr and end + 1 < len(buffer) and buffer[end + 1] == 0x0A else 1
            event = self._line(bytes(buffer[start:end]))
            if event is not None:
                events.append(event)
            start = end + step
        del buffer[:start]
        if len(buffer) > MAX_LINE_BYTES:
            raise StreamFormatError(f"Mix's event stream sent a line longer than {MAX_LINE_BYTES:,} bytes")
        return events

    def reset_event(self) -> None:
        """Forget a half-received event (its connection dropped)."""
        self._buffer.clear()
        self._data.clear()
        self._data_bytes = 0
        self._type = ""
        self._id = None

    def _line(self, raw: bytes) -> StreamEvent | None:
        if not raw:
            return self._dispatch()
        if len(raw) > MAX_LINE_BYTES:
            raise StreamFormatError(f"Mix's event stream sent a line longer than {MAX_LINE_BYTES:,} bytes")
        line = raw.decode("utf-8", "replace")
        if line.startswith(":"):
            return None  # a comment: keeps proxies from closing an idle connection
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data_bytes += len(value) + 1
            if self._data_bytes > MAX_EVENT_BYTES:
                raise StreamFormatError(f"Mix's event stream sent an event larger than {MAX_EVENT_BYTES:,} bytes")
            self._data.append(value)
        elif name == "event":
            self._type = value
        elif name == "id" and value.isascii() and value.isprintable() and " " not in value:
            # Only an id that can go back in a Last-Event-ID header moves the resume point.
            self._id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self.retry = int(value) / 1000
        return None

    def _dispatch(self) -> StreamEvent | None:
        if self._id is not None:
            self.last_event_id = self._id
        if not self._data:
            self._type, self._id = "", None
            return None
        text = "\n".join(self._data)
        event_id, kind = self._id, self._type
        self._data, self._data_bytes, self._type, self._id = [], 0, "", None
        try:
            parsed = json.loads(text)
        except (json.JSONDecodeError, RecursionError):
            parsed = None
        data = parsed if isinstance(parsed, dict) else {"raw": text}
        if not kind:
            declared = data.get("event") or data.get("type")
            kind = declared if isinstance(declared, str) else "message"
        return StreamEvent(event_id if event_id is not None else self.last_event_id, kind, data)


class SessionEvents:
    """The events of one session, across reconnects: ``async with SessionEvents(...) as events: async for e in``.

    Entering opens the stream and waits for Mix's ``connected`` event, so that a message sent after
    it cannot produce events the stream misses. ``connected`` and ``heartbeat`` events are consumed
    here; everything else of this session is yielded once.
    """

    def __init__(
        self,
        client: MixClient,
        session_id: str,
        *,
        last_event_id: str | None = None,
        heartbeat_timeout: float,
        operation: str | None = None,
    ) -> None:
        self._client = client
        self.session_id = session_id
        self._decoder = SSEDecoder(last_event_id=last_event_id)
        self._heartbeat_timeout = heartbeat_timeout
        self._operation = operation
        self._response: httpx2.Response | None = None
        self._chunks: AsyncIterator[bytes] | None = None
        self._pending: deque[StreamEvent] = deque()
        self._seen: deque[str] = deque(maxlen=SEEN_IDS)
        self._seen_set: set[str] = set()
        #: Reconnects made so far, and the id of the ``connected`` event (where this stream started).
        self.reconnects = 0
        self.connected_id: str | None = None
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
            self.heartbeats += 1
            self._barren = 0  # the connection is alive: a later drop starts a fresh count
            return False
        if event.type == "connected":
            self.connected_id = self.connected_id or event.id
            return False
        other = event.data.get("sessionId")
        if isinstance(other, str) and other != self.session_id:
            self.ignored += 1
            return False
        if event.id is not None:
            if event.id in self._seen_set:
                return False  # replayed after a reconnect: already handed out
            if len(self._seen) == self._seen.maxlen:
                self._seen_set.discard(self._seen[0])
            self._seen.append(event.id)
            self._seen_set.add(event.id)
        return True

    async def _connect(self) -> None:
        """Open the stream and read up to its ``connected`` event (events before it are kept)."""
        response = await self._client.open_event_stream(
            self.session_id,
            last_event_id=self._decoder.last_event_id,
            read_timeout=self._heartbeat_timeout,
            operation=self._operation,
        )
        self._response, self._chunks = response, response.aiter_bytes()
        while True:
            events = await self._next_chunk()
            if events is None:
                raise StreamLostError(self.session_id, self.last_event_id, "it ended before Mix confirmed it")
            self._pending.extend(events)
            connected = next((e for e in events if e.type == "connected"), None)
            if connected is not None:
                self.connected_id = self.connected_id or connected.id
                return

    async def _next_chunk(self) -> list[StreamEvent] | None:
        """The events of the next chunk; ``None`` when the connection ended, dropped or went silent."""
        assert self._chunks is not None
        try:
            chunk = await self._chunks.__anext__()
        except StopAsyncIteration:
            return None
        except (httpx2.TimeoutException, httpx2.NetworkError, httpx2.RemoteProtocolError) as failure:
            log_event(logger, logging.INFO, "stream_dropped", reason=type(failure).__name__)
            return None
        return self._decoder.feed(chunk)

    async def _read_more(self) -> None:
        events = await self._next_chunk() if self._chunks is not None else None
        if events is not None:
            self._pending.extend(events)
            return
        await self._reconnect()

    async def _reconnect(self) -> None:
        await self.aclose()
        self._decoder.reset_event()
        delay = self._decoder.retry if self._decoder.retry is not None else _FIRST_RECONNECT_DELAY
        delay = max(delay, _FIRST_RECONNECT_DELAY * 2 ** min(self._barren, 6))
        while True:
            self._barren += 1
            self.reconnects += 1
            if self._barren > MAX_RECONNECTS:
                raise StreamLostError(
                    self.session_id, self.last_event_id, f"{MAX_RECONNECTS} reconnects in a row brought nothing"
                )
            await anyio.sleep(min(delay, MAX_RECONNECT_DELAY))
            delay = max(delay * 2, _FIRST_RECONNECT_DELAY)
            log_event(logger, logging.INFO, "stream_reconnect", attempt=self._barren, resume=self.last_event_id)
            try:
                await self._connect()
                return
            except MixAPIError as refused:
                if refused.status < 500 and refused.status not in (408, 429):
                    raise  # the session is gone, or access was refused: a retry cannot help
            except (StreamLostError, MixMCPError):
                await self.aclose()
