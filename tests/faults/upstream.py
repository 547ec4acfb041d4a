"""A scripted, fault-injecting HTTP/1.1 upstream on loopback, standing in for Mix in the fault and fuzz suites.

It is a small asyncio server in its own thread (so sync tests, async tests and ``mix-mcp serve``
subprocesses can all use it) that parses requests itself: what it records is exactly what came over
the wire, raw request target included, and what it sends is exactly what a test scripted, down to
a reset, a stall or a body cut short. Each request takes the next action from a queue; when the
queue is empty the ``fallback`` answers (a distinctive 418 by default, or ``Forward`` to an
emulator, which makes it a recording proxy). asyncio sets ``TCP_NODELAY`` on accepted sockets; it
is set again here explicitly, because stall and reset tests depend on small writes leaving at once.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import http
import json
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import anyio
import httpx2

MAX_HEAD_BYTES = 1 << 20
_HOP_BY_HOP = frozenset({"host", "content-length", "connection", "transfer-encoding", "accept-encoding", "keep-alive"})


@dataclass
class Recorded:
    """One request as it arrived, and what became of it."""

    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes
    received_at: float
    #: Which TCP connection carried it (numbered from 1 in order of acceptance): shows keep-alive reuse.
    connection: int = 0
    action: str = ""
    #: Set when the client closed the connection while this request was being stalled.
    closed_by_client: bool = False

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((value for key, value in self.headers if key.lower() == lowered), None)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Exchange:
    """What an action works with: the connection's streams, the request and the upstream."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    request: Recorded
    upstream: FaultUpstream


class Action:
    """What the upstream does with one request. ``apply`` returns whether the connection stays open."""

    async def apply(self, exchange: Exchange) -> bool:
        raise NotImplementedError

    @property
    def name(self) -> str:
        return type(self).__name__


def _head(status: int, headers: Iterable[tuple[str, str]]) -> bytes:
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    lines = [f"HTTP/1.1 {status} {reason}", *(f"{k}: {v}" for k, v in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


@dataclass
class Respond(Action):
    """A complete, well-framed answer (whatever its body says)."""

    status: int = 200
    body: bytes = b""
    content_type: str | None = "application/json"
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def json(cls, status: int, data: Any, headers: tuple[tuple[str, str], ...] = ()) -> Respond:
        return cls(status, json.dumps(data).encode(), "application/json", headers)

    @classmethod
    def envelope(
        cls, status: int, message: str, kind: str = "internal_error", headers: tuple[tuple[str, str], ...] = ()
    ) -> Respond:
        return cls.json(status, {"error": {"code": status, "message": message, "type": kind}}, headers)

    @classmethod
    def html(cls, status: int, text: str) -> Respond:
        return cls(status, text.encode(), "text/html; charset=utf-8")

    async def apply(self, exchange: Exchange) -> bool:
        headers = [("Content-Length", str(len(self.body))), *self.headers]
        if self.content_type is not None:
            headers.insert(0, ("Content-Type", self.content_type))
        exchange.writer.write(_head(self.status, headers) + self.body)
        await exchange.writer.drain()
        return True

    @property
    def name(self) -> str:
        return f"Respond({self.status})"


@dataclass
class Reset(Action):
    """Abort the connection with a TCP RST instead of answering."""

    async def apply(self, exchange: Exchange) -> bool:
        sock = exchange.writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        exchange.writer.transport.abort()
        return False


@dataclass
class Stall(Action):
    """Say nothing for ``seconds`` (noticing when the client gives up and closes), then ``then`` or hang up."""

    seconds: float
    then: Action | None = None

    async def apply(self, exchange: Exchange) -> bool:
        deadline = time.monotonic() + self.seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                data = await asyncio.wait_for(exchange.reader.read(1), left)
            except TimeoutError:
                break
            except ConnectionError:
                data = b""
            if not data:
                exchange.request.closed_by_client = True
                return False
        if self.then is None:
            return False
        return await self.then.apply(exchange)


@dataclass
class Truncate(Action):
    """Announce ``announced`` bytes, send ``body`` (fewer), then close: a body cut off mid-way."""

    status: int
    body: bytes
    announced: int
    content_type: str = "application/json"

    async def apply(self, exchange: Exchange) -> bool:
        head = _head(self.status, [("Content-Type", self.content_type), ("Content-Length", str(self.announced))])
        exchange.writer.write(head + self.body)
        await exchange.writer.drain()
        return False


@dataclass
class Oversized(Action):
    """A 200 JSON array of ``size`` bytes, announced by Content-Length or streamed chunked, sent until refused."""

    size: int
    chunked: bool = True

    async def apply(self, exchange: Exchange) -> bool:
        writer = exchange.writer
        framing = ("Transfer-Encoding", "chunked") if self.chunked else ("Content-Length", str(self.size))
        writer.write(_head(200, [("Content-Type", "application/json"), framing]))
        piece = b'"' + b"x" * 65_000 + b'",'
        sent = 0
        try:
            while sent < self.size:
                chunk = piece[: self.size - sent]
                writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if self.chunked else chunk)
                await writer.drain()
                sent += len(chunk)
            if self.chunked:
                writer.write(b"0\r\n\r\n")
                await writer.drain()
        except ConnectionError:
            pass
        return False


@dataclass
class Echo(Action):
    """A hostile upstream that sends the request's headers back: in the body and in response headers.

    ``style`` is ``envelope`` (in Mix's error message), ``html`` (an error page), ``base64`` (the
    header block base64-encoded in the message, as a debug page might), or ``headers`` (``status``
    with the JSON ``data`` as body, the echo only in response headers).
    """

    status: int = 500
    style: str = "envelope"
    data: Any = None

    async def apply(self, exchange: Exchange) -> bool:
        request = exchange.request
        block = "\n".join(f"{k}: {v}" for k, v in request.headers)
        echoed = [(f"X-Echo-{k}", v) for k, v in request.headers if k.lower() not in _HOP_BY_HOP]
        authorization = request.header("authorization") or ""
        extra = (("Set-Cookie", f"token={authorization}"), *echoed)
        if self.style == "html":
            action: Respond = Respond(self.status, f"<html><pre>{block}</pre></html>".encode(), "text/html", extra)
        elif self.style == "headers":
            action = Respond.json(self.status, self.data, extra)
        else:
            text = base64.b64encode(block.encode()).decode() if self.style == "base64" else block
            action = Respond.envelope(self.status, f"request was: {text}", "internal_error", extra)
            action.content_type = f"application/json; echo={authorization.replace(' ', '_')}"
        return await action.apply(exchange)


@dataclass
class Forward(Action):
    """Pass the request on to ``base_url`` (the emulator) and relay its answer: a recording proxy."""

    base_url: str

    async def apply(self, exchange: Exchange) -> bool:
        request = exchange.request
        url = httpx2.URL(self.base_url).copy_with(raw_path=request.target.encode("ascii"))
        headers = [(k, v) for k, v in request.headers if k.lower() not in _HOP_BY_HOP]
        client = exchange.upstream.forwarding_client()
        response = await client.request(request.method, url, headers=headers, content=request.body)
        relayed = tuple((k, v) for k, v in response.headers.items() if k.lower() in ("retry-after",))
        answer = Respond(response.status_code, response.content, response.headers.get("content-type"), relayed)
        return await answer.apply(exchange)


UNSCRIPTED = Respond.envelope(418, "the fault upstream had no scripted answer for this request", "bad_request")


class FaultUpstream:
    """The server: ``with FaultUpstream() as upstream: upstream.push(Respond.json(200, [])) ...``."""

    def __init__(self, fallback: Action = UNSCRIPTED, idle_close: float | None = None) -> None:
        self.fallback = fallback
        #: Close a kept-alive connection that stays idle this long between requests, as many servers do.
        self.idle_close = idle_close
        self.requests: list[Recorded] = []
        self._queue: deque[Action] = deque()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._stopping: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._client: httpx2.AsyncClient | None = None
        self._connections = 0
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # Scripting and inspection (any thread).

    def push(self, *actions: Action) -> None:
        with self._lock:
            self._queue.extend(actions)

    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def since(self, start: int) -> list[Recorded]:
        with self._lock:
            return list(self.requests[start:])

    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    def reset_log(self) -> None:
        with self._lock:
            self.requests.clear()
            self._queue.clear()

    async def until(self, predicate: Callable[[FaultUpstream], bool], within: float = 10.0) -> bool:
        """Poll ``predicate`` (from a test's event loop) until true or ``within`` seconds; returns its last value."""
        with anyio.move_on_after(within):
            # The log is written by the upstream's own thread and loop: polling is the simple bridge.
            while not predicate(self):  # noqa: ASYNC110
                await anyio.sleep(0.01)
        return predicate(self)

    # Lifecycle.

    def __enter__(self) -> FaultUpstream:
        self._thread = threading.Thread(target=self._run, name="fault-upstream", daemon=True)
        self._thread.start()
        if not self._ready.wait(10) or self._error is not None:
            self.stop()
            raise RuntimeError("the fault upstream did not start") from self._error
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            self._thread.join(10)
            assert not self._thread.is_alive(), "the fault upstream thread did not stop"
            self._thread = None

    def pause(self) -> None:
        """Stop listening (connections are refused) while keeping the port and the log."""
        self._call(self._close_listener())

    def resume(self) -> None:
        self._call(self._listen())

    def forwarding_client(self) -> httpx2.AsyncClient:
        if self._client is None:
            self._client = httpx2.AsyncClient(timeout=30, trust_env=False)
        return self._client

    def _call(self, coroutine: Any) -> None:
        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        await self._listen()
        self._ready.set()
        try:
            await self._stopping.wait()
        finally:
            await self._close_listener()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            if self._client is not None:
                await self._client.aclose()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._serve_connection, "127.0.0.1", self.port, reuse_address=True, limit=MAX_HEAD_BYTES
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close_listener(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    def _next_action(self) -> Action:
        with self._lock:
            return self._queue.popleft() if self._queue else self.fallback

    # One connection: requests in turn, each answered by the next action.

    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._connections += 1
        connection = self._connections
        try:
            while True:
                try:
                    request = await asyncio.wait_for(_read_request(reader), self.idle_close)
                except TimeoutError:
                    break
                if request is None:
                    break
                request.connection = connection
                action = self._next_action()
                request.action = action.name
                with self._lock:
                    self.requests.append(request)
                if not await action.apply(Exchange(reader, writer, request, self)):
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass
        except asyncio.CancelledError:
            # Only ``stop`` cancels a connection; end quietly rather than as a "failed" handler task.
            writer.transport.abort()
        finally:
            if not writer.transport.is_closing():
                writer.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await writer.wait_closed()
            self._tasks.discard(task)


async def _read_request(reader: asyncio.StreamReader) -> Recorded | None:
    """Read one request; ``None`` when the client closed the connection between requests."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise
        return None
    received_at = time.monotonic()
    lines = head.decode("latin-1").split("\r\n")
    method, target, _version = lines[0].split(" ", 2)
    headers = [(k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in lines[1:] if line)]
    lookup = {k.lower(): v for k, v in headers}
    if lookup.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while size := int((await reader.readline()).split(b";")[0].strip() or b"0", 16):
            body += (await reader.readexactly(size + 2))[:-2]
        await reader.readline()
    else:
        body = await reader.readexactly(int(lookup.get("content-length", "0")))
    return Recorded(method, target, headers, body, received_at)
