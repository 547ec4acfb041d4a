"""Safe by default: Host/Origin checks, the bearer token, body limits, operations endpoints, the exposure rule.

Raw requests go through httpx2 so that every status and header is visible; the mcp SDK's clients
show that a correctly configured client still works.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

from mix_mcp.cli.command import main
from mix_mcp.emulator import BackgroundEmulator
from tests.support import ServerProcess, running_server

TOKEN = "tok-e2e-0123456789abcdef"
MIX_KEY = "mix-key-should-never-leak-42"
JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
INITIALIZE: dict[str, Any] = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}},
}


def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def guarded_http(emulator_url: str) -> Iterator[ServerProcess]:
    """A token, a small body limit, an extra host and origin, the Mix key set, and every log line on."""
    with running_server(
        "--transport",
        "http",
        "--base-url",
        emulator_url,
        "--max-request-bytes",
        "4096",
        "--allowed-hosts",
        "mcp.example.com",
        "--allowed-origins",
        "https://app.example.com",
        "--log-level",
        "DEBUG",
        MIX_MCP_AUTH_TOKEN=TOKEN,
        MIX_API_KEY=MIX_KEY,
    ) as server:
        yield server


@pytest.fixture(scope="module")
def guarded_sse(emulator_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """SSE with the token read from a file (its first line), and the same small body limit."""
    token_file = tmp_path_factory.mktemp("secrets") / "token"
    token_file.write_text(f"{TOKEN}\n", encoding="utf-8")
    with running_server(
        "--transport",
        "sse",
        "--base-url",
        emulator_url,
        "--auth-token-file",
        str(token_file),
        "--max-request-bytes",
        "4096",
    ) as server:
        yield server


def test_foreign_origin_and_host_are_rejected_on_both_transports(
    http_server: ServerProcess, sse_server: ServerProcess
) -> None:
    with httpx2.Client(timeout=10) as http:
        evil_origin = {"Origin": "http://evil.example"}
        assert http.post(http_server.url, json=INITIALIZE, headers={**JSON_HEADERS, **evil_origin}).status_code == 403
        assert http.get(sse_server.url, headers=evil_origin).status_code == 403
        assert (
            http.post(http_server.url, json=INITIALIZE, headers={**JSON_HEADERS, "Host": "evil.example"}).status_code
            == 421
        )
        assert http.get(sse_server.url, headers={"Host": "evil.example:80"}).status_code == 421
        local = http.post(http_server.url, json=INITIALIZE, headers={**JSON_HEADERS, "Origin": "http://localhost:3000"})
        assert local.status_code == 200


def test_allowed_hosts_and_origins_widen_the_check(guarded_http: ServerProcess) -> None:
    with httpx2.Client(timeout=10, headers={**JSON_HEADERS, **bearer()}) as http:
        for headers, status in [
            ({"Host": "mcp.example.com"}, 200),
            ({"Host": "mcp.example.com:8443"}, 200),
            ({"Host": "other.example.com"}, 421),
            ({"Origin": "https://app.example.com"}, 200),
            ({"Origin": "https://app.example.com.evil.example"}, 403),
        ]:
            assert http.post(guarded_http.url, json=INITIALIZE, headers=headers).status_code == status, headers


def test_a_token_is_required_and_checked(guarded_http: ServerProcess, guarded_sse: ServerProcess) -> None:
    with httpx2.Client(timeout=10) as http:
        missing = http.post(guarded_http.url, json=INITIALIZE, headers=JSON_HEADERS)
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"] == 'Bearer realm="mix-mcp"'
        assert "Authorization: Bearer" in missing.json()["message"]
        for wrong in ("Bearer tok-e2e-0123456789abcdeX", "Basic dXNlcjpwYXNz", "Bearer", TOKEN):
            refused = http.post(guarded_http.url, json=INITIALIZE, headers={**JSON_HEADERS, "Authorization": wrong})
            assert refused.status_code == 401, wrong
            assert refused.headers["www-authenticate"].startswith('Bearer realm="mix-mcp"'), wrong
        wrong_token = http.post(guarded_http.url, json=INITIALIZE, headers={**JSON_HEADERS, **bearer("x" * 24)})
        assert 'error="invalid_token"' in wrong_token.headers["www-authenticate"]
        ok = http.post(guarded_http.url, json=INITIALIZE, headers={**JSON_HEADERS, "Authorization": f"bearer {TOKEN}"})
        assert ok.status_code == 200

        assert http.get(guarded_sse.url).status_code == 401
        assert http.post(f"{guarded_sse.base}/messages/?session_id=0", json={}).status_code == 401


@pytest.mark.anyio
async def test_clients_with_the_token_work(guarded_http: ServerProcess, guarded_sse: ServerProcess) -> None:
    async with (
        httpx2.AsyncClient(headers=bearer(), timeout=httpx2.Timeout(30, read=60)) as http,
        Client(streamable_http_client(guarded_http.url, http_client=http), mode="legacy") as client,
    ):
        listed = await client.call_tool("list_sessions", {})
        assert not listed.is_error
    async with Client(sse_client(guarded_sse.url, headers=bearer()), mode="legacy") as client:
        listed = await client.call_tool("list_sessions", {})
        assert not listed.is_error


def test_oversized_bodies_get_413(guarded_http: ServerProcess, guarded_sse: ServerProcess) -> None:
    padding = {**INITIALIZE, "params": {**INITIALIZE["params"], "padding": "x" * 5000}}
    with httpx2.Client(timeout=10, headers={**JSON_HEADERS, **bearer()}) as http:
        assert http.post(guarded_http.url, json=padding).status_code == 413
        assert http.post(guarded_http.url, json=INITIALIZE).status_code == 200
        assert http.post(f"{guarded_sse.base}/messages/?session_id=0", json=padding).status_code == 413


def test_health_endpoints_need_no_token_and_reveal_nothing(guarded_http: ServerProcess, emulator_url: str) -> None:
    with httpx2.Client(timeout=10) as http:
        alive = http.get(f"{guarded_http.base}/healthz")
        ready = http.get(f"{guarded_http.base}/readyz")
    assert alive.status_code == 200 and alive.json()["status"] == "ok"
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready" and body["mix"]["ok"] is True and body["mix"]["status"] == 200
    assert isinstance(body["mix"]["latency_ms"], float)
    for answer in (alive, ready):
        assert answer.headers["cache-control"] == "no-store"
        for secret in (TOKEN, MIX_KEY, emulator_url, "127.0.0.1"):
            assert secret not in answer.text


def test_secrets_never_reach_the_log(guarded_http: ServerProcess) -> None:
    """The server logs at DEBUG here: requests, bodies, Mix calls; still no token and no Mix key."""
    wrong = "wrong-token-also-secret-99"
    with httpx2.Client(timeout=10, headers=JSON_HEADERS) as http:
        http.post(guarded_http.url, json=INITIALIZE, headers=bearer(wrong))
        assert http.post(guarded_http.url, json=INITIALIZE, headers=bearer()).status_code == 200
    log = guarded_http.stderr
    assert "mcp.server" in log and "level=DEBUG" in log, "the log should be verbose for this check to mean much"
    for secret in (TOKEN, MIX_KEY, wrong):
        assert secret not in log


@pytest.mark.anyio
async def test_readyz_fails_while_mix_is_down() -> None:
    with BackgroundEmulator() as mix, running_server("--transport", "http", "--base-url", mix.url) as server:
        async with httpx2.AsyncClient(base_url=server.base, timeout=15) as http:
            assert (await http.get("/readyz")).status_code == 200
            mix_url = mix.url
            mix.__exit__(None, None, None)  # Mix goes away now (stopping it again on exit is harmless)
            down = await http.get("/readyz")
            assert down.status_code == 503
            body = down.json()
            assert body["status"] == "unavailable" and body["mix"]["ok"] is False
            assert body["mix"]["problem"] in ("connection refused", "could not connect")
            assert mix_url not in down.text
            assert (await http.get("/healthz")).status_code == 200


def test_a_reachable_address_without_a_token_is_refused_before_binding(capsys: pytest.CaptureFixture[str]) -> None:
    # The port is taken on loopback, so a server that did try to bind 0.0.0.0 would fail differently (exit 1).
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        assert main(["serve", "--transport", "http", "--host", "0.0.0.0", "--port", port]) == 2
    message = capsys.readouterr().err
    assert "refusing to listen on 0.0.0.0 without a token" in message
    assert "MIX_MCP_AUTH_TOKEN" in message and "--allow-unauthenticated" in message
    assert "cannot listen" not in message


def test_a_bad_token_file_is_a_configuration_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    short = tmp_path / "short"
    short.write_text("abc\n", encoding="utf-8")
    assert main(["serve", "--transport", "http", "--auth-token-file", str(short)]) == 2
    assert "at least 16 printable characters" in capsys.readouterr().err
    assert main(["serve", "--transport", "sse", "--auth-token-file", str(tmp_path / "missing")]) == 2
    assert "cannot read" in capsys.readouterr().err
