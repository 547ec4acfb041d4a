"""One Streamable HTTP exchange: plain JSON unless the request needs a stream; stopped when its client leaves.

The transport lets a server answer a POSTed request either with one JSON body or with an event
stream. A stream costs on both sides (a task per response, SSE framing, the client's SSE parser),
and it only pays off when something besides the result must travel on it:

* progress, when the request carries a ``progressToken``;
* before 2026-07-28 (the initialize handshake), a request the server sends back to the client
  during the call (elicitation: ``--confirm-destructive`` confirmations, an agent's permission
  asks) and a task-augmented call (the tasks extension).

Every other request (``tools/call`` of most tools, lists, reads, ``initialize``) is answered with
plain JSON, which any proxy passes as is. The 2026-07-28 generation has no server-to-client requests
(a question is an ``InputRequiredResult``), so there only progress asks for a stream.

Cancellation. A ``--stateless`` replica keeps nothing between requests, and a 2026-07-28 client
cancels by closing its connection: a ``notifications/cancelled`` may reach another replica, or no
handler at all. What does reach this process is the client (or the proxy in front) going away:
once the request's body has been read, the exchange watches for that disconnect and cancels the
call, so its request to Mix is aborted and its log line says ``outcome=cancelled``. A legacy
request in a stateful session keeps the session's own cancellation (``notifications/cancelled``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Collection
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from contextvars import ContextVar
from typing import Any, Final

import anyio
from mcp.server import Server
from mcp.server.streamable_http import StreamableHTTPServerTransport
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mix_mcp.serving.direct_calls import DirectCalls
from mix_mcp.serving.jsonrpc_guard import read_json

_DISCONNECT: Final[Message] = {"type": "http.disconnect"}
_VERSION_HEADER: Final = b"mcp-protocol-version"
#: Set in the ASGI scope of a request answered with plain JSON (the tool-list notice reads it).
PLAIN_ANSWER: Final = "mix_mcp.plain_answer"
#: Methods whose answer is the result alone, when no progress is asked for.
_PLAIN_METHODS: Final = frozenset(
    {
        "initialize",
        "ping",
        "tools/list",
        "tools/call",
        "resources/list",
        "resources/templates/list",
        "resources/read",
        "completion/complete",
        "server/discover",
    }
)
#: For a stateful session's transport: whether the request being served is answered with plain JSON.
_PLAIN: ContextVar[bool] = ContextVar("mix_mcp_plain_answer", default=False)


def wants_progress(body: bytes) -> bool:
    """Whether a JSON-RPC request (or any message of a batch) asks for progress notifications."""
    try:
        message: Any = read_json(body)  # the SDK's parser: a body nested too deeply is a ValueError here too
    except ValueError:
        return False
    return _asks_progress(message)


def _asks_progress(message: Any) -> bool:
    messages = message if isinstance(message, list) else [message]
    for item in messages:
        params = item.get("params") if isinstance(item, dict) else None
        meta = params.get("_meta") if isinstance(params, dict) else None
        if isinstance(meta, dict) and meta.get("progressToken") is not None:
            return True
    return False


def needs_stream(message: Any, *, modern: bool, asking_tools: Collection[str]) -> bool:
    """Whether this decoded POST body must be answered with an event stream (see the module's docstring).

    Anything not recognised as one plain request (a batch, a notification, an unknown method)
    keeps the stream, as the transport would answer it without this choice.
    """
    if _asks_progress(message):
        return True
    if modern:
        return False
    if not isinstance(message, dict) or "id" not in message or message.get("method") not in _PLAIN_METHODS:
        return True
    params = message.get("params")
    if message["method"] != "tools/call":
        return False
    if not isinstance(params, dict) or "task" in params:
        return True
    return params.get("name") in asking_tools


def _is_modern(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == _VERSION_HEADER:
            return value.decode("latin-1") not in HANDSHAKE_PROTOCOL_VERSIONS
    return False


class ExchangeRouter:
    """Reads a POST's body once and hands it to ``plain`` or ``streaming`` (see the module's docstring).

    ``plain_legacy`` answers handshake-era requests that need no stream; ``plain`` those of 2026-07-28
    (and, stateless, both). ``watch_legacy`` says whether a handshake-era call stops when its client
    leaves (stateless) or lives on in its session (stateful), as the session's transport decides.
    """

    def __init__(
        self,
        *,
        plain: ASGIApp,
        plain_legacy: ASGIApp,
        streaming: ASGIApp,
        max_body_bytes: int,
        asking_tools: Collection[str],
        watch_legacy: bool,
        direct: DirectCalls | None = None,
        direct_legacy: bool = False,
    ) -> None:
        self.direct = direct
        #: Whether handshake-era plain calls go direct too (stateless: no session holds them).
        self.direct_legacy = direct_legacy
        self.plain = plain
        self.plain_legacy = plain_legacy
        self.streaming = streaming
        self.max_body_bytes = max_body_bytes
        self.asking_tools = frozenset(asking_tools)
        self.watch_legacy = watch_legacy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.streaming(scope, receive, send)
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
            await self.streaming(scope, _replay(body, receive), send)
            return
        modern = _is_modern(scope)
        try:
            decoded: Any = read_json(body)  # the SDK's parser: too deep a body is a ValueError too
        except ValueError:
            decoded = None  # the SDK answers the parse error
        if decoded is None or needs_stream(decoded, modern=modern, asking_tools=self.asking_tools):
            app = self.streaming
        else:
            scope[PLAIN_ANSWER] = True
            app = self.plain if modern else self.plain_legacy
        if not modern and not self.watch_legacy:
            await app(scope, _replay(body, receive, more_body=False), send)
            return
        if self.direct is not None and (
            app is self.plain if modern else self.direct_legacy and app is self.plain_legacy
        ):
            app = _direct_first(self.direct, decoded, app, modern=modern)
        await _served_until_gone(app, body, scope, receive, send)


def _direct_first(direct: DirectCalls, decoded: Any, app: ASGIApp, *, modern: bool) -> ASGIApp:
    """``app``, unless ``direct`` serves the call itself (it reads no body, so ``app`` still gets it)."""

    async def served(scope: Scope, receive: Receive, send: Send) -> None:
        if not await direct.serve(decoded, scope, receive, send, modern=modern):
            await app(scope, receive, send)

    return served


async def _served_until_gone(app: ASGIApp, body: bytes, scope: Scope, receive: Receive, send: Send) -> None:
    """Run ``app`` on the body already read, and cancel it if the client disconnects first.

    The watcher is a bare asyncio task beside the call rather than an anyio task group: one per
    request, and the group's start and teardown cost more than the rest of this layer put together.
    It stops the call through an anyio cancel scope, so the call sees an ordinary anyio cancellation.
    """
    gone = anyio.Event()
    delivered = False

    async def app_receive() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await gone.wait()
        return _DISCONNECT

    with anyio.CancelScope() as call:

        async def watch() -> None:
            with contextlib.suppress(Exception):
                while (await receive())["type"] != "http.disconnect":
                    pass
            gone.set()
            # The client left: nobody is waiting for the answer, so stop the call.
            call.cancel()

        watcher = asyncio.get_running_loop().create_task(watch())
        try:
            await app(scope, app_receive, send)
        finally:
            watcher.cancel()


def _replay(body: bytes, receive: Receive, *, more_body: bool = True) -> Receive:
    """``receive`` with what was already read from it handed out first."""
    pending = [{"type": "http.request", "body": body, "more_body": more_body}]

    async def replayed() -> Message:
        return pending.pop() if pending else await receive()

    return replayed


class _PerRequestTransport(StreamableHTTPServerTransport):
    """A stateful session's transport that answers each POST as its router chose: plain JSON or a stream.

    The SDK fixes that choice per session manager; here it is read, while the request is being
    received, from a context variable the router sets (the session's own task never sees it set, see
    ``_SessionManager``). Requests that may carry anything besides their result are never routed to
    JSON, so nothing request-scoped is dropped.
    """

    @property
    def is_json_response_enabled(self) -> bool:
        return _PLAIN.get()

    @is_json_response_enabled.setter
    def is_json_response_enabled(self, value: bool) -> None:
        """Set by the SDK's constructor; the choice is per request instead."""


class _SessionManager(StreamableHTTPSessionManager):
    """The SDK's stateful session manager, whose sessions answer per request (see ``_PerRequestTransport``)."""

    def _admit_session(self, requestor: Any) -> StreamableHTTPServerTransport | None:
        transport = super()._admit_session(requestor)
        if transport is not None:
            transport.__class__ = _PerRequestTransport
        return transport

    async def _serve_opening_request(
        self, http_transport: StreamableHTTPServerTransport, scope: Scope, receive: Receive, send: Send
    ) -> None:
        # The session's own task (whose message router routes progress and requests to the client) starts
        # here and keeps this context for its whole life: it must see streams, whatever this request gets.
        # The opening request (initialize) is then answered with a stream too, once per session.
        token = _PLAIN.set(False)
        try:
            await super()._serve_opening_request(http_transport, scope, receive, send)
        finally:
            _PLAIN.reset(token)


def _plain_json(app: ASGIApp) -> ASGIApp:
    async def plain(scope: Scope, receive: Receive, send: Send) -> None:
        token = _PLAIN.set(True)
        try:
            await app(scope, receive, send)
        finally:
            _PLAIN.reset(token)

    return plain


def exchange_endpoint(
    server: Server[Any],
    security: TransportSecuritySettings,
    max_body_bytes: int,
    *,
    stateless: bool,
    asking_tools: Collection[str],
    session_limits: dict[str, Any] | None = None,
    wrap: Callable[[ASGIApp], ASGIApp] = lambda app: app,
    lifespan_state: Callable[[], Any] | None = None,
) -> tuple[ASGIApp, Callable[[], AbstractAsyncContextManager[None]]]:
    """The MCP endpoint (stateful or ``--stateless``) and the context that runs it.

    Two SDK session managers: one answering with streams (stateful, it holds the sessions), one
    stateless with plain JSON. ``wrap`` is put around the stateful one (the session-limit notice).
    Given ``lifespan_state`` (what the server's lifespan yields), plain 2026-07-28 tool calls, and on a
    stateless endpoint plain handshake-era ones too, are served by ``direct_calls``.
    """
    plain_manager = StreamableHTTPSessionManager(
        app=server,
        stateless=True,
        json_response=True,
        security_settings=security,
        max_request_body_size=max_body_bytes,
    )
    manager_class = StreamableHTTPSessionManager if stateless else _SessionManager
    streaming_manager = manager_class(
        app=server,
        stateless=stateless,
        json_response=False,
        security_settings=security,
        max_request_body_size=max_body_bytes,
        **({} if stateless else (session_limits or {})),
    )
    plain: ASGIApp = StreamableHTTPASGIApp(plain_manager)
    streaming = wrap(StreamableHTTPASGIApp(streaming_manager))

    @asynccontextmanager
    async def run() -> AsyncIterator[None]:
        async with plain_manager.run(), streaming_manager.run():
            yield

    endpoint = ExchangeRouter(
        plain=plain,
        plain_legacy=plain if stateless else _plain_json(streaming),
        streaming=streaming,
        max_body_bytes=max_body_bytes,
        asking_tools=asking_tools,
        watch_legacy=stateless,
        direct=DirectCalls(server, security, lifespan_state) if lifespan_state is not None else None,
        direct_legacy=stateless,
    )
    return endpoint, run


def stateless_endpoint(
    server: Server[Any], security: TransportSecuritySettings, max_body_bytes: int
) -> tuple[ASGIApp, Callable[[], AbstractAsyncContextManager[None]]]:
    """The ``--stateless`` MCP endpoint and the context that runs it (both SDK session managers)."""
    return exchange_endpoint(server, security, max_body_bytes, stateless=True, asking_tools=())
