"""The emulator's event stream (``GET /stream?sessionId=``): ids, replay and markers.

Every event gets an id from one counter shared by all sessions, so an id is unique across the
emulator, as Mix's "unique sequential event identifier" is. A session's events are kept in a bounded
log, so that a stream reopened with ``Last-Event-ID`` replays exactly what it missed.

``connected`` and ``heartbeat`` are not part of any run and are not replayed, yet they carry ids of
their own (a client's last seen id may be one of them). Each such id is remembered as a *marker*
standing for the log position it was sent at; a stream resumed from a marker replays from that
position, so nothing is lost whichever id the client resumes from.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from itertools import count
from typing import Any, Final

#: Events kept per session for replay; older ones are gone, as in a Mix with a bounded replay buffer.
REPLAY_EVENTS: Final = 10_000
#: Marker ids (connected, heartbeat) remembered per session; an older one resumes from itself.
MARKERS: Final = 1_024
#: What a heartbeat's data says (the contract's example).
HEARTBEAT_TYPE: Final = "ping"


@dataclass(frozen=True, slots=True)
class Event:
    """One server-sent event; ``data`` is exactly the contract's data object of ``type``."""

    id: int
    type: str
    data: dict[str, Any]

    def encode(self) -> bytes:
        payload = json.dumps(self.data, separators=(",", ":"))
        return f"id: {self.id}\nevent: {self.type}\ndata: {payload}\n\n".encode()


@dataclass
class Channel:
    """One session's event log, the signal that wakes its streams, and its markers."""

    log: deque[Event] = field(default_factory=lambda: deque(maxlen=REPLAY_EVENTS))
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    markers: OrderedDict[int, int] = field(default_factory=OrderedDict)
    #: Set once the session is deleted: streams end after delivering ``session_deleted``.
    closed: bool = False

    def latest_id(self) -> int:
        return self.log[-1].id if self.log else 0


class EventHub:
    """Every session's channel and the id counter; ``emit`` appends, ``follow`` streams."""

    def __init__(self) -> None:
        self._ids = count(1)
        self._channels: dict[str, Channel] = {}

    def channel(self, session_id: str) -> Channel:
        return self._channels.setdefault(session_id, Channel())

    def next_id(self) -> int:
        return next(self._ids)

    def emit(self, session_id: str, kind: str, data: dict[str, Any]) -> Event:
        """Append an event of ``kind`` (``data`` without its ``type``, which is added) and wake the streams."""
        channel = self.channel(session_id)
        event = Event(self.next_id(), kind, {"type": kind, **data})
        channel.log.append(event)
        self._wake(channel)
        return event

    def close(self, session_id: str) -> None:
        """The session is gone: streams end once they have sent what is logged; the channel is forgotten."""
        channel = self._channels.pop(session_id, None)
        if channel is not None:
            channel.closed = True
            self._wake(channel)

    @staticmethod
    def _wake(channel: Channel) -> None:
        channel.changed.set()
        channel.changed = asyncio.Event()

    def resume_point(self, session_id: str, last_event_id: str | None) -> int:
        """The log position a stream starts after: the client's last id (a marker's position), else now."""
        channel = self.channel(session_id)
        if last_event_id is None or not last_event_id.strip().isdigit():
            return channel.latest_id()
        given = int(last_event_id.strip())
        return channel.markers.get(given, given)

    def _marker(self, channel: Channel, kind: str, data: dict[str, Any], position: int) -> Event:
        event = Event(self.next_id(), kind, data)
        channel.markers[event.id] = position
        while len(channel.markers) > MARKERS:
            channel.markers.popitem(last=False)
        return event

    async def follow(
        self, session_id: str, after: int, *, heartbeat_interval: float, drop_after: int | None = None
    ) -> AsyncIterator[bytes]:
        """``connected``, then what came after ``after``, then live events; heartbeats in the silences.

        ``drop_after`` cuts the connection after that many events (markers excluded), to make a client
        resume. A deleted session's stream ends after its ``session_deleted``.
        """
        channel = self.channel(session_id)
        yield self._marker(channel, "connected", {"sessionId": session_id}, after).encode()
        sent = 0
        while True:
            fresh = [event for event in channel.log if event.id > after]
            for event in fresh:
                if drop_after is not None and sent >= drop_after:
                    return
                yield event.encode()
                after, sent = event.id, sent + 1
            if fresh:
                continue
            if channel.closed:
                return
            try:
                await asyncio.wait_for(channel.changed.wait(), heartbeat_interval)
            except TimeoutError:
                yield self._marker(channel, "heartbeat", {"type": HEARTBEAT_TYPE}, after).encode()
