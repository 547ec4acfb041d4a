"""A stateless endpoint answers plain handshake-era tool calls itself (``direct_calls``) exactly as the SDK would.

Judge: the same requests to a stateful ``mix-mcp serve`` process, whose session answers them through
the SDK's transport and dispatcher. Status, media type and JSON body must match for successes, tool
errors and protocol errors alike. Then, in process, that the direct path is the one that answered a
plain call and that it leaves every other request to the SDK without sending a byte.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial
from typing import Any

import anyio
import httpx2
import pytest
from mcp.server._streamable_http_modern import handle_modern_request
from mcp.server.transport_security import TransportSecuritySettings
from mcp_types import CLIENT_CAPABILITIES_META_KEY, CLIENT_INFO_META_KEY, PROTOCOL_VERSION_META_KEY
from starlette.types import Message

from mix_mcp.config import Settings
from mix_mcp.mix.client import MixClient
from mix_mcp.serving.direct_calls import DirectCalls
from mix_mcp.serving.server import InFlight, ServerState, build_server
from tests.e2e.stalling_mix import stalling_mix
from tests.support import running_server

VERSION = "2025-11-25"
HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
SESSION_ID = "3f1c9a52-7b2e-4d8a-9c61-0e5b7a2d4f10"

CALLS: dict[str, tuple[Any, dict[str, Any]]] = {
    "success": (2, {"name": "get_session", "arguments": {"session_id": SESSION_ID}}),
    "string-id": ("req-ä", {"name": "get_session", "arguments": {"session_id": SESSION_ID}}),
    "list": (3, {"name": "list_sessions", "arguments": {"limit": 2}}),
    "missing-session": (4, {"name": "get_session", "arguments": {"session_id": "no-such-session"}}),
    "bad-arguments": (5, {"name": "get_session", "arguments": {"session_id": 7}}),
    "unknown-tool": (6, {"name": "get_sesion", "arguments": {}}),
    "arguments-not-an-object": (7, {"name": "get_session", "arguments": 5}),
    "no-name": (8, {"arguments": {}}),
}


@pytest.fixture(scope="module")
def endpoints(emulator_url: str) -> Iterator[dict[str, tuple[httpx2.Client, str]]]:
    with (
        running_server("--transport", "http", "--base-url", emulator_url) as stateful,
        running_server("--transport", "http", "--base-url", emulator_url, "--stateless") as stateless,
        httpx2.Client(timeout=20, headers=HEADERS) as judge,
        httpx2.Client(timeout=20, headers=HEADERS) as direct,
    ):
        init = {"protocolVersion": VERSION, "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}
        opened = judge.post(stateful.url, json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init})
        assert opened.status_code == 200, opened.text
        judge.headers.update({"MCP-Protocol-Version": VERSION, "Mcp-Session-Id": opened.headers["mcp-session-id"]})
        judge.post(stateful.url, json={"jsonrpc": "2.0", "method": "notifications/initialized"})
        direct.headers["MCP-Protocol-Version"] = VERSION
        yield {"sdk": (judge, stateful.url), "direct": (direct, stateless.url)}


@pytest.mark.parametrize("case", list(CALLS))
def test_a_plain_call_gets_the_answer_the_sdk_gives(endpoints: dict[str, tuple[httpx2.Client, str]], case: str) -> None:
    ident, params = CALLS[case]
    answers = {}
    for name, (http, url) in endpoints.items():
        answer = http.post(url, json={"jsonrpc": "2.0", "id": ident, "method": "tools/call", "params": params})
        answers[name] = (answer.status_code, answer.headers["content-type"], answer.json())
    assert answers["direct"] == answers["sdk"]
    status, _, body = answers["direct"]
    assert status == 200 and body["id"] == ident
    if case == "success":
        assert body["result"]["structuredContent"]["id"] == SESSION_ID


def _scope(headers: dict[str, str]) -> dict[str, Any]:
    raw = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
    return {"type": "http", "method": "POST", "path": "/mcp", "headers": raw, "query_string": b""}


PLAIN: dict[str, Any] = {
    "jsonrpc": "2.0",
    "id": 9,
    "method": "tools/call",
    "params": {"name": "get_session", "arguments": {}},
}
#: (body, headers): each must be left to the SDK.
DEFERRED: dict[str, tuple[Any, dict[str, str]]] = {
    "tools/list": ({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}, HEADERS),
    "notification": ({"jsonrpc": "2.0", "method": "notifications/initialized"}, HEADERS),
    "batch": ([PLAIN], HEADERS),
    "extra-member": ({**PLAIN, "extra": 1}, HEADERS),
    "boolean-id": ({**PLAIN, "id": True}, HEADERS),
    "no-params": ({key: v for key, v in PLAIN.items() if key != "params"}, HEADERS),
    "task": ({**PLAIN, "params": {**PLAIN["params"], "task": {}}}, HEADERS),
    "wrong-version": ({**PLAIN, "jsonrpc": "1.0"}, HEADERS),
    "text-body": (PLAIN, {**HEADERS, "Content-Type": "text/plain"}),
    "no-json-accepted": (PLAIN, {**HEADERS, "Accept": "text/event-stream"}),
}


@pytest.mark.anyio
async def test_the_direct_path_answers_plain_calls_and_leaves_everything_else(emulator_url: str) -> None:
    settings = Settings(base_url=emulator_url)
    async with MixClient(settings) as client:
        state = ServerState(client, InFlight())
        server = build_server(settings, shared_state=lambda: state)
        direct = DirectCalls(server, TransportSecuritySettings(enable_dns_rebinding_protection=False), lambda: state)
        sent: list[Message] = []

        async def send(message: Message) -> None:
            sent.append(message)

        async def receive() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        call = {**PLAIN, "params": {"name": "get_session", "arguments": {"session_id": SESSION_ID}}}
        assert await direct.serve(call, _scope(HEADERS), receive, send, modern=False)
        assert sent[0]["status"] == 200
        assert json.loads(sent[1]["body"])["result"]["structuredContent"]["id"] == SESSION_ID
        for name, (body, headers) in DEFERRED.items():
            sent.clear()
            assert not await direct.serve(body, _scope(headers), receive, send, modern=False), name
            assert sent == [], name


def _envelope(version: str) -> dict[str, Any]:
    """A tools/call of list_sessions as a client of ``version`` sends it (2026-07-28 carries its envelope)."""
    params: dict[str, Any] = {"name": "list_sessions", "arguments": {}}
    if version == MODERN:
        params["_meta"] = {
            PROTOCOL_VERSION_META_KEY: MODERN,
            CLIENT_INFO_META_KEY: {"name": "raw", "version": "0"},
            CLIENT_CAPABILITIES_META_KEY: {},
        }
    return {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}


MODERN = "2026-07-28"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("flags", "version"),
    [((), MODERN), (("--stateless",), MODERN), (("--stateless",), VERSION)],
    ids=["stateful-2026-07-28", "stateless-2026-07-28", "stateless-legacy"],
)
async def test_a_call_whose_client_leaves_is_stopped(flags: tuple[str, ...], version: str) -> None:
    """Closing the request is how these clients give up: the call stops (logged cancelled), the next one works."""
    headers = {**HEADERS, "MCP-Protocol-Version": version}
    if version == MODERN:
        headers |= {"Mcp-Method": "tools/call", "Mcp-Name": "list_sessions"}
    with (
        stalling_mix() as mix,
        running_server("--transport", "http", "--base-url", mix.url, "--log-level", "INFO", *flags) as server,
    ):
        async with httpx2.AsyncClient(timeout=30, headers=headers) as http:
            async with anyio.create_task_group() as group:
                group.start_soon(partial(http.post, server.url, json=_envelope(version)))
                assert await anyio.to_thread.run_sync(mix.arrived.wait, 30), server.stderr
                group.cancel_scope.cancel()  # the request's connection closes
            with anyio.fail_after(30):
                while "tool=list_sessions outcome=cancelled" not in server.stderr:  # noqa: ASYNC110 (a log a thread fills)
                    await anyio.sleep(0.05)
            mix.release.set()
            after = await http.post(server.url, json=_envelope(version))
            assert after.status_code == 200 and "error" not in after.json(), after.text


def test_a_2026_call_on_a_stateless_endpoint_keeps_the_sdk_checks(
    endpoints: dict[str, tuple[httpx2.Client, str]],
) -> None:
    """Only handshake-era calls take the direct path: a 2026-07-28 call without its routing headers is refused."""
    http, url = endpoints["direct"]
    answer = http.post(url, json=_envelope(MODERN), headers={"MCP-Protocol-Version": MODERN})
    assert answer.status_code == 400
    assert "mcp-method header" in answer.json()["error"]["message"]


MODERN_HEADERS = {**HEADERS, "MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/call"}
#: 2026-07-28 calls: (request id, params, extra headers); each is answered by the direct path or left to the SDK.
MODERN_CALLS: dict[str, tuple[Any, dict[str, Any], dict[str, str]]] = {
    "success": (2, {"name": "get_session", "arguments": {"session_id": SESSION_ID}}, {}),
    "string-id": ("req-ä", {"name": "list_sessions", "arguments": {"limit": 1}}, {}),
    "missing-session": (3, {"name": "get_session", "arguments": {"session_id": "no-such-session"}}, {}),
    "bad-arguments": (4, {"name": "get_session", "arguments": {"session_id": 7}}, {}),
    "unknown-tool": (5, {"name": "get_sesion", "arguments": {}}, {}),
    "arguments-not-an-object": (6, {"name": "get_session", "arguments": 5}, {}),
    "param-header": (7, {"name": "get_session", "arguments": {"session_id": SESSION_ID}}, {"Mcp-Param-X": "1"}),
    "wrong-name-header": (8, {"name": "get_session", "arguments": {"session_id": SESSION_ID}}, {"Mcp-Name": "x"}),
    "no-method-header": (9, {"name": "get_session", "arguments": {}}, {"Mcp-Method": ""}),
}


@pytest.mark.anyio
async def test_a_2026_call_gets_the_answer_of_the_sdks_single_exchange_entry(emulator_url: str) -> None:
    """In process: each call through the direct path (or the SDK where it declines) against the SDK's entry alone."""
    settings = Settings(base_url=emulator_url)
    security = TransportSecuritySettings(enable_dns_rebinding_protection=False)
    async with MixClient(settings) as client:
        state = ServerState(client, InFlight())
        server = build_server(settings, shared_state=lambda: state)
        direct = DirectCalls(server, security, lambda: state)
        served_directly = set()
        for case, (ident, params, extra) in MODERN_CALLS.items():
            params = {**params, "_meta": _envelope(MODERN)["params"]["_meta"]}
            message = {"jsonrpc": "2.0", "id": ident, "method": "tools/call", "params": params}
            headers = {**MODERN_HEADERS, "Mcp-Name": params["name"], **extra}
            headers = {name: value for name, value in headers.items() if value}
            answers = {}
            for judge in ("sdk", "direct"):
                sent: list[Message] = []

                async def send(item: Message, sent: list[Message] = sent) -> None:
                    sent.append(item)

                async def receive(body: bytes = json.dumps(message).encode()) -> Message:
                    return {"type": "http.request", "body": body, "more_body": False}

                scope = _scope(headers)
                if judge == "direct" and await direct.serve(message, scope, receive, send, modern=True):
                    served_directly.add(case)
                else:
                    assert not sent, case
                    await handle_modern_request(server, security, True, state, scope, receive, send)
                content_type = dict(sent[0]["headers"]).get(b"content-type")
                answers[judge] = (sent[0]["status"], content_type, json.loads(sent[1]["body"]))
            assert answers["direct"] == answers["sdk"], case
            if case in ("wrong-name-header", "no-method-header"):
                assert answers["sdk"][0] == 400, case
    assert served_directly == set(MODERN_CALLS) - {"wrong-name-header", "no-method-header"}
