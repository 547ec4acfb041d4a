"""Network endpoints under careless and hostile clients: no secret in the logs, Host and Origin matched exactly.

Each test runs a real `mix-mcp serve --transport http|sse` process and speaks raw HTTP to it.
"""

from __future__ import annotations

import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.support import ServerProcess, running_server

TOKEN = "tok-file-0123456789abcdefXYZ"
JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
INITIALIZE: dict[str, Any] = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}},
}


@pytest.fixture(scope="module")
def token_file_server(emulator_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The token from a file, and the access log on (INFO)."""
    token_file = tmp_path_factory.mktemp("secrets") / "token"
    token_file.write_text(f"{TOKEN}\n", encoding="utf-8")
    with running_server(
        "--transport", "http", "--base-url", emulator_url, "--auth-token-file", str(token_file), "--log-level", "INFO"
    ) as server:  # fmt: skip
        yield server


def test_a_token_in_the_query_string_never_reaches_the_log(token_file_server: ServerProcess) -> None:
    """Defect 7: `?access_token=` is refused (401), and neither it nor any refused query string is logged."""
    other = "query-value-not-a-token-4242"
    with httpx2.Client(timeout=10, headers=JSON_HEADERS) as http:
        for query in (f"access_token={TOKEN}", f"access_token={other}", f"token={TOKEN}&x=1"):
            refused = http.post(f"{token_file_server.url}?{query}", json=INITIALIZE)
            assert refused.status_code == 401, refused.text
        wrong_bearer = http.post(token_file_server.url, json=INITIALIZE, headers={"Authorization": f"Bearer {other}x"})
        assert wrong_bearer.status_code == 401
        good = http.post(token_file_server.url, json=INITIALIZE, headers={"Authorization": f"Bearer {TOKEN}"})
        assert good.status_code == 200
    log = token_file_server.stderr
    assert "uvicorn.access" in log and " 401" in log, "the access log must be on for this check to mean much"
    assert TOKEN not in log
    assert other not in log
    assert "access_token=" not in log


def test_the_token_file_content_is_masked_in_every_log_line(token_file_server: ServerProcess) -> None:
    """Defect 7: the token read from the file is a secret the redactor knows, wherever a line would show it."""
    with httpx2.Client(timeout=10) as http:
        http.get(f"{token_file_server.base}/{TOKEN}", headers={"Authorization": f"Bearer {TOKEN}"})
    # The access line is written as the answer leaves, and read from the pipe by a thread: wait for it.
    deadline = time.monotonic() + 10
    while "[redacted]" not in token_file_server.stderr and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "[redacted]" in token_file_server.stderr
    assert TOKEN not in token_file_server.stderr


def _post(server: ServerProcess, headers: dict[str, str]) -> int:
    with httpx2.Client(timeout=10) as http:
        return http.post(server.url, json=INITIALIZE, headers={**JSON_HEADERS, **headers}).status_code


def _get_sse(server: ServerProcess, headers: dict[str, str]) -> int:
    with httpx2.Client(timeout=10) as http, http.stream("GET", server.url, headers=headers) as response:
        return response.status_code


def _cases(port: int) -> list[tuple[dict[str, str], int]]:
    return [
        ({"Host": f"localhost:{port}.evil.com"}, 421),
        ({"Host": f"localhost:{port}@evil.com"}, 421),
        ({"Host": f"127.0.0.1:{port} evil"}, 421),
        ({"Host": "localhost:"}, 421),
        ({"Host": f"localhost.evil.com:{port}"}, 421),
        ({"Origin": f"http://localhost:{port}.evil.com"}, 403),
        ({"Origin": f"http://localhost:{port}@evil.com"}, 403),
        ({"Origin": "http://127.0.0.1.evil.com"}, 403),
        ({"Origin": "null"}, 403),
        ({"Host": f"LOCALHOST:{port}"}, 200),
        ({"Host": "localhost"}, 200),
        ({"Host": f"127.0.0.1:{port}"}, 200),
        ({"Origin": f"HTTP://LocalHost:{port}"}, 200),
        ({"Origin": "http://127.0.0.1"}, 200),
    ]


def test_host_and_origin_are_matched_exactly_on_streamable_http(http_server: ServerProcess) -> None:
    """Defect 10: no prefix tricks get in; upper case and a port-less host are accepted."""
    for headers, status in _cases(http_server.port):
        assert _post(http_server, headers) == status, headers


def test_host_and_origin_are_matched_exactly_on_sse(sse_server: ServerProcess) -> None:
    for headers, status in _cases(sse_server.port):
        assert _get_sse(sse_server, headers) == status, headers


def test_allowed_host_entries_match_exactly_too(emulator_url: str, tmp_path: Path) -> None:
    with running_server(
        "--transport", "http", "--base-url", emulator_url,
        "--allowed-hosts", "mcp.example.com:8443,Other.Example", "--allowed-origins", "https://app.example.com",
    ) as server:  # fmt: skip
        for headers, status in [
            ({"Host": "mcp.example.com:8443"}, 200),
            ({"Host": "MCP.EXAMPLE.COM:8443"}, 200),
            ({"Host": "mcp.example.com:84430"}, 421),
            ({"Host": "mcp.example.com"}, 421),
            ({"Host": "other.example:9"}, 200),
            ({"Host": "other.example.evil"}, 421),
            ({"Origin": "https://app.example.com"}, 200),
            ({"Origin": "https://app.example.com:443"}, 200),
            ({"Origin": "https://app.example.com:8443"}, 403),
            ({"Origin": "http://app.example.com"}, 403),
            ({"Origin": "https://app.example.com.evil.example"}, 403),
        ]:
            assert _post(server, headers) == status, headers


def _open_session(http: httpx2.Client, url: str) -> httpx2.Response:
    return http.post(url, json=INITIALIZE, headers=JSON_HEADERS)


def test_sessions_beyond_the_cap_get_a_503_that_says_why_and_idle_ones_expire(emulator_url: str) -> None:
    """Defect 11: --max-sessions and --session-idle-expiry are settings; the 503 names them and the way out."""
    with (
        running_server(
            "--transport", "http", "--base-url", emulator_url, "--max-sessions", "2", "--session-idle-expiry", "1"
        ) as server,
        httpx2.Client(timeout=10) as http,
    ):  # fmt: skip
        opened = [_open_session(http, server.url) for _ in range(2)]
        assert [r.status_code for r in opened] == [200, 200]
        assert all(r.headers.get("mcp-session-id") for r in opened)
        refused = _open_session(http, server.url)
        assert refused.status_code == 503
        message = refused.json()["error"]["message"]
        assert "limit of 2 open MCP sessions" in message
        assert "--max-sessions / MIX_MCP_MAX_SESSIONS" in message
        assert "--session-idle-expiry / MIX_MCP_SESSION_IDLE_EXPIRY" in message
        assert refused.headers.get("retry-after")
        # Left idle, the two sessions expire (after about a second) and make room again.
        deadline = time.monotonic() + 30
        status = refused.status_code
        while status == 503 and time.monotonic() < deadline:
            time.sleep(0.2)
            status = _open_session(http, server.url).status_code
        assert status == 200, "idle sessions did not expire"
        gone = http.post(
            server.url,
            json={"jsonrpc": "2.0", "id": 2, "method": "ping"},
            headers={**JSON_HEADERS, "mcp-session-id": opened[0].headers["mcp-session-id"]},
        )
        assert gone.status_code == 404


def _slow_post(port: int) -> socket.socket:
    """A POST whose headers arrive at once and whose 1,000-byte body never does (slowloris)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(
        b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Accept: application/json, text/event-stream\r\nContent-Length: 1000\r\n\r\n{"
    )
    return sock


def test_a_slow_body_times_out_with_408(emulator_url: str) -> None:
    """Defect 8: a body slower than --body-timeout is refused; the server keeps answering others."""
    with running_server("--transport", "http", "--base-url", emulator_url, "--body-timeout", "1") as server:
        sock = _slow_post(server.port)
        answer = b""
        try:
            while chunk := sock.recv(4096):
                answer += chunk
        finally:
            sock.close()
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert b"--body-timeout" in answer
        with httpx2.Client(timeout=10) as http:
            assert _open_session(http, server.url).status_code == 200


def test_slow_bodies_do_not_hold_up_shutdown(emulator_url: str) -> None:
    """Defect 8: 100 slowloris POSTs, then SIGTERM: the server stops well within its 60 s grace, one summary line."""
    with running_server(
        "--transport", "http", "--base-url", emulator_url, "--shutdown-grace", "60", "--log-level", "INFO"
    ) as server:  # fmt: skip
        sockets = [_slow_post(server.port) for _ in range(100)]
        try:
            with httpx2.Client(timeout=10) as http:  # every slow request has been accepted by now
                assert http.get(f"{server.base}/healthz").status_code == 200
            started = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            assert server.process.wait(60) == 0
            took = time.monotonic() - started
        finally:
            for sock in sockets:
                sock.close()
    assert took < 30, f"shutdown waited {took:.1f} s for bodies that never came"
    log = server.stderr
    assert "Traceback" not in log and "level=ERROR" not in log, log[-3000:]
    assert log.count("request(s) refused: their body was too slow or still arriving at shutdown") == 1, log[-3000:]
