"""One stateless Streamable HTTP exchange: JSON or an event stream, and stopped when the client goes away.

A ``--stateless`` replica keeps nothing between requests, so two things a session would carry must
ride the request itself:

* Progress. A plain JSON answer has no room for notifications, so a request that carries a
  ``progressToken`` is answered with an event stream (the progress notifications, then the result);
  every other request keeps the plain JSON answer, which is cheaper and which any proxy passes as is.
* Cancellation. The client's ``notifications/cancelled`` travels in a request of its own, which a
  load balancer may hand to another replica that never heard of the call. What does reach the right
  replica is the client (or the proxy in front) closing the connection: once the request's body has
  been read, the exchange watches for that disconnect and cancels the call, so its request to Mix
  is aborted and its log line says ``outcome=cancelled``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Final

import anyio
from mcp.server import Server
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mix_mcp.serving.jsonrpc_guard import read_json

_DISCONNECT: Final[Message] = {"type": "http.disconnect"}


def wants_progress(body: bytes) -> bool:
    """Whether a JSON-RPC request (or any message of a batch) asks for progress notifications."""
    try:
        message: Any = read_json(body)  # the SDK's parser: a body nested too deeply is a ValueError here too
    except ValueError:
        return False
    messages = message if isinstance(message, list) else [message]
    for item in messages:
        params = item.get("params") if isinstance(item, dict) else None
        meta = params.get("_meta") if isinstance(params, dict) else None
        if isinstance(meta, dict) and meta.get("progressToken") is not None:
            return True
    return False


class StatelessExchange:
    """In front of two stateless SDK apps: ``streaming`` for requests that want progress, ``plain`` otherwise."""

    def __init__(self, plain: ASGIApp, streaming: ASGIApp, max_body_bytes: int) -> None:
        self.plain = plain
        self.streaming = streaming
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.plain(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more and size <= self.max_body_bytes:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if more:
            # Too large: let the SDK read the rest and answer 413 as it always does.
            await self.plain(scope, _replay(body, receive), send)
            return
        app = self.streaming if wants_progress(body) else self.plain
        gone = anyio.Event()
        delivered = False

        async def app_receive() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await gone.wait()
            return _DISCONNECT

        async with anyio.create_task_group() as group:

            async def watch() -> None:
                while (await receive())["type"] != "http.disconnect":
                    pass
                gone.set()
                # The client left: nobody is waiting for the answer, so stop the call.
                group.cancel_scope.cancel()

            group.start_soon(watch)
            await app(scope, app_receive, send)
            group.cancel_scope.cancel()


def _replay(body: bytes, receive: Receive) -> Receive:
    """``receive`` with what was already read from it handed out first."""
    pending = [{"type": "http.request", "body": body, "more_body": True}]

    async def replayed() -> Message:
        return pending.pop() if pending else await receive()

    return replayed


def stateless_endpoint(
    server: Server[Any], security: TransportSecuritySettings, max_body_bytes: int
) -> tuple[ASGIApp, Callable[[], AbstractAsyncContextManager[None]]]:
    """The ``--stateless`` MCP endpoint and the context that runs it (both SDK session managers)."""

    def manager(json_response: bool) -> StreamableHTTPSessionManager:
        return StreamableHTTPSessionManager(
            app=server,
            stateless=True,
            json_response=json_response,
            security_settings=security,
            max_request_body_size=max_body_bytes,
        )

    plain, streaming = manager(True), manager(False)

    @asynccontextmanager
    async def run() -> AsyncIterator[None]:
        async with plain.run(), streaming.run():
            yield

    endpoint = StatelessExchange(StreamableHTTPASGIApp(plain), StreamableHTTPASGIApp(streaming), max_body_bytes)
    return endpoint, run
