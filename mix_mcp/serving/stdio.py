"""stdio without worker threads, where every request read is answered before the process ends.

The SDK's ``stdio_server`` reads through a worker thread (which blocks Ctrl-C in a terminal until
Enter), drops lines it cannot parse without an answer, dies on a line over its limit, and at end of
input cancels the calls still running, so a client that wrote its requests and closed stdin loses
their results although Mix applied them. This transport instead:

* reads fd 0 on the event loop (pipes, sockets and terminals; a regular file or the null device is
  simply read), splits lines itself and screens each one (``jsonrpc_guard``): a line the server
  cannot take gets its JSON-RPC error answer, an oversized one too, and serving goes on;
* at end of input, and on the first SIGTERM or SIGINT, stops reading and waits until every request
  read has been answered (or cancelled by the client), at most ``drain_seconds``; a second signal
  stops at once;
* writes each answer straight to fd 1 (``_FrameWriter``), a large result a piece at a time as it
  is made (``streamed_results``); when the client has closed stdout, it says so in one log line
  and stops, since no answer can reach anyone.

As the SDK does, fd 0 and fd 1 are pointed at the null device and at stderr while serving, so a
stray ``print`` or a child process can never write into the protocol stream.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import stat
import sys
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from typing import Any, Final

import anyio
import anyio.lowlevel
import mcp_types
from anyio.streams.memory import MemoryObjectSendStream
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage

from mix_mcp.serving.jsonrpc_guard import OVERSIZE_PREFIX_BYTES, oversized, screen
from mix_mcp.serving.memory import release_soon
from mix_mcp.serving.streamed_results import response_pieces

logger = logging.getLogger("mix_mcp.stdio")

#: Longest protocol line accepted from the client (a 64 MiB tool argument is far beyond any limit here).
LINE_LIMIT: Final = 64 * 1024 * 1024
#: Bytes read from stdin at a time.
_READ_CHUNK: Final = 256 * 1024
#: Characters encoded and written at a time for large messages.
_WRITE_SLICE: Final = 1024 * 1024
_STOP_SIGNALS: Final = (signal.SIGTERM, signal.SIGINT)


class _Answers:
    """Requests read from the client and not yet answered, by id (a client may reuse an id)."""

    def __init__(self) -> None:
        self._open: Counter[str | int] = Counter()
        self._settled = anyio.Event()
        self._settled.set()

    def __len__(self) -> int:
        return sum(self._open.values())

    def read(self, message: mcp_types.JSONRPCMessage) -> None:
        if isinstance(message, mcp_types.JSONRPCRequest):
            self._open[message.id] += 1
            self._settled = anyio.Event() if self._settled.is_set() else self._settled
        elif isinstance(message, mcp_types.JSONRPCNotification) and message.method == "notifications/cancelled":
            # A cancelled request is never answered (the MCP rule), so it is not waited for.
            request_id = (message.params or {}).get("requestId")
            for key in (request_id, str(request_id)):
                if isinstance(key, str | int) and self._open[key]:
                    self._close(key)
                    break

    def written(self, message: mcp_types.JSONRPCMessage) -> None:
        if not isinstance(message, mcp_types.JSONRPCResponse | mcp_types.JSONRPCError):
            return
        if message.id is not None and self._open[message.id]:
            self._close(message.id)

    def _close(self, key: str | int) -> None:
        self._open[key] -= 1
        if self._open[key] <= 0:
            del self._open[key]
        if not self._open:
            self._settled.set()

    async def settled(self) -> None:
        await self._settled.wait()


class _Stop:
    """Why reading ended and whether to wait for answers: end of input, a signal, or stdout gone."""

    def __init__(self) -> None:
        self.requested = anyio.Event()
        self.now = anyio.Event()
        self.signals = 0

    def signal(self, sig: int) -> None:
        self.signals += 1
        if self.signals == 1:
            logger.warning("%s: finishing the calls in flight; send it again to stop now", signal.Signals(sig).name)
            self.requested.set()
        else:
            self.now.set()

    def output_gone(self) -> None:
        self.requested.set()
        self.now.set()


class _Sink:
    """Where answers go: an event-loop pipe when stdout is a pipe or socket, else plain writes (a terminal, a file)."""

    def __init__(self, writer: asyncio.StreamWriter | None, fd: int) -> None:
        self._writer = writer
        self._fd = fd

    async def write(self, data: memoryview | bytes) -> None:
        if self._writer is not None:
            self._writer.write(data)
            await self._writer.drain()
            return
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]

    async def close(self) -> None:
        if self._writer is not None:
            with suppress(Exception):
                await self._writer.drain()
            self._writer.close()


class _FrameWriter:
    """The server's outgoing messages, serialized straight to bytes and written whole and in order.

    Stands in for the SDK's write stream (``send``/``aclose``, an async context manager). pydantic
    writes the JSON bytes once, and a large message goes out a slice at a time, waiting for the pipe
    between slices, so a 40 MB result is not held three more times on its way out. Once stdout is
    gone, further messages are dropped: there is no one left to read them.
    """

    def __init__(self, sink: _Sink, answers: _Answers, stop: _Stop) -> None:
        self._sink = sink
        self._answers = answers
        self._stop = stop
        self._lock = anyio.Lock()
        self._closed = False
        self._gone = False

    async def send(self, item: SessionMessage, /) -> None:
        if self._closed:
            raise anyio.ClosedResourceError
        message = item.message
        pieces = response_pieces(message)
        if pieces is None:
            frame = type(message).__pydantic_serializer__.to_json(message, by_alias=True, exclude_unset=True)
            await self.write_line(memoryview(frame))
        else:
            await self.write_pieces(pieces)
            release_soon()
        self._answers.written(message)

    async def write_pieces(self, pieces: Iterator[bytes]) -> None:
        """A large message's line, made and written a slice at a time (``streamed_results``).

        Should making a piece fail once part of the line is out, the line is ended there: the
        client reads one line it cannot parse, and the error answer that follows (the caller's)
        starts on a line of its own instead of being glued to the broken one.
        """
        async with self._lock:
            if self._gone:
                return
            batch = bytearray()
            started = False
            try:
                for piece in pieces:
                    batch += piece
                    if len(batch) >= _WRITE_SLICE:
                        started = True
                        await self._sink.write(bytes(batch))
                        batch.clear()
                batch += b"\n"
                await self._sink.write(bytes(batch))
            except OSError as exc:
                self._output_gone(exc)
            except Exception:
                if started:
                    try:
                        await self._sink.write(b"\n")
                    except OSError as exc:
                        self._output_gone(exc)
                        return
                raise

    async def write_line(self, frame: memoryview | bytes) -> None:
        async with self._lock:
            if self._gone:
                return
            try:
                for start in range(0, len(frame), _WRITE_SLICE):
                    await self._sink.write(frame[start : start + _WRITE_SLICE])
                await self._sink.write(b"\n")
            except OSError as exc:
                self._output_gone(exc)

    def _output_gone(self, exc: OSError) -> None:
        """The client closed stdout: drop every later message and stop the server."""
        self._gone = True
        logger.warning("the MCP client closed stdout (%s); stopping", type(exc).__name__)
        self._stop.output_gone()

    async def aclose(self) -> None:
        self._closed = True

    async def __aenter__(self) -> _FrameWriter:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class _Source:
    """stdin read on the event loop when it can be watched (pipe, socket, terminal), else read directly."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        loop = asyncio.get_running_loop()
        try:
            loop.add_reader(fd, lambda: None)
        except (PermissionError, ValueError, OSError):
            self._watched = False  # a regular file or the null device: reads never wait
        else:
            loop.remove_reader(fd)
            self._watched = True

    async def read(self) -> bytes:
        while True:
            if self._watched:
                await self._readable()
            else:
                await anyio.lowlevel.checkpoint()
            try:
                return os.read(self._fd, _READ_CHUNK)
            except BlockingIOError:
                continue
            except OSError:  # a terminal hung up (EIO): the end of input
                return b""

    async def _readable(self) -> None:
        loop = asyncio.get_running_loop()
        ready = loop.create_future()

        def wake() -> None:
            if not ready.done():
                ready.set_result(None)

        loop.add_reader(self._fd, wake)
        try:
            await ready
        finally:
            loop.remove_reader(self._fd)


async def _lines(source: _Source) -> AsyncIterator[tuple[bytes, bool]]:
    """Each line of input without its newline, and whether it was cut for exceeding ``LINE_LIMIT``."""
    buffer = bytearray()
    skipping: bytes | None = None  # the start of an oversized line whose end is still to come
    while True:
        chunk = await source.read()
        if not chunk:
            if skipping is not None:
                yield skipping, True
            elif buffer:
                yield bytes(buffer), False
            return
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            if end < 0:
                break
            if skipping is not None:
                yield skipping, True
                skipping = None
            elif buffer:
                buffer += chunk[start:end]
                line = bytes(buffer)
                buffer.clear()
                if len(line) > LINE_LIMIT:
                    yield line[:OVERSIZE_PREFIX_BYTES], True
                else:
                    yield line, False
            else:
                yield chunk[start:end], end - start > LINE_LIMIT
            start = end + 1
        if skipping is None:
            buffer += chunk[start:]
            if len(buffer) > LINE_LIMIT:
                skipping = bytes(buffer[:OVERSIZE_PREFIX_BYTES])
                buffer.clear()


async def _read_client(
    source: _Source,
    inbox: MemoryObjectSendStream[SessionMessage | Exception],
    writer: _FrameWriter,
    answers: _Answers,
    stop: _Stop,
    drain_seconds: float,
) -> None:
    """Pass each line on (or answer it), then wait for the answers still owed before ending the input."""
    async with inbox:
        with anyio.CancelScope() as reading:

            async def end_on_stop() -> None:
                await stop.requested.wait()
                reading.cancel()

            async with anyio.create_task_group() as group:
                group.start_soon(end_on_stop)
                async for line, cut in _lines(source):
                    if cut:
                        await writer.write_line(oversized(line, LINE_LIMIT))
                        continue
                    verdict = screen(line)
                    if verdict.answer is not None:
                        await writer.write_line(verdict.answer)
                    elif verdict.message is not None:
                        answers.read(verdict.message)
                        await inbox.send(SessionMessage(verdict.message))
                group.cancel_scope.cancel()
        if len(answers) and not stop.now.is_set():
            logger.info("end of input: waiting up to %g s for %d answer(s)", drain_seconds, len(answers))
            with anyio.move_on_after(drain_seconds) as waited:
                async with anyio.create_task_group() as group:

                    async def end_on_force() -> None:
                        await stop.now.wait()
                        group.cancel_scope.cancel()

                    group.start_soon(end_on_force)
                    await answers.settled()
                    group.cancel_scope.cancel()
            if waited.cancelled_caught:
                logger.warning("stopping with %d call(s) unanswered after %g s", len(answers), drain_seconds)


def _is_stream(fd: int) -> bool:
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def _divert(fd: int, target: int) -> int:
    """Move the protocol stream off ``fd`` (pointing ``fd`` at ``target``); returns a private duplicate."""
    private = os.dup(fd)
    os.dup2(target, fd)
    return private


@asynccontextmanager
async def _signals(stop: _Stop) -> AsyncIterator[None]:
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    try:
        for sig in _STOP_SIGNALS:
            with suppress(ValueError, RuntimeError, NotImplementedError):
                loop.add_signal_handler(sig, stop.signal, sig)
                installed.append(sig)
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


@asynccontextmanager
async def _posix_stdio(drain_seconds: float) -> AsyncIterator[Any]:
    loop = asyncio.get_running_loop()
    sys.stdout.flush()
    devnull = os.open(os.devnull, os.O_RDONLY)
    saved_in = _divert(0, devnull)
    os.close(devnull)
    saved_out = _divert(1, 2)
    out_blocking = os.get_blocking(saved_out)
    try:
        stream_writer: asyncio.StreamWriter | None = None
        if _is_stream(saved_out):
            transport, protocol = await loop.connect_write_pipe(
                asyncio.streams.FlowControlMixin, os.fdopen(os.dup(saved_out), "wb", buffering=0)
            )
            stream_writer = asyncio.StreamWriter(transport, protocol, None, loop)
        sink = _Sink(stream_writer, saved_out)
        stop = _Stop()
        answers = _Answers()
        writer = _FrameWriter(sink, answers, stop)
        inbox, outbox = anyio.create_memory_object_stream[SessionMessage | Exception](0)
        try:
            async with _signals(stop), anyio.create_task_group() as group:
                group.start_soon(_read_client, _Source(saved_in), inbox, writer, answers, stop, drain_seconds)
                try:
                    yield outbox, writer
                finally:
                    group.cancel_scope.cancel()
        finally:
            await sink.close()
    finally:
        sys.stdout.flush()
        with suppress(OSError):
            os.set_blocking(saved_out, out_blocking)
        for fd, saved in ((0, saved_in), (1, saved_out)):
            os.dup2(saved, fd)
            os.close(saved)


def serve_stdio(drain_seconds: float = 60.0) -> AbstractAsyncContextManager[Any]:
    """The MCP stdio transport's (read, write) streams; at the end of input, answers owed wait ``drain_seconds``."""
    if sys.platform == "win32":  # pragma: no cover - the SDK's threaded transport, without these guarantees
        return stdio_server()
    return _posix_stdio(drain_seconds)
