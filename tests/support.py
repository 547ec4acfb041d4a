"""Helpers for tests that run real processes: the emulator, the stdio and network servers, loopback ports."""

from __future__ import annotations

import json
import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

import jsonschema
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

READY_LINE = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")
SERVING_LINE = re.compile(r"serving MCP over .+? at (http://127\.0\.0\.1:\d+/\S*) ")
PROTOCOL_MODES = ["legacy", "auto"]
#: The tools, in the order the server lists them (spelled out, so a test notices a change to the table).
ALL_TOOLS = [
    "list_sessions",
    "create_session",
    "get_session",
    "delete_session",
    "update_session_callbacks",
    "export_session",
    "fork_session",
    "rewind_session",
    "send_message",
    "follow_run",
    "answer_permission",
    "answer_notification",
    "cancel_run",
    "list_messages",
    "list_session_files",
    "read_session_file",
    "upload_session_file",
    "delete_session_file",
]
ROOT = Path(__file__).resolve().parents[1]


def clean_env(**extra: str) -> dict[str, str]:
    """The parent's environment without any MIX_* or OTEL_* setting, so the host cannot leak into a test."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MIX_", "OTEL_"))}
    env.update(extra)
    return env


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``python -m mix_mcp ARGS`` as a separate process, with a clean environment."""
    return subprocess.run(
        [sys.executable, "-m", "mix_mcp", *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env=env if env is not None else clean_env(),
        timeout=timeout,
        check=False,
    )


def free_port() -> int:
    """A loopback port with nothing listening on it (bound, read, released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running_emulator(*args: str, timeout: float = 20.0) -> Iterator[str]:
    """Start ``python -m mix_mcp.emulator --port 0`` and yield its URL; always stop it."""
    process = subprocess.Popen(
        [sys.executable, "-m", "mix_mcp.emulator", "--port", "0", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    try:
        yield _await_ready(process, timeout)
    finally:
        stop(process)


def _await_ready(process: subprocess.Popen[str], timeout: float) -> str:
    assert process.stderr is not None
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            if process.poll() is not None:
                break
            continue
        seen.append(line)
        match = READY_LINE.search(line)
        if match:
            return match.group(1)
    raise RuntimeError(f"emulator did not start within {timeout}s: {''.join(seen)[-2000:]}")


def stop(process: subprocess.Popen[Any], grace: float = 10.0) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(grace)


def stdio_server(*serve_args: str, env: dict[str, str] | None = None) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "mix_mcp", "serve", *serve_args],
        env=env if env is not None else clean_env(),
    )


def stdio_client_for(
    *serve_args: str, mode: str, errlog: TextIO | None = None, message_handler: Any = None, **env: str
) -> Client:
    params = stdio_server(*serve_args, env=clean_env(**env))
    transport = stdio_client(params, errlog=errlog) if errlog is not None else stdio_client(params)
    return Client(transport, mode=mode, read_timeout_seconds=60, message_handler=message_handler)


def text_of(result: Any) -> str:
    return "\n".join(getattr(block, "text", "") for block in result.content)


class SchemaChecker:
    """Validates every structured result against the outputSchema its tool advertised."""

    def __init__(self, tools: Any) -> None:
        self.schemas = {tool.name: tool.output_schema for tool in tools.tools}

    def check(self, tool: str, result: Any) -> dict[str, Any]:
        assert not result.is_error, text_of(result)
        assert isinstance(result.structured_content, dict)
        jsonschema.validate(result.structured_content, self.schemas[tool])
        return result.structured_content


@dataclass(frozen=True)
class Answer:
    """One scripted HTTP answer."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, value: Any, **headers: str) -> Answer:
        return cls(status, json.dumps(value).encode(), {"Content-Type": "application/json", **headers})


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class ScriptedUpstream:
    """A loopback HTTP server that answers from a script (the last answer repeats) and records each request.

    It stands in for what the emulator cannot be: a Mix that fails on demand, a newer Mix, a web page,
    another JSON service, or an OTLP collector.
    """

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with upstream._lock:
                    upstream.seen.append(Seen(self.command, self.path, dict(self.headers.items()), body))
                    answer = upstream.answers.pop(0) if len(upstream.answers) > 1 else upstream.answers[0]
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            do_GET = do_POST = do_PATCH = do_DELETE = _answer

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> ScriptedUpstream:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)


@dataclass
class ServerProcess:
    """A ``mix-mcp serve --transport http|sse`` process: its MCP URL and everything it wrote to stderr."""

    process: subprocess.Popen[str]
    url: str
    lines: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def port(self) -> int:
        port = urlsplit(self.url).port
        assert port is not None
        return port

    @property
    def stderr(self) -> str:
        return "".join(self.lines)


def _pump(stream: TextIO, lines: list[str], fresh: queue.Queue[str | None]) -> None:
    """Read a child's stderr to the end, so it never blocks on a full pipe."""
    for line in stream:
        lines.append(line)
        fresh.put(line)
    fresh.put(None)


@contextmanager
def running_process(
    command: list[str], ready: Callable[[list[str]], str | None], *, timeout: float = 20.0, **env: str
) -> Iterator[tuple[subprocess.Popen[str], str, list[str]]]:
    """Start ``command``; once ``ready(stderr so far)`` returns a URL, yield (process, URL, lines); always stop it."""
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(**env),
    )
    assert process.stderr is not None
    lines: list[str] = []
    fresh: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_pump, args=(process.stderr, lines, fresh), daemon=True).start()
    try:
        deadline = time.monotonic() + timeout
        url = None
        while url is None:
            try:
                line = fresh.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is None:
                raise RuntimeError(f"{command[2:]} did not start: {''.join(lines)[-2000:]}")
            url = ready(lines)
        yield process, url, lines
    finally:
        stop(process)


def _serving_url(lines: list[str]) -> str | None:
    match = SERVING_LINE.search(lines[-1])
    return match.group(1) if match else None


@contextmanager
def running_server(*serve_args: str, timeout: float = 20.0, **env: str) -> Iterator[ServerProcess]:
    """Start ``python -m mix_mcp serve --port 0 ARGS`` and yield it once it names its URL; always stop it."""
    command = [sys.executable, "-m", "mix_mcp", "serve", "--port", "0", *serve_args]
    with running_process(command, _serving_url, timeout=timeout, **env) as (process, url, lines):
        yield ServerProcess(process, url, lines)


def single_page(count: int) -> dict[str, Any]:
    """The fields of a list_sessions result that fits on one page, besides its sessions."""
    return {"count": count, "total": count, "offset": 0, "truncated": False, "next_arguments": None}
