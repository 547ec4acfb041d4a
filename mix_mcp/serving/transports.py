"""Network transports: SSE and Streamable HTTP, on the mcp SDK's own transports under uvicorn.

One process holds one pooled Mix client (``Runtime``), opened when the ASGI app starts and closed
when it stops; every MCP connection, session or stateless request borrows it. In front of the SDK's
endpoints sits a gate (drain, token, exposure rule, calls in flight); beside them, ``/healthz`` and
``/readyz``. ``create_app`` is the app alone, for any ASGI server or for mounting; ``serve_network``
is ``mix-mcp serve --transport http|sse``: the app under uvicorn, with a shutdown that lets tool
calls in flight finish.
"""

from __future__ import annotations

import asyncio
import math
import posixpath
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import (
    AbstractAsyncContextManager,
    AbstractContextManager,
    AsyncExitStack,
    asynccontextmanager,
    suppress,
)
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, Final

import uvicorn
from mcp.server import Server
from mcp.server.sse import SseServerTransport
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mix_mcp._version import __version__
from mix_mcp.config import HEALTH_PATH, READY_PATH, ConfigError, Settings, describe_setting
from mix_mcp.listening import bind_socket, socket_url
from mix_mcp.mix.client import HealthProbe, MixClient
from mix_mcp.serving.auth.resource_server import resource_server
from mix_mcp.serving.bodies import ReadBody, read_body
from mix_mcp.serving.console import CONSOLE_PATH, console_routes
from mix_mcp.serving.health import health_routes
from mix_mcp.serving.host_check import HostOriginGuard, HostOriginPolicy, without_sdk_check
from mix_mcp.serving.http_security import AccessPolicy, check_exposure, resolve_auth_token, transport_security
from mix_mcp.serving.server import InFlight, ServerState, build_server
from mix_mcp.serving.session_limits import SessionLimitNotice, session_manager_limits
from mix_mcp.serving.stateless_exchange import exchange_endpoint
from mix_mcp.state_keys import require_shared_key
from mix_mcp.tools.operations import select_operations

TRANSPORT_NAMES: Final = {"http": "Streamable HTTP", "sse": "SSE"}
#: Given the settings, a context manager that yields the settings to reach Mix with (e.g. a started emulator's).
MixTarget = Callable[[Settings], AbstractContextManager[Settings]]
#: Once nothing is in flight, wait this long before ending streams, so a result just computed is delivered.
_SETTLE_SECONDS: Final = 0.25
#: After the grace period, how long stopped calls get to deliver their results before connections are cut.
_WIND_DOWN_SECONDS: Final = 2.0


@dataclass
class Runtime:
    """What one process shares across every MCP connection: the Mix client, calls in flight, the drain flag."""

    settings: Settings
    transport: str
    state: ServerState | None = None
    mix_url: str = ""
    draining: bool = False
    #: Tool calls running, and MCP HTTP exchanges (other than streams) not yet answered.
    calls: InFlight = field(default_factory=InFlight)
    exchanges: InFlight = field(default_factory=InFlight)
    #: Requests refused because their body came too slowly or was still arriving at shutdown.
    cut_bodies: int = 0
    #: Whether the browser console (serving/console.py) is served beside the endpoint.
    console: bool = False

    def server_state(self) -> ServerState:
        if self.state is None:
            raise RuntimeError("mix-mcp's ASGI app is not started: run its lifespan (see 'your own app' in the README)")
        return self.state

    def probe(self) -> Awaitable[HealthProbe] | None:
        if self.state is None:
            return None
        return self.state.client.probe_health(self.settings.connect_timeout)


class McpGate:
    """In front of the SDK's MCP endpoints: refuse while stopping, apply the access policy, count work in flight.

    A GET is a long-lived stream (the SSE channel, a session's notification stream), not work to
    wait for; every other request is counted until its answer has been sent.
    """

    def __init__(self, app: ASGIApp, runtime: Runtime, access: AccessPolicy) -> None:
        self.app = app
        self.runtime = runtime
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.runtime.draining:
            stopping = JSONResponse(
                {"error": "unavailable", "message": "This mix-mcp server is shutting down; connect again."},
                status_code=503,
                headers={"Retry-After": "1", "Connection": "close"},
            )
            await stopping(scope, receive, send)
            return
        refusal = self.access.refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        response = _EndedResponse(send)
        if scope["method"] == "GET":
            await self.app(scope, receive, response.send)
        else:
            body = await read_body(receive, self.runtime.settings.body_timeout, lambda: self.runtime.draining)
            if not isinstance(body, ReadBody):
                self.runtime.cut_bodies += 1
                await body(scope, receive, send)
                return
            with self.runtime.exchanges.track():
                await self.app(scope, body.replay, response.send)
        await response.end()


class _EndedResponse:
    """Ends a response its app left open, so a stream cut at shutdown closes cleanly for the client.

    sse-starlette stops its streams when the server exits without sending the final chunk; the
    client would then see a broken transfer, and uvicorn logs an error, instead of a normal end.
    """

    def __init__(self, send: Send) -> None:
        self._send = send
        self._started = False
        self._ended = False

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self._started = True
        elif message["type"] == "http.response.body" and not message.get("more_body", False):
            self._ended = True
        await self._send(message)

    async def end(self) -> None:
        if self._started and not self._ended:
            with suppress(OSError, RuntimeError):
                await self.send({"type": "http.response.body", "body": b"", "more_body": False})


class SseStream:
    """``GET /sse``: one SDK SSE connection, served by the MCP server until the client goes away."""

    def __init__(self, transport: SseServerTransport, server: Server[ServerState]) -> None:
        self.transport = transport
        self.server = server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        connected = False
        try:
            async with self.transport.connect_sse(scope, receive, send) as (read_stream, write_stream):
                connected = True
                await self.server.run(read_stream, write_stream, self.server.create_initialization_options())
        except ValueError:
            if connected:
                raise
            # The SDK refused the request (Host or Origin) and has already sent the answer.


def messages_path(sse_path: str) -> str:
    """Where SSE clients POST their messages: ``messages/`` beside the stream (``/sse`` -> ``/messages/``)."""
    parent = posixpath.dirname(sse_path.rstrip("/")) or "/"
    return posixpath.join(parent, "messages/")


def _sse_routes(
    settings: Settings,
    server: Server[ServerState],
    gate: Callable[[ASGIApp], ASGIApp],
    lifespan_state: Callable[[], ServerState],
) -> tuple[list[BaseRoute], Callable[[], AbstractAsyncContextManager[None]] | None]:
    stream_path = settings.endpoint_path
    post_path = messages_path(stream_path)
    if stream_path.rstrip("/") == post_path.rstrip("/"):
        raise ConfigError(f"{describe_setting('path')}: {stream_path!r} is where SSE messages go; choose another")
    sse = SseServerTransport(
        post_path,
        security_settings=without_sdk_check(transport_security(settings)),
        max_request_body_size=settings.max_request_bytes,
    )
    routes: list[BaseRoute] = [
        Route(stream_path, gate(SseStream(sse, server)), methods=["GET"]),
        Mount(post_path, app=gate(sse.handle_post_message)),
    ]
    return routes, None


def _streamable_http_routes(
    settings: Settings,
    server: Server[ServerState],
    gate: Callable[[ASGIApp], ASGIApp],
    lifespan_state: Callable[[], ServerState],
) -> tuple[list[BaseRoute], Callable[[], AbstractAsyncContextManager[None]] | None]:
    # Plain JSON answers unless a request needs a stream (progress, or a legacy call that may ask the
    # user); a stateless call, and any 2026-07-28 call, stops when its client leaves.
    endpoint, run = exchange_endpoint(
        server,
        without_sdk_check(transport_security(settings)),
        settings.max_request_bytes,
        stateless=settings.stateless,
        asking_tools=asking_tools(settings),
        session_limits=session_manager_limits(settings),
        wrap=lambda app: SessionLimitNotice(app, settings),
        lifespan_state=lifespan_state,
    )
    return [Route(settings.endpoint_path, gate(endpoint))], run


def asking_tools(settings: Settings) -> set[str]:
    """Tools whose call may send a request back to a handshake-era client: an agent run's permission
    asks, and the confirmations of ``--confirm-destructive``."""
    return {
        op.name
        for op in select_operations(settings)
        if op.runner is not None or (settings.confirm_destructive and op.confirm is not None)
    }


def build_app(
    settings: Settings, auth_token: str | None, *, mix_target: MixTarget | None = None
) -> tuple[Starlette, Runtime]:
    """The ASGI app for ``settings`` and the runtime it shares with whoever runs it.

    ``mix_target`` is entered once in the app's lifespan and yields the settings to reach Mix with; the
    command line and the ASGI factory pass one that starts the built-in emulator for ``--emulator``.
    """
    if settings.use_emulator and mix_target is None:
        raise ConfigError(
            f"{describe_setting('use_emulator')} is served by `mix-mcp serve` or mix_mcp.asgi:app_factory, which "
            "start the emulator; an app built here needs mix_target=mix_mcp.cli.mix_target.mix_target"
        )
    transport = "sse" if settings.transport == "sse" else "http"
    if transport == "http":
        require_shared_key(settings)
    runtime = Runtime(settings, transport)
    operations = select_operations(settings)
    server = build_server(settings, operations, shared_state=runtime.server_state)
    # With OAuth (--oauth-issuer) every MCP request is authenticated by its access token instead.
    oauth = resource_server(settings, {op.name: op for op in operations})
    access = AccessPolicy(auth_token, allow_unauthenticated=settings.allow_unauthenticated or oauth is not None)
    hosts = HostOriginPolicy(transport_security(settings))

    def gate(app: ASGIApp) -> ASGIApp:
        return McpGate(HostOriginGuard(oauth.protect(app) if oauth is not None else app, hosts), runtime, access)

    make_routes = _sse_routes if transport == "sse" else _streamable_http_routes
    mcp_routes, run_transport = make_routes(settings, server, gate, runtime.server_state)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            effective = stack.enter_context(mix_target(settings)) if mix_target is not None else settings
            client = await stack.enter_async_context(MixClient(effective))
            runtime.mix_url = effective.display_base_url
            runtime.state = ServerState(client, runtime.calls)
            stack.callback(setattr, runtime, "state", None)
            if oauth is not None:
                await stack.enter_async_context(oauth.running())
            if run_transport is not None:
                await stack.enter_async_context(run_transport())
            yield

    oauth_routes = oauth.routes() if oauth is not None else []
    routes = [*health_routes(draining=lambda: runtime.draining, probe=runtime.probe), *oauth_routes, *mcp_routes]
    console = console_routes(settings, operations, hosts)  # the browser console, beside the endpoint
    runtime.console, routes = bool(console), [*routes, *console]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.mix_mcp = runtime
    return app, runtime


def create_app(settings: Settings, *, mix_target: MixTarget | None = None) -> Starlette:
    """mix-mcp as an ASGI app: ``settings.transport`` 'sse' serves SSE, anything else Streamable HTTP.

    Run it under any ASGI server, or mount it in your own Starlette/FastAPI app; a mounted app's
    lifespan is not run by its parent, so enter it from yours (``lifespan=app.router.lifespan_context``).
    The token is read here (``--auth-token-file`` included); the exposure rule is the caller's to
    apply before binding, and per request the app refuses unauthenticated MCP traffic that did not
    arrive on a loopback address.
    """
    return build_app(settings, resolve_auth_token(settings), mix_target=mix_target)[0]


class DrainingServer(uvicorn.Server):
    """uvicorn, with a shutdown that lets tool calls in flight finish.

    uvicorn's own shutdown would end every SSE stream at once (sse-starlette watches its exit flag),
    cutting off results still on their way. Here the first SIGINT/SIGTERM closes the listening socket
    and marks the app as stopping (new MCP requests get 503, ``/readyz`` says so); uvicorn's exit
    starts once nothing has been in flight for a moment. Calls still running when the grace period
    ends are stopped with a result that says so, which is then delivered. A second signal exits at
    once. Exiting this way is a success: the process returns 0, not the signal.
    """

    def __init__(self, config: uvicorn.Config, runtime: Runtime, grace: float) -> None:
        super().__init__(config)
        self.runtime = runtime
        self.grace = grace
        self._deadline: float | None = None
        self._idle_since: float | None = None
        self._stopped_calls = False
        self._signal_name = ""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # A signal handler: only set flags here; on_tick does the work on the event loop.
        if self._deadline is None:
            self._deadline = time.monotonic() + self.grace
            self._signal_name = signal.Signals(sig).name
        elif not self.should_exit:
            self.should_exit = True
        else:
            self.force_exit = True

    async def on_tick(self, counter: int) -> bool:
        if self._deadline is not None and not self.should_exit:
            self._drain(self._deadline)
        return await super().on_tick(counter)

    def _drain(self, deadline: float) -> None:
        now = time.monotonic()
        runtime = self.runtime
        if not runtime.draining:
            runtime.draining = True
            for listener in self.servers:
                listener.close()
            _status(
                f"{self._signal_name}: no new connections; waiting up to {self.grace:g} s for "
                f"{runtime.calls.count} tool call(s) in flight"
            )
        if now >= deadline and runtime.calls.count and not self._stopped_calls:
            self._stopped_calls = True
            _status(f"grace period over; stopping {runtime.calls.count} tool call(s) still in flight")
            runtime.calls.cancel_all()
        if runtime.calls.count or runtime.exchanges.count:
            self._idle_since = None
        elif self._idle_since is None:
            self._idle_since = now
        settled = self._idle_since is not None and now - self._idle_since >= _SETTLE_SECONDS
        if settled or now >= deadline + _WIND_DOWN_SECONDS:
            # What is left of the grace period bounds uvicorn's wait for connections to close.
            self.config.timeout_graceful_shutdown = max(1, math.ceil(deadline - now))
            self.should_exit = True


def _status(message: str) -> None:
    say(f"mix-mcp: {message}")


def say(line: str) -> None:
    """One line for the operator, on stderr: stdout is never written, whatever the transport."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def describe_serving(settings: Settings, transport: str, has_token: bool) -> list[str]:
    """The facts about a server that its startup line reports, besides where it listens."""
    if transport == "http":
        details = ["stateless" if settings.stateless else "stateful: sessions live in this process"]
    else:
        details = [f"messages at {messages_path(settings.endpoint_path)}"]
    if settings.oauth_issuer is not None:
        details.append(f"OAuth tokens from {settings.oauth_issuer} for {settings.public_url}")
    elif has_token:
        details.append("bearer token required")
    elif settings.allow_unauthenticated:
        details.append("no token: --allow-unauthenticated")
    else:
        details.append("no token: loopback only")
    return details


def startup_line(settings: Settings, runtime: Runtime, sock: socket.socket, has_token: bool) -> str:
    """What a person starting the server needs: the URL to give a client, and what it talks to."""
    url = socket_url(sock) + settings.endpoint_path
    details = describe_serving(settings, runtime.transport, has_token)
    host, port = sock.getsockname()[:2]
    if host in ("0.0.0.0", "::"):
        details.append(f"listening on all interfaces, port {port}")
    mix = f"Mix at {runtime.mix_url}" + (" (the built-in emulator)" if settings.use_emulator else "")
    return (
        f"mix-mcp {__version__} serving MCP over {TRANSPORT_NAMES[runtime.transport]} at {url} "
        f"({'; '.join(details)}); {mix}; health at {HEALTH_PATH} and {READY_PATH}"
        + (f"; open the console at {socket_url(sock)}{CONSOLE_PATH} in a browser" if runtime.console else "")
    )


async def _serve(server: DrainingServer, sock: socket.socket, announce: Callable[[], None]) -> None:
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            await task
            return
        await asyncio.sleep(0.01)
    announce()
    await task


def run_event_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run ``main`` on uvloop where it is installed (a dependency on Linux and macOS), else on asyncio's loop.

    uvloop's loop and transports are written in C: each socket read and write and each callback costs a
    fraction of what the pure-Python selector loop spends, which is most of a short request's server time.
    """
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)


def serve_network(settings: Settings, *, mix_target: MixTarget | None = None) -> int:
    """``mix-mcp serve --transport http|sse``: check, bind, announce, serve until signalled; 0 on a clean stop."""
    token = resolve_auth_token(settings)
    check_exposure(settings, token)
    app, runtime = build_app(settings, token, mix_target=mix_target)
    try:
        sock = bind_socket(settings.host, settings.port)
    except OSError as exc:
        say(f"mix-mcp: {exc}")
        return 1
    verbose = settings.log_level in ("DEBUG", "INFO")
    config = uvicorn.Config(
        app,
        lifespan="on",
        log_config=None,  # our logging setup (stderr) applies; uvicorn's loggers propagate to it
        log_level=settings.log_level.lower(),
        access_log=verbose,
        server_header=False,
        timeout_graceful_shutdown=max(1, math.ceil(settings.shutdown_grace)),
    )
    server = DrainingServer(config, runtime, settings.shutdown_grace)

    def announce() -> None:
        say(startup_line(settings, runtime, sock, token is not None))

    try:
        run_event_loop(_serve(server, sock, announce))
    finally:
        sock.close()
    if runtime.cut_bodies:
        _status(f"{runtime.cut_bodies} request(s) refused: their body was too slow or still arriving at shutdown")
    _status("stopped")
    return 0
