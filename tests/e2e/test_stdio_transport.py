"""The stdio transport: event-loop pipes when launched by a client, plain reads and writes for files; stray output
never reaches the protocol stream."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from mix_mcp.serving.stdio import _is_stream
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
        assert _is_stream(read_end)
        assert _is_stream(write_end)
    finally:
        os.close(read_end)
        os.close(write_end)
    with open(tmp_path / "plain", "wb") as plain:
        assert not _is_stream(plain.fileno())


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


def test_files_on_stdin_and_stdout_are_served_too(tmp_path: Path) -> None:
    """A file cannot be watched by the event loop; it is read and written directly, and every request is answered."""
    requests = tmp_path / "requests.jsonl"
    lines = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18",
         "capabilities": {}, "clientInfo": {"name": "file", "version": "0"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "noisy", "arguments": {}}},
    ]  # fmt: skip
    requests.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    answers = tmp_path / "answers.jsonl"
    with requests.open("rb") as stdin, answers.open("wb") as stdout:
        done = subprocess.run(
            [sys.executable, "-c", NOISY_SERVER], stdin=stdin, stdout=stdout, stderr=subprocess.PIPE,
            env=clean_env(), timeout=60, check=False,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    written = [json.loads(line) for line in answers.read_text(encoding="utf-8").splitlines()]
    assert [answer["id"] for answer in written] == [1, 2]
    assert written[1]["result"]["content"][0]["text"] == "still fine"
