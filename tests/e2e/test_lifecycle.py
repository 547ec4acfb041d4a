"""Stopping cleanly: a signal lets the tool call in flight finish and the process exits 0; stdio ends on EOF.

Mix is a stand-in that holds its answer until the test releases it, so the call is certainly in
flight when the signal arrives.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

from tests.e2e.stalling_mix import stalling_mix
from tests.support import ServerProcess, clean_env, running_server, single_page, stop, text_of


async def refused(port: int, within: float = 10.0) -> bool:
    """Whether new connections to ``port`` are refused within ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except ConnectionRefusedError:
            return True
        await anyio.sleep(0.05)
    return False


async def exit_code(server: ServerProcess, within: float = 20.0) -> int:
    return await anyio.to_thread.run_sync(server.process.wait, within)


def client_for(server: ServerProcess, transport: str, mode: str) -> Client:
    streams = sse_client(server.url) if transport == "sse" else streamable_http_client(server.url)
    return Client(streams, mode=mode, read_timeout_seconds=30)


@pytest.mark.anyio
@pytest.mark.parametrize(("transport", "signum"), [("http", signal.SIGTERM), ("sse", signal.SIGINT)])
async def test_a_signal_lets_the_call_in_flight_finish(transport: str, signum: signal.Signals) -> None:
    results: list[Any] = []
    with (
        stalling_mix() as mix,
        running_server("--transport", transport, "--base-url", mix.url, "--max-retries", "0") as server,
    ):
        async with client_for(server, transport, "legacy") as client:
            await client.list_tools()  # the client checks results against the output schemas it listed

            async def call() -> None:
                results.append(await client.call_tool("list_sessions", {}))

            async with anyio.create_task_group() as tasks:
                tasks.start_soon(call)
                assert await anyio.to_thread.run_sync(mix.arrived.wait, 10), "the call never reached Mix"
                server.process.send_signal(signum)
                assert await refused(server.port), "the server kept accepting connections after the signal"
                assert server.process.poll() is None, "the server left before the call in flight finished"
                mix.release.set()
        assert results[0].structured_content == {"sessions": [], **single_page(0)}
        assert await exit_code(server) == 0
    assert f"{signum.name}: no new connections" in server.stderr
    assert "mix-mcp: stopped" in server.stderr
    assert "Traceback" not in server.stderr and "ERROR" not in server.stderr


@pytest.mark.anyio
@pytest.mark.parametrize("transport", ["http", "sse"])
async def test_a_call_outlasting_the_grace_period_is_stopped_with_a_clear_result(transport: str) -> None:
    results: list[Any] = []
    with (
        stalling_mix() as mix,
        running_server(
            "--transport", transport, "--base-url", mix.url, "--max-retries", "0", "--shutdown-grace", "1"
        ) as server,
    ):
        async with client_for(server, transport, "auto") as client:

            async def call() -> None:
                results.append(await client.call_tool("list_sessions", {}))

            async with anyio.create_task_group() as tasks:
                tasks.start_soon(call)
                assert await anyio.to_thread.run_sync(mix.arrived.wait, 10), "the call never reached Mix"
                signalled = time.monotonic()
                server.process.send_signal(signal.SIGTERM)
            code = await exit_code(server)
            waited = time.monotonic() - signalled
        assert not mix.release.is_set(), "Mix was still holding the call when the server left"
    assert code == 0
    assert results[0].is_error
    assert "list_sessions was stopped because this mix-mcp server is shutting down" in text_of(results[0])
    assert waited < 10, f"a 1 s grace period took {waited:.1f} s"  # generous: grace plus uvicorn's wind-down
    assert "grace period over; stopping 1 tool call(s) still in flight" in server.stderr
    assert "Traceback" not in server.stderr


def test_stdio_server_exits_0_on_stdin_eof(emulator_url: str) -> None:
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "eof", "version": "0"}},
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "mix_mcp", "serve", "--base-url", emulator_url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(),
    )
    try:
        out, err = process.communicate(json.dumps(initialize).encode() + b"\n", timeout=20)
    finally:
        stop(process)
    assert process.returncode == 0, err.decode()
    assert json.loads(out.splitlines()[0])["result"]["serverInfo"]["name"] == "mix-mcp"
    assert b"Traceback" not in err
