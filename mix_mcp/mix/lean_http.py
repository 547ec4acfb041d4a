"""Plain-HTTP GETs to Mix on kept-alive connections, with httptools' C parser: the cheap lane for reads.

Nearly every tool call is one small GET to Mix, and through httpx2 that GET cost about a third of the
server's CPU per call (its pool, h11's pure-Python parser, anyio streams and the request and
response models). This lane sends the same request (same target, same headers, gzip and deflate
accepted) over an ``asyncio.Protocol`` and parses the answer with httptools, the parser uvicorn
already uses: about a tenth of the cost.

It serves only what it can serve exactly like httpx2 would: GET over ``http://`` with no transport
injected and no progress reporting (``MixClient`` decides). Every failure is raised as the httpx2
exception the other lane raises for it, and an answer over the size cap, cut off or not decodable
as the errors below, so ``MixClient.send`` keeps one set of retry rules for both lanes.

A pooled connection Mix closed while it sat idle is noticed when the request gets no byte back, and
that request (a GET: repeating it is harmless) is sent once more on a new connection, as browsers do.
A call that is cancelled or times out mid-answer drops its connection: no answer is ever read by the
wrong request.
"""

from __future__ import annotations

import asyncio
import io
import zlib
from collections import deque
from dataclasses import dataclass, field
from typing import Final, cast

import httptools
import httpx2

#: An answer's status line and headers may not exceed this (h11, httpx2's parser, allows the same).
MAX_HEAD_BYTES: Final = 64 * 1024
#: Informational (1xx) answers skipped before the real one; more is a hostile upstream.
_MAX_INFORMATIONAL: Final = 8


class AnswerTooLarge(Exception):
    """The answer is larger than the caller's limit (``size``: declared, or read so far)."""

    def __init__(self, status: int, headers: dict[bytes, bytes], size: int) -> None:
        super().__init__(status, size)
        self.status = status
        self.headers = headers
        self.size = size


class AnswerCutOff(Exception):
    """The connection closed (or broke) part-way through the body."""

    def __init__(self, status: int, headers: dict[bytes, bytes], body: bytes, declared: int | None) -> None:
        super().__init__(status, len(body))
        self.status = status
        self.headers = headers
        self.body = body
        self.declared = declared


class AnswerNotDecodable(Exception):
    """The body does not decode under the content-encoding Mix declared."""

    def __init__(self, status: int, headers: dict[bytes, bytes]) -> None:
        super().__init__(status)
        self.status = status
        self.headers = headers


@dataclass(slots=True)
class LeanAnswer:
    """One answer read whole: status, headers (names lower-cased; a repeated header keeps its last value), body."""

    status: int
    headers: dict[bytes, bytes]
    body: bytes


class _Stop(Exception):
    """Raised inside a parser callback to stop parsing once the exchange has failed or ended."""


class _StaleConnection(Exception):
    """A reused connection closed before answering: send the request again on a new one."""


class _Stage:
    """Undoes one gzip or deflate coding; deflate is tried with a zlib header first, then raw, like httpx2."""

    def __init__(self, coding: str) -> None:
        self._deflate = coding == "deflate"
        self._first = True
        self._z = zlib.decompressobj(zlib.MAX_WBITS | 16 if coding == "gzip" else zlib.MAX_WBITS)

    def decompress(self, data: bytes, max_length: int) -> tuple[bytes, bool]:
        first, self._first = self._first, False
        try:
            out = self._z.decompress(data, max_length)
        except zlib.error:
            if not (self._deflate and first):
                raise
            self._z = zlib.decompressobj(-zlib.MAX_WBITS)
            out = self._z.decompress(data, max_length)
        return out, bool(self._z.unconsumed_tail)

    def flush(self) -> bytes:
        return self._z.flush()


class _Decoder:
    """The answer's codings undone in turn, never producing more than the caller's limit (no bomb fills memory)."""

    def __init__(self, codings: list[str]) -> None:
        self._stages = [_Stage(c) for c in reversed(codings)]

    def decode(self, data: bytes, room: int) -> tuple[bytes, bool]:
        """At most ``room + 1`` decoded bytes, and whether the limit is passed."""
        over = False
        for stage in self._stages:
            data, more = stage.decompress(data, room + 1)
            over = over or more
        return data, over or len(data) > room

    def flush(self) -> bytes:
        data = b""
        for stage in self._stages:
            data = (stage.decompress(data, 0)[0] if data else b"") + stage.flush()
        return data


def content_codings(value: bytes | None) -> list[str]:
    """The codings to undo, read as httpx2 reads Content-Encoding: codings it does not know pass through untouched."""
    if value is None:
        return []
    codings = [c.strip().lower() for c in value.decode("latin-1").split(",")]
    return [c for c in codings if c in ("gzip", "deflate")]


class _Body:
    """A body written into one buffer as it arrives, handed over as ``bytes`` without a final copy.

    ``io.BytesIO`` keeps its contents in a ``bytes`` object that ``getvalue`` shares, so a 20 MB
    answer is held once while it arrives and once when parsed (the JSON parser reads ``bytes`` in
    place), never as its pieces and their join side by side; an answer that came in one piece is
    that piece itself.
    """

    __slots__ = ("_buffer", "_first", "_size")

    def __init__(self) -> None:
        self._first = b""
        self._buffer: io.BytesIO | None = None
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def append(self, piece: bytes) -> None:
        if not piece:
            return
        self._size += len(piece)
        if self._buffer is None and not self._first:
            self._first = piece
            return
        if self._buffer is None:
            self._buffer = io.BytesIO()
            self._buffer.write(self._first)
            self._first = b""
        self._buffer.write(piece)

    def joined(self) -> bytes:
        """The whole body (the buffer keeps sharing it: it is held once)."""
        return self._first if self._buffer is None else self._buffer.getvalue()


class _Exchange:
    """What one request is waiting for, filled in by the parser's callbacks."""

    __slots__ = (
        "body",
        "complete",
        "cut_error",
        "declared",
        "decoder",
        "failure",
        "head_bytes",
        "headers",
        "headers_done",
        "informational",
        "limit",
        "received",
        "status",
        "until_close",
        "waiter",
    )

    def __init__(self, waiter: asyncio.Future[None], limit: int) -> None:
        self.waiter = waiter
        self.limit = limit
        self.status = 0
        self.headers: dict[bytes, bytes] = {}
        self.headers_done = False
        self.head_bytes = 0
        self.informational = 0
        self.body = _Body()
        self.received = 0
        self.declared: int | None = None
        self.decoder: _Decoder | None = None
        self.until_close = False
        self.complete = False
        self.failure: BaseException | None = None
        self.cut_error: BaseException | None = None


class _Connection(asyncio.Protocol):
    """One kept-alive HTTP/1.1 connection to Mix; at most one request on it at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop, read_timeout: float) -> None:
        self._loop = loop
        self._read_timeout = read_timeout
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.reusable = True
        self.used = False
        self.idle_since = loop.time()
        self._parser = httptools.HttpResponseParser(self)
        self._exchange: _Exchange | None = None
        self._last_activity = 0.0
        self._timer: asyncio.TimerHandle | None = None

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass asyncio's

    def data_received(self, data: bytes) -> None:
        exchange = self._exchange
        if exchange is None or exchange.complete:
            # Bytes nobody asked for: the connection cannot be trusted with the next request.
            self._drop()
            return
        self._last_activity = self._loop.time()
        if not exchange.headers_done:
            exchange.head_bytes += len(data)
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as error:
            # A callback that stopped the parse has settled the exchange already (HttpParserCallbackError).
            self._fail(exchange, httpx2.RemoteProtocolError(f"malformed answer: {error}"))
            return
        if not exchange.headers_done and exchange.head_bytes > MAX_HEAD_BYTES:
            self._fail(exchange, httpx2.RemoteProtocolError("the answer's head is larger than 64 KiB"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.reusable = False
        exchange = self._exchange
        if exchange is None or exchange.waiter.done():
            return
        if exchange.headers_done and exchange.until_close and exchange.failure is None:
            self._finish_body(exchange)
            return
        if exchange.headers_done:
            cut = AnswerCutOff(exchange.status, exchange.headers, exchange.body.joined(), exchange.declared)
            self._settle(exchange, cut)
        elif exchange.head_bytes == 0 and self.used:
            self._settle(exchange, _StaleConnection())
        elif exc is not None:
            self._settle(exchange, httpx2.ReadError(str(exc) or "the connection was reset"))
        else:
            self._settle(exchange, httpx2.RemoteProtocolError("Server disconnected without sending a response."))

    # httptools callbacks

    def _current(self) -> _Exchange:
        """The exchange a parser callback belongs to; a second answer to one request stops the parse."""
        exchange = self._exchange
        if exchange is None or exchange.complete:
            self.reusable = False
            raise _Stop
        return exchange

    def on_header(self, name: bytes, value: bytes) -> None:
        self._current().headers[name.lower()] = value

    def on_headers_complete(self) -> None:
        exchange = self._current()
        status = self._parser.get_status_code()
        if 100 <= status < 200:
            return  # an interim answer: its message completes next, then the real head follows
        exchange.status = status
        exchange.headers_done = True
        headers = exchange.headers
        length = headers.get(b"content-length")
        if length is not None and length.strip().isdigit():
            exchange.declared = int(length)
            if exchange.declared > exchange.limit:
                self._fail(exchange, AnswerTooLarge(status, headers, exchange.declared))
                raise _Stop
        chunked = b"chunked" in headers.get(b"transfer-encoding", b"").lower()
        exchange.until_close = length is None and not chunked and status not in (204, 304)
        if not self._parser.should_keep_alive():
            self.reusable = False
        codings = content_codings(headers.get(b"content-encoding"))
        if codings:
            exchange.decoder = _Decoder(codings)

    def on_body(self, body: bytes) -> None:
        exchange = self._current()
        if not exchange.headers_done:
            return  # an interim answer's body (none is allowed; ignored like its head)
        exchange.received += len(body)
        if exchange.decoder is not None:
            try:
                body, over = exchange.decoder.decode(body, exchange.limit - len(exchange.body))
            except zlib.error:
                self._fail(exchange, AnswerNotDecodable(exchange.status, exchange.headers))
                raise _Stop from None
            if over:
                self._fail(exchange, AnswerTooLarge(exchange.status, exchange.headers, exchange.limit + 1))
                raise _Stop
        exchange.body.append(body)
        if len(exchange.body) > exchange.limit:
            self._fail(exchange, AnswerTooLarge(exchange.status, exchange.headers, len(exchange.body)))
            raise _Stop

    def on_message_complete(self) -> None:
        exchange = self._current()
        if not exchange.headers_done:
            exchange.informational += 1
            exchange.headers = {}
            if exchange.informational > _MAX_INFORMATIONAL:
                self._fail(exchange, httpx2.RemoteProtocolError("too many informational answers"))
                raise _Stop
            return
        self._finish_body(exchange)

    # the exchange

    async def request(self, head: bytes, limit: int) -> LeanAnswer:
        assert self.transport is not None
        waiter: asyncio.Future[None] = self._loop.create_future()
        exchange = _Exchange(waiter, limit)
        self._exchange = exchange
        self._last_activity = self._loop.time()
        self._timer = self._loop.call_later(self._read_timeout, self._check_timeout)
        self.transport.write(head)
        try:
            await waiter
        except BaseException:
            # Cancelled (the call's deadline, the client left): the answer may still be on its way.
            self._drop()
            raise
        finally:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        self.used = True
        self.idle_since = self._loop.time()
        if exchange.failure is not None:
            self._drop()
            raise exchange.failure
        self._exchange = None
        if not self.reusable:
            self._drop()
        return LeanAnswer(exchange.status, exchange.headers, exchange.body.joined())

    def _finish_body(self, exchange: _Exchange) -> None:
        if exchange.decoder is not None:
            try:
                rest = exchange.decoder.flush()
            except zlib.error:
                self._fail(exchange, AnswerNotDecodable(exchange.status, exchange.headers))
                return
            exchange.body.append(rest)
            if len(exchange.body) > exchange.limit:
                self._fail(exchange, AnswerTooLarge(exchange.status, exchange.headers, len(exchange.body)))
                return
        exchange.complete = True
        self._settle(exchange, None)

    def _check_timeout(self) -> None:
        exchange = self._exchange
        if exchange is None or exchange.waiter.done():
            return
        quiet = self._loop.time() - self._last_activity
        if quiet >= self._read_timeout:
            self._timer = None
            self._fail(exchange, httpx2.ReadTimeout("no answer within the read timeout"))
            return
        self._timer = self._loop.call_later(self._read_timeout - quiet, self._check_timeout)

    def _fail(self, exchange: _Exchange, failure: BaseException) -> None:
        self.reusable = False
        self._settle(exchange, failure)

    @staticmethod
    def _settle(exchange: _Exchange, failure: BaseException | None) -> None:
        if exchange.waiter.done():
            return
        exchange.failure = failure
        exchange.waiter.set_result(None)

    def _drop(self) -> None:
        self.reusable = False
        if not self.closed and self.transport is not None:
            self.closed = True
            self.transport.abort()


@dataclass(slots=True)
class LeanPool:
    """Kept-alive connections to one ``host:port``; see the module's docstring for when it is used."""

    host: str
    port: int
    connect_timeout: float
    read_timeout: float
    keepalive_expiry: float
    max_connections: int = 100
    max_idle: int = 20
    _idle: deque[_Connection] = field(default_factory=deque)
    _slots: asyncio.Semaphore | None = None
    _closed: bool = False

    async def get(self, head: bytes, limit: int) -> LeanAnswer:
        """Send one request head (``head``: the complete request) and read its answer, at most ``limit`` bytes."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_connections)
        async with self._slots:
            connection = self._reuse()
            if connection is not None:
                try:
                    return await self._exchange(connection, head, limit)
                except _StaleConnection:
                    pass  # closed by Mix while idle: once more on a new connection
            connection = await self._connect()
            try:
                return await self._exchange(connection, head, limit)
            except _StaleConnection:
                raise httpx2.RemoteProtocolError("Server disconnected without sending a response.") from None

    async def _exchange(self, connection: _Connection, head: bytes, limit: int) -> LeanAnswer:
        answer = await connection.request(head, limit)
        if connection.reusable and not self._closed and len(self._idle) < self.max_idle:
            self._idle.append(connection)
        elif not connection.closed:
            connection._drop()
        return answer

    def _reuse(self) -> _Connection | None:
        loop_time = asyncio.get_running_loop().time()
        while self._idle:
            connection = self._idle.pop()
            if not connection.closed and loop_time - connection.idle_since < self.keepalive_expiry:
                return connection
            connection._drop()
        return None

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        connection = _Connection(loop, self.read_timeout)
        try:
            async with asyncio.timeout(self.connect_timeout):
                transport, _ = await loop.create_connection(lambda: connection, self.host, self.port)
        except TimeoutError:
            connection._drop()
            raise httpx2.ConnectTimeout("connecting timed out") from None
        except OSError as error:
            raise httpx2.ConnectError(str(error) or type(error).__name__) from error
        # uvloop may call ``connection_made`` only after ``create_connection`` has returned.
        connection.transport = transport
        return connection

    def close(self) -> None:
        """Close the idle connections; one in use closes when its request ends."""
        self._closed = True
        while self._idle:
            self._idle.pop()._drop()
