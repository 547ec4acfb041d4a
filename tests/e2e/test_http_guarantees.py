"""Network endpoints under careless and hostile clients: no secret in the logs, Host and Origin matched exactly.

Each test runs a real `mix-mcp serve --transport http|sse` process and speaks raw HTTP to it.
"""

from __future__ import annotations

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
    assert TOKEN not in token_file_server.stderr
    assert "[redacted]" in token_file_server.stderr


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
