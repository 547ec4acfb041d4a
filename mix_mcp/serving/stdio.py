"""stdio without worker threads: the SDK's stdio reader fed by an event-loop pipe, and a direct frame writer.

The SDK's ``stdio_server`` reads and writes through ``anyio.wrap_file``, which sends every line
read, every write and every flush to a worker thread: three thread hops and a GIL hand-over per
message, a visible share of a tool call's cost. When stdin and stdout are pipes (how every MCP
client launches a server), the event loop can watch them directly: the SDK's reader runs on an
event-loop stream, and outgoing messages are written by ``_FrameWriter``. Anything else (a file, a
terminal on some systems, Windows) gets the SDK's own threaded path.

As the SDK does, fd 0 and fd 1 are pointed at the null device and at stderr while serving, so a
stray ``print`` or a child process can never write into the protocol stream.
"""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from typing import Any

import anyio
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage

#: Longest protocol line accepted from the client (a 64 MiB tool argument is far beyond any limit here).
_LINE_LIMIT = 64 * 1024 * 1024
#: Characters encoded and written at a time for large messages.
_WRITE_SLICE = 1024 * 1024


class _PipeLines:
    """``async for line in stdin`` over an event-loop stream reader."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader

    def __aiter__(self) -> _PipeLines:
        return self

    async def __anext__(self) -> str:
        line = await self._reader.readline()
        if not line:
            raise StopAsyncIteration
        return line.decode("utf-8", errors="replace")


class _FrameWriter:
    """The server's outgoing messages, serialized straight to bytes and written to the pipe whole and in order.

    Stands in for the SDK's write stream (``send``/``aclose``, an async context manager). The SDK's
    writer dumps each message to a string, appends a newline (a copy) and encodes it (another copy);
    here pydantic writes the JSON bytes once, and a large message goes out a slice at a time, waiting
    for the pipe between slices, so a 40 MB result is not held three more times on its way out.
    """

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self._lock = anyio.Lock()
        self._closed = False

    async def send(self, item: SessionMessage, /) -> None:
        if self._closed:
            raise anyio.ClosedResourceError
        message = item.message
        frame = memoryview(type(message).__pydantic_serializer__.to_json(message, by_alias=True, exclude_unset=True))
        async with self._lock:
            for start in range(0, len(frame), _WRITE_SLICE):
                self._writer.write(frame[start : start + _WRITE_SLICE])
                if len(frame) > _WRITE_SLICE:
                    await self._writer.drain()
            self._writer.write(b"\n")
            await self._writer.drain()

    async def aclose(self) -> None:
        self._closed = True

    async def __aenter__(self) -> _FrameWriter:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class _Unused:
    """The SDK transport's own stdout: never written to, since ``_FrameWriter`` sends every message."""

    async def write(self, text: str) -> None:
        raise RuntimeError("mix-mcp writes stdio frames itself")

    async def flush(self) -> None:
        return None


def _is_pipe(fd: int) -> bool:
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
async def _pipe_stdio() -> AsyncIterator[Any]:
    loop = asyncio.get_running_loop()
    sys.stdout.flush()
    devnull = os.open(os.devnull, os.O_RDONLY)
    saved_in = _divert(0, devnull)
    os.close(devnull)
    saved_out = _divert(1, 2)
    try:
        reader = asyncio.StreamReader(limit=_LINE_LIMIT)
        read_transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(os.dup(saved_in), "rb", buffering=0)
        )
        write_transport, write_protocol = await loop.connect_write_pipe(
            asyncio.streams.FlowControlMixin, os.fdopen(os.dup(saved_out), "wb", buffering=0)
        )
        writer = asyncio.StreamWriter(write_transport, write_protocol, None, loop)
        try:
            async with stdio_server(_PipeLines(reader), _Unused()) as (read_stream, unused_write):  # type: ignore[arg-type]
                try:
                    yield read_stream, _FrameWriter(writer)
                finally:
                    await unused_write.aclose()  # ends the SDK's idle writer task
        finally:
            with suppress(Exception):
                await writer.drain()
            write_transport.close()
            read_transport.close()
    finally:
        sys.stdout.flush()
        for fd, saved in ((0, saved_in), (1, saved_out)):
            os.dup2(saved, fd)
            os.close(saved)


def serve_stdio() -> AbstractAsyncContextManager[Any]:
    """The MCP stdio transport's (read, write) streams: event-loop pipes when possible, else the SDK's."""
    if sys.platform != "win32" and _is_pipe(0) and _is_pipe(1):
        return _pipe_stdio()
    return stdio_server()
