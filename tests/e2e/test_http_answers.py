"""Streamable HTTP answers a request with plain JSON unless something besides its result must travel.

Raw HTTP to a real ``mix-mcp serve --transport http`` process (stateful and ``--stateless``), handshake
generation: a plain tool call gets one ``application/json`` body; a call that asks for progress gets an
event stream carrying the progress notifications before the result.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from tests.support import ServerProcess, running_server

VERSION = "2025-11-25"
HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
SESSION_ID = "3f1c9a52-7b2e-4d8a-9c61-0e5b7a2d4f10"  # a seeded demo session of the emulator


def _rpc(ident: int, method: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": ident, "method": method, "params": params}


def _messages(response: httpx2.Response) -> list[dict[str, Any]]:
    """The JSON-RPC messages of an answer, whichever form it took."""
    if response.headers["content-type"].startswith("application/json"):
        return [response.json()]
    return [
        json.loads(line[5:]) for line in response.text.splitlines() if line.startswith("data:") and line[5:].strip()
    ]


@pytest.fixture(params=["stateful", "stateless"])
def session(request: pytest.FixtureRequest, emulator_url: str) -> Iterator[tuple[httpx2.Client, str]]:
    flags = ["--stateless"] if request.param == "stateless" else []
    with (
        running_server("--transport", "http", "--base-url", emulator_url, *flags) as server,
        httpx2.Client(timeout=20) as http,
    ):
        yield http, _open(http, server)


def _open(http: httpx2.Client, server: ServerProcess) -> str:
    init = {"protocolVersion": VERSION, "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}
    opened = http.post(server.url, json=_rpc(1, "initialize", init), headers=HEADERS)
    assert opened.status_code == 200, opened.text
    assert _messages(opened)[-1]["result"]["protocolVersion"] == VERSION
    http.headers.update(HEADERS | {"MCP-Protocol-Version": VERSION})
    if session_id := opened.headers.get("mcp-session-id"):
        http.headers["Mcp-Session-Id"] = session_id
    http.post(server.url, json={"jsonrpc": "2.0", "method": "notifications/initialized"})
    return server.url


def test_a_plain_call_is_answered_with_one_json_body(session: tuple[httpx2.Client, str]) -> None:
    http, url = session
    answer = http.post(
        url, json=_rpc(2, "tools/call", {"name": "get_session", "arguments": {"session_id": SESSION_ID}})
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    result = answer.json()["result"]
    assert not result.get("isError") and result["structuredContent"]["id"] == SESSION_ID
    listed = http.post(url, json=_rpc(3, "tools/list", {}))
    assert listed.headers["content-type"].startswith("application/json")
    assert "get_session" in {tool["name"] for tool in listed.json()["result"]["tools"]}


def test_a_call_asking_for_progress_gets_a_stream_with_the_progress_first(session: tuple[httpx2.Client, str]) -> None:
    http, url = session
    params = {"name": "export_session", "arguments": {"session_id": SESSION_ID}, "_meta": {"progressToken": "p1"}}
    answer = http.post(url, json=_rpc(4, "tools/call", params))
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/event-stream")
    messages = _messages(answer)
    progress = [m for m in messages if m.get("method") == "notifications/progress"]
    assert progress and all(m["params"]["progressToken"] == "p1" for m in progress)
    assert messages[-1]["id"] == 4 and not messages[-1]["result"].get("isError")
