"""StatelessExchange: which SDK app answers a stateless request, and that the body reaches it intact."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest
from starlette.types import Message, Receive, Scope, Send

from mix_mcp.serving.stateless_exchange import StatelessExchange, wants_progress


def _call(progress: bool) -> dict[str, Any]:
    params: dict[str, Any] = {"name": "list_sessions", "arguments": {}}
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


class Recorder:
    """An ASGI app that reads the whole body and remembers it."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        self.bodies.append(body)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


async def _run(app: StatelessExchange, method: str, chunks: list[bytes]) -> list[Message]:
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

    await app({"type": "http", "method": method, "path": "/mcp", "headers": []}, receive, send)
    return sent


@pytest.mark.anyio
async def test_requests_go_to_the_app_that_fits_with_their_body_intact() -> None:
    plain, streaming = Recorder(), Recorder()
    exchange = StatelessExchange(plain, streaming, max_body_bytes=1024)
    with_token = json.dumps(_call(True)).encode()
    without = json.dumps(_call(False)).encode()
    sent = await _run(exchange, "POST", [with_token[:10], with_token[10:]])
    assert sent[-1]["body"] == b"ok"
    await _run(exchange, "POST", [without])
    await _run(exchange, "GET", [b""])
    assert streaming.bodies == [with_token]
    assert plain.bodies == [without, b""]


@pytest.mark.anyio
async def test_an_oversized_body_is_passed_whole_to_the_plain_app() -> None:
    plain, streaming = Recorder(), Recorder()
    exchange = StatelessExchange(plain, streaming, max_body_bytes=16)
    chunks = [b"x" * 10, b"y" * 10, b"z" * 10]
    await _run(exchange, "POST", chunks)
    assert plain.bodies == [b"".join(chunks)] and streaming.bodies == []
