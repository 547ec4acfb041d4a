"""What `mix-mcp serve` over stdio guarantees a careless or hostile client, tested on the real process.

Every request read is answered (malformed, oversized or still running when stdin closes), SIGTERM
and Ctrl-C (over pipes and in a real terminal) stop it cleanly with the answers owed delivered, and a
client that closed stdout gets a quiet exit, not a traceback.
"""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.abc import Process
from anyio.streams.buffered import BufferedByteReceiveStream
from mcp_types.version import LATEST_HANDSHAKE_VERSION
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.faults.upstream import FaultUpstream, Respond, Stall
from tests.support import Answer, ScriptedUpstream, clean_env, stop
from tests.unit.fakes import SESSION

INITIALIZE: dict[str, Any] = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {
        "protocolVersion": LATEST_HANDSHAKE_VERSION,
        "capabilities": {},
        "clientInfo": {"name": "raw", "version": "0"},
    },
}
INITIALIZED: dict[str, Any] = {"jsonrpc": "2.0", "method": "notifications/initialized"}


def line(message: dict[str, Any]) -> bytes:
    return (json.dumps(message) + "\n").encode()


def create_call(request_id: int) -> dict[str, Any]:
    arguments = {"title": f"session {request_id}"}
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": "create_session", "arguments": arguments},
    }


class Raw:
    """A `mix-mcp serve` process spoken to in raw JSON-RPC lines; its stderr goes to a temporary file."""

    def __init__(self, process: Process, stderr: Any) -> None:
        self.process = process
        self._stderr = stderr
        assert process.stdout is not None
        self.stdout = BufferedByteReceiveStream(process.stdout)
        self.saved_log = ""

    async def send(self, data: bytes) -> None:
        assert self.process.stdin is not None
        await self.process.stdin.send(data)

    async def close_stdin(self) -> None:
        assert self.process.stdin is not None
        await self.process.stdin.aclose()

    async def read(self) -> Any:
        return json.loads(await self.stdout.receive_until(b"\n", 1 << 26))

    async def read_to_end(self) -> list[Any]:
        rest = b""
        async for chunk in self.stdout:
            rest += chunk
        return [json.loads(piece) for piece in rest.split(b"\n") if piece]

    def log(self) -> str:
        if self._stderr.closed:
            return self.saved_log
        self._stderr.seek(0)
        return str(self._stderr.read().decode("utf-8", "replace"))


@asynccontextmanager
async def raw_server(*args: str, **env: str) -> AsyncIterator[Raw]:
    command = [sys.executable, "-m", "mix_mcp", "serve", *args]
    with tempfile.TemporaryFile() as stderr:
        process = await anyio.open_process(command, stderr=stderr, env=clean_env(**env))
        raw = Raw(process, stderr)
        try:
            yield raw
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
            raw.saved_log = raw.log()


async def handshake(raw: Raw) -> None:
    await raw.send(line(INITIALIZE) + line(INITIALIZED))
    answer = await raw.read()
    assert answer["id"] == 0 and "result" in answer, answer


@pytest.mark.anyio
async def test_calls_in_flight_at_end_of_input_are_answered_before_exit(upstream: FaultUpstream) -> None:
    """Defect 1: the whole conversation written at once and stdin closed; every create is answered, exit 0."""
    upstream.push(*(Stall(1.0, then=Respond.json(201, SESSION)) for _ in range(10)))
    async with raw_server("--base-url", upstream.url) as raw:
        with anyio.fail_after(60):
            await raw.send(line(INITIALIZE) + line(INITIALIZED) + b"".join(line(create_call(i)) for i in range(1, 11)))
            await raw.close_stdin()
            answers = {answer["id"]: answer for answer in await raw.read_to_end()}
            assert await raw.process.wait() == 0, raw.log()
    assert upstream.count() == 10
    assert set(answers) == {0, *range(1, 11)}, answers
    for request_id in range(1, 11):
        result = answers[request_id]["result"]
        assert result["isError"] is False, result
        assert result["structuredContent"]["id"] == SESSION["id"]


MALFORMED: list[tuple[str, bytes, int, Any]] = [
    (
        "lone surrogate",
        b'{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"name":"x","arguments":{"t":"\\ud83d"}}}',
        -32600,
        11,
    ),
    ("control character", b'{"jsonrpc":"2.0","id":12,"method":"ping","params":{"a":"x\x01y"}}', -32600, 12),
    ("params array", b'{"jsonrpc":"2.0","id":13,"method":"ping","params":[1,2]}', -32600, 13),
    ("params string", b'{"jsonrpc":"2.0","id":"s14","method":"ping","params":"x"}', -32600, "s14"),
    ("method number", b'{"jsonrpc":"2.0","id":15,"method":15}', -32600, 15),
    ("jsonrpc 1.0", b'{"jsonrpc":"1.0","id":16,"method":"ping"}', -32600, 16),
    ("id true", b'{"jsonrpc":"2.0","id":true,"method":"ping"}', -32600, None),
    ("id 1.5", b'{"jsonrpc":"2.0","id":1.5,"method":"ping"}', -32600, 1.5),
    ("not json", b"{this is not json", -32700, None),
    ("invalid utf-8", b'{"jsonrpc":"2.0","method":"ping","id":\xff}', -32700, None),
]


@pytest.mark.anyio
async def test_every_malformed_request_is_answered_and_serving_goes_on(upstream: FaultUpstream) -> None:
    """Defect 2: each malformed line gets the JSON-RPC error the specification names; a ping after them works."""
    upstream.push(Respond.json(200, [SESSION]))
    async with raw_server("--base-url", upstream.url) as raw:
        with anyio.fail_after(60):
            await handshake(raw)
            for name, payload, code, request_id in MALFORMED:
                await raw.send(payload + b"\n")
                answer = await raw.read()
                assert answer["jsonrpc"] == "2.0", name
                assert answer["error"]["code"] == code, (name, answer)
                assert answer["id"] == request_id, (name, answer)
            await raw.send(
                b'[{"jsonrpc":"2.0","id":21,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/x"}]\n'
            )
            batch = await raw.read()
            assert [(item["id"], item["error"]["code"]) for item in batch] == [(21, -32600)]
            await raw.send(b"[]\n")
            assert (await raw.read())["error"]["code"] == -32600
            await raw.send(
                line(
                    {
                        "jsonrpc": "2.0",
                        "id": 30,
                        "method": "tools/call",
                        "params": {"name": "list_sessions", "arguments": {}},
                    }
                )
            )
            after = await raw.read()
            assert after["id"] == 30 and after["result"]["structuredContent"]["count"] == 1, after
            await raw.close_stdin()
            assert await raw.read_to_end() == []
            assert await raw.process.wait() == 0, raw.log()
    assert "Traceback" not in raw.log()


@pytest.mark.anyio
async def test_a_line_over_the_limit_is_refused_and_serving_goes_on(upstream: FaultUpstream) -> None:
    """Defect 3: a 65 MiB line is refused with -32600 and its id; the server lives on and answers the next call."""
    upstream.push(Respond.json(200, [SESSION]))
    huge = b'{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"create_session","arguments":{"title":"'
    huge += b"x" * (65 * 1024 * 1024) + b'"}}}\n'
    async with raw_server("--base-url", upstream.url) as raw:
        with anyio.fail_after(120):
            await handshake(raw)
            async with anyio.create_task_group() as group:
                group.start_soon(raw.send, huge)
                refused = await raw.read()
            assert refused["id"] == 5 and refused["error"]["code"] == -32600, refused
            assert "line limit" in refused["error"]["message"]
            await raw.send(
                line(
                    {
                        "jsonrpc": "2.0",
                        "id": 6,
                        "method": "tools/call",
                        "params": {"name": "list_sessions", "arguments": {}},
                    }
                )
            )
            after = await raw.read()
            assert after["id"] == 6 and after["result"]["structuredContent"]["count"] == 1, after
            await raw.close_stdin()
            assert await raw.process.wait() == 0, raw.log()
    assert upstream.count() == 1, "the oversized create never reached Mix"


@pytest.mark.anyio
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_a_stop_signal_drains_the_call_flushes_spans_and_exits_0(
    upstream: FaultUpstream, sig: signal.Signals
) -> None:
    """Defects 4 and 5 over pipes: the call in flight is answered, batched spans reach the collector, exit 0."""
    upstream.push(Stall(1.5, then=Respond.json(201, SESSION)))
    with ScriptedUpstream(Answer(200, b"", {"Content-Type": "application/x-protobuf"})) as collector:
        async with raw_server("--base-url", upstream.url, OTEL_EXPORTER_OTLP_ENDPOINT=collector.url) as raw:
            with anyio.fail_after(60):
                await handshake(raw)
                await raw.send(line(create_call(1)))
                assert await upstream.until(lambda u: u.count() == 1), "the call never reached the upstream"
                raw.process.send_signal(sig)
                answer = await raw.read()
                assert answer["id"] == 1 and answer["result"]["isError"] is False, answer
                assert await raw.process.wait() == 0, raw.log()
        posts = [seen for seen in collector.seen if seen.method == "POST" and seen.path == "/v1/traces"]
    names: set[str] = set()
    for post in posts:
        request = ExportTraceServiceRequest()
        request.ParseFromString(post.body)
        names |= {span.name for rs in request.resource_spans for scope in rs.scope_spans for span in scope.spans}
    assert "execute_tool create_session" in names, names


@pytest.mark.anyio
async def test_a_second_signal_stops_at_once() -> None:
    with FaultUpstream() as upstream:
        upstream.push(Stall(60))
        async with raw_server("--base-url", upstream.url, "--timeout", "120", "--read-timeout", "100") as raw:
            with anyio.fail_after(30):
                await handshake(raw)
                await raw.send(line(create_call(1)))
                assert await upstream.until(lambda u: u.count() == 1)
                raw.process.send_signal(signal.SIGTERM)
                await anyio.sleep(0.5)
                assert raw.process.returncode is None, "the first signal waits for the call in flight"
                raw.process.send_signal(signal.SIGTERM)
                assert await raw.process.wait() == 0, raw.log()


def _read_pty(master: int, until: bytes, within: float) -> bytes:
    seen = b""
    deadline = time.monotonic() + within
    while until not in seen and time.monotonic() < deadline:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        seen += chunk
    return seen


def test_ctrl_c_in_a_terminal_stops_serve_promptly() -> None:
    """Defect 4: in a real pseudo-terminal, the start line tells a person what to do, and ^C ends the process."""
    env = clean_env(MIX_BASE_URL="http://127.0.0.1:9")
    pid, master = pty.fork()
    if pid == 0:  # the child: becomes `mix-mcp serve` with the terminal as stdin, stdout and stderr
        os.execve(sys.executable, [sys.executable, "-m", "mix_mcp", "serve"], env)  # noqa: S606
    try:
        shown = _read_pty(master, b"Ctrl-C", 30)
        assert b"waiting for an MCP client on stdin" in shown, shown
        assert b"mix-mcp call" in shown, shown
        time.sleep(0.3)
        os.write(master, b"\x03")  # the terminal turns ^C into SIGINT for its foreground process
        deadline = time.monotonic() + 10
        status = None
        while status is None and time.monotonic() < deadline:
            _read_pty_nowait(master)
            done, code = os.waitpid(pid, os.WNOHANG)
            status = code if done else None
            time.sleep(0.05)
        assert status is not None, "mix-mcp serve was still running 10 s after Ctrl-C"
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        if status_unknown(pid):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(master)


def _read_pty_nowait(master: int) -> None:
    import select

    while select.select([master], [], [], 0)[0]:
        try:
            if not os.read(master, 4096):
                return
        except OSError:
            return


def status_unknown(pid: int) -> bool:
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return False
    return done == 0


def test_a_client_that_closed_stdout_gets_a_quiet_exit(upstream: FaultUpstream, tmp_path: Path) -> None:
    """Defect 6: the next answer finds stdout closed; one log line, no traceback, exit 0."""
    upstream.push(Respond.json(200, [SESSION]))
    command = [sys.executable, "-m", "mix_mcp", "serve", "--base-url", upstream.url]
    with (tmp_path / "stderr").open("w+b") as stderr:
        process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env=clean_env()
        )
        try:
            assert process.stdin is not None and process.stdout is not None
            process.stdin.write(line(INITIALIZE) + line(INITIALIZED))
            process.stdin.flush()
            assert json.loads(process.stdout.readline())["id"] == 0
            process.stdout.close()
            call = {
                "jsonrpc": "2.0",
                "id": 2,
                "method": "tools/call",
                "params": {"name": "list_sessions", "arguments": {}},
            }
            process.stdin.write(line(call))
            process.stdin.flush()
            assert process.wait(60) == 0
        finally:
            stop(process)
        stderr.seek(0)
        log = stderr.read().decode()
    assert "Traceback" not in log, log
    assert log.count("closed stdout") == 1, log
