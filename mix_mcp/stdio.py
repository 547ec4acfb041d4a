"""stdio without worker threads: the SDK's stdio transport, fed by event-loop pipes.

The SDK's ``stdio_server`` reads and writes through ``anyio.wrap_file``, which sends every line
read, every write and every flush to a worker thread: three thread hops and a GIL hand-over per
message, a visible share of a tool call's cost. When stdin and stdout are pipes (how every MCP
client launches a server), the event loop can watch them directly; the SDK's transport then runs
unchanged on top of these two small adapters. Anything else (a file, a terminal on some systems,
Windows) gets the SDK's own threaded path.

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

from mcp.server.stdio import stdio_server

#: Longest protocol line accepted from the client (a 64 MiB tool argument is far beyond any limit here).
_LINE_LIMIT = 64 * 1024 * 1024


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


class _PipeWriter:
    """``await stdout.write(text)`` / ``await stdout.flush()`` over an event-loop stream writer."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer

    async def write(self, text: str) -> None:
        self._writer.write(text.encode("utf-8"))

    async def flush(self) -> None:
        await self._writer.drain()


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
            async with stdio_server(_PipeLines(reader), _PipeWriter(writer)) as streams:  # type: ignore[arg-type]
                yield streams
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
