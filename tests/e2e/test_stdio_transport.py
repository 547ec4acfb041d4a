"""The stdio transport: event-loop pipes when launched by a client, the SDK's threads otherwise; stray output never
reaches the protocol stream."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from mix_mcp.serving.stdio import _is_pipe
from tests.support import clean_env, text_of

NOISY_SERVER = """
import os, sys
import anyio
import mcp_types as types
from mcp.server import Server
from mix_mcp.serving.stdio import serve_stdio

async def list_tools(ctx, params):
    return types.ListToolsResult(tools=[types.Tool(name="noisy", input_schema={"type": "object"})])

async def call_tool(ctx, params):
    print("stray print from a tool")
    sys.stdout.flush()
    os.write(1, b"stray write on fd 1\\n")
    return types.CallToolResult(content=[types.TextContent(text="still fine")])

server = Server("noisy", on_list_tools=list_tools, on_call_tool=call_tool)

async def main():
    async with serve_stdio() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())

anyio.run(main)
"""


def test_pipes_are_recognised_and_files_are_not(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    try:
        assert _is_pipe(read_end)
        assert _is_pipe(write_end)
    finally:
        os.close(read_end)
        os.close(write_end)
    with open(tmp_path / "plain", "wb") as plain:
        assert not _is_pipe(plain.fileno())


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_stray_output_goes_to_stderr_not_into_the_protocol(mode: str) -> None:
    params = StdioServerParameters(command=sys.executable, args=["-c", NOISY_SERVER], env=clean_env())
    with tempfile.TemporaryFile("w+") as errlog:
        async with Client(stdio_client(params, errlog=errlog), mode=mode, read_timeout_seconds=30) as client:
            for _ in range(3):
                result = await client.call_tool("noisy", {})
                assert not result.is_error
                assert text_of(result) == "still fine"
        errlog.seek(0)
        stderr = errlog.read()
    assert "stray print from a tool" in stderr
    assert "stray write on fd 1" in stderr


def test_anything_but_pipes_gets_the_sdk_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    """A file or a terminal cannot be watched by the event loop; the SDK's threaded transport serves it."""
    from mix_mcp.serving import stdio

    monkeypatch.setattr(stdio, "_is_pipe", lambda fd: False)
    assert getattr(stdio.serve_stdio(), "func", None) is stdio.stdio_server.__wrapped__  # type: ignore[attr-defined]
    monkeypatch.setattr(stdio, "_is_pipe", lambda fd: True)
    assert getattr(stdio.serve_stdio(), "func", None) is stdio._pipe_stdio.__wrapped__  # type: ignore[attr-defined]
