"""ExchangeRouter: which SDK app answers a Streamable HTTP request (JSON or a stream), with its body intact."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest
from starlette.types import Message, Receive, Scope, Send

from mix_mcp.serving.stateless_exchange import PLAIN_ANSWER, ExchangeRouter, needs_stream, wants_progress


def _call(progress: bool, name: str = "list_sessions") -> dict[str, Any]:
    params: dict[str, Any] = {"name": name, "arguments": {}}
    if progress:
        params["_meta"] = {"progressToken": 7}
    return {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (json.dumps(_call(True)).encode(), True),
        (json.dumps(_call(False)).encode(), False),
        (json.dumps([_call(False), _call(True)]).encode(), True),
        (b'{"params": {"_meta": {"progressToken": null}}}', False),
        (b"not json", False),
        (b"[1, 2]", False),
    ],
    ids=["token", "none", "batch", "null-token", "garbage", "odd-batch"],
)
def test_progress_is_wanted_only_with_a_progress_token(body: bytes, expected: bool) -> None:
    assert wants_progress(body) is expected


MODERN = [(b"mcp-protocol-version", b"2026-07-28")]
LEGACY = [(b"mcp-protocol-version", b"2025-11-25")]


@pytest.mark.parametrize(
    ("message", "modern", "expected"),
    [
        (_call(False), False, False),
        (_call(True), False, True),
        (_call(False, "send_message"), False, True),
        (_call(False, "send_message"), True, False),
        (_call(True, "send_message"), True, True),
        ({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, False, False),
        ({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}, False, False),
        ({"jsonrpc": "2.0", "method": "notifications/initialized"}, False, True),
        (
            {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "get_session", "task": {}}},
            False,
            True,
        ),
        ({"jsonrpc": "2.0", "id": 1, "method": "logging/setLevel", "params": {}}, False, True),
        ([_call(False)], False, True),
    ],
    ids=[
        "plain-call",
        "progress",
        "asking-tool-legacy",
        "asking-tool-modern",
        "progress-modern",
        "list",
        "initialize",
        "notification",
        "task",
        "other-method",
        "batch",
    ],
)
def test_a_stream_only_where_something_besides_the_result_may_travel(
    message: Any, modern: bool, expected: bool
) -> None:
    assert needs_stream(message, modern=modern, asking_tools={"send_message"}) is expected


class Recorder:
    """An ASGI app that reads the whole body and remembers it, and whether it was marked a plain answer."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.plain: list[bool] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        self.bodies.append(body)
        self.plain.append(bool(scope.get(PLAIN_ANSWER)))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


async def _run(
    app: ExchangeRouter, method: str, chunks: list[bytes], headers: list[tuple[bytes, bytes]] | None = None
) -> list[Message]:
    pending: list[Message] = [
        {"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1}
        for index, chunk in enumerate(chunks)
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        await anyio.sleep_forever()
        raise AssertionError

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": method, "path": "/mcp", "headers": headers or []}
    await app(scope, receive, send)
    return sent


def _router(
    max_body_bytes: int = 1024, *, stateless: bool = True
) -> tuple[ExchangeRouter, Recorder, Recorder, Recorder]:
    plain, plain_legacy, streaming = Recorder(), Recorder(), Recorder()
    router = ExchangeRouter(
        plain=plain,
        plain_legacy=plain if stateless else plain_legacy,
        streaming=streaming,
        max_body_bytes=max_body_bytes,
        asking_tools={"send_message"},
        watch_legacy=stateless,
    )
    return router, plain, plain_legacy, streaming


@pytest.mark.anyio
async def test_requests_go_to_the_app_that_fits_with_their_body_intact() -> None:
    router, plain, _, streaming = _router()
    with_token = json.dumps(_call(True)).encode()
    without = json.dumps(_call(False)).encode()
    sent = await _run(router, "POST", [with_token[:10], with_token[10:]])
    assert sent[-1]["body"] == b"ok"
    await _run(router, "POST", [without], MODERN)
    await _run(router, "GET", [b""])
    assert streaming.bodies == [with_token, b""]
    assert plain.bodies == [without]
    assert plain.plain == [True] and streaming.plain == [False, False]


@pytest.mark.anyio
async def test_a_stateful_server_answers_legacy_calls_in_the_session_and_modern_ones_apart() -> None:
    router, plain, plain_legacy, streaming = _router(stateless=False)
    call = json.dumps(_call(False)).encode()
    asking = json.dumps(_call(False, "send_message")).encode()
    await _run(router, "POST", [call], LEGACY)
    await _run(router, "POST", [asking], LEGACY)
    await _run(router, "POST", [asking], MODERN)
    assert plain_legacy.bodies == [call]
    assert streaming.bodies == [asking]
    assert plain.bodies == [asking]


@pytest.mark.anyio
async def test_an_oversized_body_is_passed_whole_to_the_streaming_app() -> None:
    router, plain, _, streaming = _router(max_body_bytes=16)
    chunks = [b"x" * 10, b"y" * 10, b"z" * 10]
    await _run(router, "POST", chunks)
    assert streaming.bodies == [b"".join(chunks)] and plain.bodies == []
