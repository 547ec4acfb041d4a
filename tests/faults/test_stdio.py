"""The real process: `python -m mix_mcp serve` over stdio against the fault upstream.

Cancellation (both protocol generations), a retried fault end to end, and the logging contract:
stdout carries nothing but JSON-RPC even at DEBUG, and stderr has one ``event=tool_call`` line per call.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.streams.buffered import BufferedByteReceiveStream
from mcp_types.version import LATEST_HANDSHAKE_VERSION

from tests.faults.upstream import FaultUpstream, Respond, Stall
from tests.support import PROTOCOL_MODES, clean_env, single_page, stdio_client_for, text_of
from tests.unit.fakes import SESSION, TRANSCRIPT


def _log_lines(path: Path, event: str) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if f"event={event} " in line]


@pytest.mark.anyio
@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_a_cancelled_call_aborts_its_request_and_the_next_call_succeeds(
    upstream: FaultUpstream, mode: str, tmp_path: Path
) -> None:
    log = tmp_path / "stderr.log"
    upstream.push(Stall(60))
    with log.open("w", encoding="utf-8") as errlog:
        async with stdio_client_for(
            "--base-url", upstream.url, "--read-timeout", "60", "--timeout", "120", "--log-level", "INFO",
            mode=mode, errlog=errlog,
        ) as client:  # fmt: skip
            async with anyio.create_task_group() as group:
                group.start_soon(client.call_tool, "list_sessions", {})
                assert await upstream.until(lambda u: u.count() == 1), "the call never reached the upstream"
                group.cancel_scope.cancel()
            # The client sent notifications/cancelled; the server must drop the HTTP request, closing its connection.
            assert await upstream.until(lambda u: u.requests[0].closed_by_client, within=15)

            upstream.push(Respond.json(200, [SESSION]))
            after = await client.call_tool("list_sessions", {})
            assert not after.is_error, text_of(after)
            assert after.structured_content == {"sessions": [SESSION], **single_page(1)}
    assert upstream.count() == 2
    calls = _log_lines(log, "tool_call")
    assert any("tool=list_sessions outcome=cancelled" in line for line in calls), calls
    assert any("tool=list_sessions outcome=ok status=200 attempts=1" in line for line in calls), calls


@pytest.mark.anyio
async def test_a_retried_fault_end_to_end_logs_the_retry_and_the_call(upstream: FaultUpstream, tmp_path: Path) -> None:
    log = tmp_path / "stderr.log"
    upstream.push(Respond.envelope(500, "hiccup"), Respond.json(200, [SESSION]))
    with log.open("w", encoding="utf-8") as errlog:
        async with stdio_client_for(
            "--base-url", upstream.url, mode="auto", errlog=errlog, MIX_MCP_LOG_LEVEL="INFO"
        ) as c:
            result = await c.call_tool("list_sessions", {})
    assert not result.is_error, text_of(result)
    assert upstream.count() == 2
    retries = _log_lines(log, "retry")
    assert len(retries) == 1 and "level=INFO" in retries[0] and 'reason="status 500"' in retries[0]
    [call] = _log_lines(log, "tool_call")
    assert "tool=list_sessions outcome=ok status=200 attempts=2 duration_ms=" in call


def _tool_call(request_id: int, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments},
    }


async def _read_message(stdout: BufferedByteReceiveStream, lines: list[bytes]) -> dict[str, Any]:
    line = await stdout.receive_until(b"\n", 1 << 24)
    lines.append(line)
    message: dict[str, Any] = json.loads(line)
    return message


@pytest.mark.anyio
async def test_stdout_carries_only_json_rpc_even_at_debug(upstream: FaultUpstream) -> None:
    """Speak raw JSON-RPC (legacy handshake) to the process and check every stdout line, byte for byte."""
    upstream.push(Respond.envelope(503, "busy"), Respond.json(200, [SESSION]), Respond.html(200, "<p>not json</p>"))
    requests: list[dict[str, Any]] = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": LATEST_HANDSHAKE_VERSION,
                "capabilities": {},
                "clientInfo": {"name": "raw", "version": "0"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        _tool_call(2, "list_sessions", {}),
        _tool_call(3, "get_session", {"session_id": "x"}),
        _tool_call(4, "get_session", {}),
    ]
    command = [sys.executable, "-m", "mix_mcp", "serve", "--base-url", upstream.url, "--log-level", "DEBUG"]
    lines: list[bytes] = []
    answers: dict[int, dict[str, Any]] = {}
    with tempfile.TemporaryFile() as stderr:
        process = await anyio.open_process(command, stderr=stderr, env=clean_env())
        try:
            assert process.stdin is not None and process.stdout is not None
            stdout = BufferedByteReceiveStream(process.stdout)
            with anyio.fail_after(30):
                # One request at a time, so that the upstream's script meets the calls in order.
                for request in requests:
                    await process.stdin.send((json.dumps(request) + "\n").encode())
                    while "id" in request and request["id"] not in answers:
                        message = await _read_message(stdout, lines)
                        answers[message.get("id", -1)] = message
                await process.stdin.aclose()
                rest = b""
                async for chunk in stdout:
                    rest += chunk
                await process.wait()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        stderr.seek(0)
        log = stderr.read().decode("utf-8")
    lines.extend(line for line in rest.split(b"\n") if line)
    for line in lines:
        assert json.loads(line)["jsonrpc"] == "2.0", line
    assert set(answers) == {1, 2, 3, 4}, "the only messages are the four answers"
    assert answers[1]["result"]["serverInfo"]["name"] == "mix-mcp"
    assert answers[2]["result"]["structuredContent"] == {"sessions": [SESSION], **single_page(1)}
    assert answers[3]["result"]["isError"] is True and "is not JSON" in answers[3]["result"]["content"][0]["text"]
    assert answers[4]["result"]["isError"] is True
    assert "level=DEBUG" in log and "event=mix_request" in log
    calls = [line for line in log.splitlines() if "event=tool_call" in line]
    assert len(calls) == 3, calls
    assert "tool=list_sessions outcome=ok status=200 attempts=2" in calls[0]
    assert "tool=get_session outcome=error status=200 attempts=1" in calls[1]
    assert "tool=get_session outcome=invalid status=- attempts=0" in calls[2]
    assert all(line.startswith("ts=") for line in log.splitlines() if "level=" in line)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_lone_surrogates_from_mix_reach_the_client_as_replacement_characters(
    upstream: FaultUpstream, mode: str
) -> None:
    """A lone surrogate escape (half an emoji) cannot be written as UTF-8; Mix's answer is served with U+FFFD."""
    cut = "half an emoji \ud83d here"
    small = {**SESSION, "title": cut}
    messages = [
        {**TRANSCRIPT["messages"][0], "id": f"msg_{n}", "content": ("x" * 10_000) + (cut if n == 7 else "")}
        for n in range(120)
    ]
    large = {**TRANSCRIPT, "messages": messages}  # past 1 MiB: written in pieces, its text made as it goes
    upstream.push(Respond.json(200, small), Respond.json(200, large), Respond.json(200, [SESSION]))
    async with stdio_client_for("--base-url", upstream.url, mode=mode) as client:
        session = await client.call_tool("get_session", {"session_id": SESSION["id"]})
        exported = await client.call_tool("export_session", {"session_id": SESSION["id"], "unbounded": True})
        after = await client.call_tool("list_sessions", {})
    assert not session.is_error, text_of(session)
    assert session.structured_content is not None
    assert session.structured_content["title"] == "half an emoji \ufffd here"
    assert not exported.is_error, text_of(exported)
    assert exported.structured_content is not None
    assert exported.structured_content["messages"][7]["content"].endswith("half an emoji \ufffd here")
    assert json.loads(text_of(exported)) == exported.structured_content
    assert not after.is_error, text_of(after)
