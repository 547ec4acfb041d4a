"""The emulator's HTTP surface: Mix's eight sessions endpoints as a Starlette app.

Routes come from ``mix_mcp.mix.endpoints`` (the same table the client sends from), so a path or a success
status cannot drift between the two. Every failure, including unknown routes, wrong methods and bugs,
leaves as Mix's ``{"error": {"code", "message", "type"}}`` envelope.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mix_mcp._version import __version__
from mix_mcp.emulator import quirks
from mix_mcp.emulator.agent import AgentSettings, ScriptedAgent
from mix_mcp.emulator.body_limit import DEFAULT_MAX_BODY_BYTES, BodyLimitMiddleware
from mix_mcp.emulator.files import file_routes
from mix_mcp.emulator.profiles import SEED, MixProfile
from mix_mcp.emulator.store import MessageIndexError, SessionNotFoundError, SessionStore, StoreError
from mix_mcp.emulator.validation import (
    RequestError,
    parse_bool_query,
    parse_callbacks_update,
    parse_create_session,
    parse_fork,
    parse_rewind,
)
from mix_mcp.mix import endpoints

logger = logging.getLogger(__name__)

_ERROR_TYPES_BY_STATUS: Final[dict[int, str]] = {401: "unauthorized", 404: "not_found"}
_UNAUTHORIZED_MESSAGE: Final = "Unauthorized - authentication required"

Handler = Callable[[Request], Awaitable[Response]]


def error_response(status: int, error_type: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": status, "message": message, "type": error_type}}, status_code=status, headers=headers
    )


def _error_type_for(status: int) -> str:
    if status >= 500:
        return "internal_error"
    return _ERROR_TYPES_BY_STATUS.get(status, "bad_request")


def _profile(request: Request) -> MixProfile:
    profile = getattr(request.app.state, "mix_profile", SEED)
    assert isinstance(profile, MixProfile)
    return profile


async def _request_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestError)
    message = exc.message
    if exc.error_type == "validation_error":
        message = quirks.validation_message(_profile(request), message)
    return error_response(exc.status, exc.error_type, message)


async def _store_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StoreError)
    if isinstance(exc, MessageIndexError):
        return error_response(400, "validation_error", quirks.validation_message(_profile(request), exc.message))
    return error_response(404, "not_found", exc.message)


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own 404 (no route) and 405 (wrong method): Go's router text or Mix's envelope, by version."""
    assert isinstance(exc, HTTPException)
    routed = quirks.router_answer(_profile(request), exc.status_code, (exc.headers or {}).get("Allow"))
    if routed is not None:
        return routed
    if exc.status_code == 404:
        message = f"Route not found: {request.method} {request.url.path}"
    elif exc.status_code == 405:
        message = f"Method not allowed: {request.method} {request.url.path}"
    else:
        message = exc.detail
    return error_response(exc.status_code, _error_type_for(exc.status_code), message, dict(exc.headers or {}))


def _session_id(request: Request) -> str:
    """The id segment, decoded only now: routing saw it still encoded (see ``RawPathRoutingMiddleware``)."""
    return unquote(request.path_params["id"])


class RawPathRoutingMiddleware:
    """Route on the path as it was sent, so an id holding an encoded '/' (``a%2Fb``) stays one segment.

    ASGI servers hand Starlette a percent-decoded ``path``, which would turn ``/api/sessions/x%2Fexport``
    into the export of ``x``. Mix treats each path segment as one value; so does the emulator.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = scope.get("raw_path") if scope["type"] == "http" else None
        if raw:
            scope = {**scope, "path": raw.split(b"?", 1)[0].decode("latin-1")}
        await self.app(scope, receive, send)


class InternalErrorMiddleware:
    """Turns a bug into a 500 envelope and keeps the connection usable.

    Starlette's own handler re-raises after answering, and uvicorn then drops the keep-alive connection,
    so a client's next request on it would fail too. The traceback goes to the log, never into the body.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            if started:
                raise  # too late for an envelope; the server closes the connection
            logger.exception("unexpected error in %s %s", scope.get("method"), scope.get("path"))
            await error_response(500, "internal_error", "Internal server error")(scope, receive, send)


class BearerAuthMiddleware:
    """Refuses every ``/api`` request that lacks ``Authorization: Bearer <key>`` when a key is configured."""

    def __init__(self, app: ASGIApp, *, api_key: str) -> None:
        self.app = app
        self._key = api_key.encode("utf-8")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _is_api_path(scope["path"]) and not self._authorized(scope):
            response = error_response(401, "unauthorized", _UNAUTHORIZED_MESSAGE, {"WWW-Authenticate": "Bearer"})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _authorized(self, scope: Scope) -> bool:
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, token = value.partition(b" ")
                # compare_digest takes the same time wherever the first differing byte is.
                return scheme.lower() == b"bearer" and hmac.compare_digest(token.strip(), self._key)
        return False


def _is_api_path(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


class _Handlers:
    """One coroutine per contract operation; SQLite work runs in the thread pool to keep the loop free.

    Where Mix versions differ, a handler asks ``quirks`` with its profile. The create fields of Feb 2026
    (browserMode, ...) are kept here, in memory, beside the store: they only echo back in ``SessionData``.
    """

    def __init__(self, store: SessionStore, profile: MixProfile = SEED, agent: ScriptedAgent | None = None) -> None:
        self.store = store
        self.profile = profile
        self.agent = agent
        self.settings: dict[str, dict[str, str]] = {}

    async def _body(self, request: Request, endpoint: endpoints.Endpoint) -> dict[str, Any]:
        return quirks.decode_body(self.profile, endpoint.operation_id, await request.body())

    def _session(self, data: dict[str, Any], status: int) -> Response:
        shaped = quirks.present_session(self.profile, data, self.settings.get(str(data["id"])))
        return JSONResponse(shaped, status_code=status)

    async def list_sessions(self, request: Request) -> Response:
        include = parse_bool_query("includeSubagents", request.query_params.get("includeSubagents"))
        sessions = await run_in_threadpool(self.store.list_sessions, include_subagents=include)
        listed = quirks.present_list(self.profile, sessions, self.settings)
        return JSONResponse(listed, status_code=endpoints.LIST_SESSIONS.success_status)

    async def create_session(self, request: Request) -> Response:
        body = quirks.callbacks_for(self.profile, await self._body(request, endpoints.CREATE_SESSION))
        parsed = parse_create_session(body, self.profile.session_type_message)
        settings = quirks.session_settings(self.profile, body)
        session = await run_in_threadpool(
            self.store.create_session,
            title=parsed.title,
            prompt_mode=parsed.prompt_mode,
            custom_system_prompt=parsed.custom_system_prompt,
            callbacks=parsed.callbacks,
        )
        if settings:
            self.settings[str(session["id"])] = settings
        return self._session(session, endpoints.CREATE_SESSION.success_status)

    async def get_session(self, request: Request) -> Response:
        session = await run_in_threadpool(self.store.get_session, _session_id(request))
        return self._session(session, endpoints.GET_SESSION.success_status)

    async def delete_session(self, request: Request) -> Response:
        session_id = _session_id(request)
        try:
            await run_in_threadpool(self.store.delete_session, session_id)
        except SessionNotFoundError:
            if not self.profile.delete_unknown_no_rows:
                raise
            return error_response(500, "internal_error", quirks.NO_ROWS_MESSAGE)
        self.settings.pop(session_id, None)
        if self.agent is not None:
            await self.agent.session_deleted(session_id)
        return Response(status_code=endpoints.DELETE_SESSION.success_status)

    async def update_session_callbacks(self, request: Request) -> Response:
        body = quirks.callbacks_for(self.profile, await self._body(request, endpoints.UPDATE_SESSION_CALLBACKS))
        callbacks = parse_callbacks_update(body)
        session = await run_in_threadpool(self.store.set_callbacks, _session_id(request), callbacks)
        return self._session(session, endpoints.UPDATE_SESSION_CALLBACKS.success_status)

    async def export_session(self, request: Request) -> Response:
        session_id = _session_id(request)
        document = quirks.present_export(self.profile, await run_in_threadpool(self.store.export_session, session_id))
        return Response(
            document,
            status_code=endpoints.EXPORT_SESSION.success_status,
            media_type="application/json",
            headers={"Content-Disposition": f"attachment; filename=session_{session_id}_transcript.json"},
        )

    async def fork_session(self, request: Request) -> Response:
        parsed = parse_fork(quirks.fork_index(self.profile, await self._body(request, endpoints.FORK_SESSION)))
        try:
            session = await run_in_threadpool(
                self.store.fork_session, _session_id(request), message_index=parsed.message_index, title=parsed.title
            )
        except SessionNotFoundError:
            if not self.profile.fork_unknown_500:
                raise
            return error_response(500, "internal_error", quirks.FORK_INTERNAL_MESSAGE)
        return self._session(session, endpoints.FORK_SESSION.success_status)

    async def rewind_session(self, request: Request) -> Response:
        body = await self._body(request, endpoints.REWIND_SESSION)
        parsed = parse_rewind(body)
        # cleanupMedia is checked and resolved by version; it removes the session files written after the message.
        cleanup = quirks.cleanup_media(self.profile, body, parsed.cleanup_media)
        logger.debug("rewind %s cleanupMedia=%s", _session_id(request), cleanup)
        session = await run_in_threadpool(
            self.store.rewind_session, _session_id(request), message_id=parsed.message_id, cleanup_media=cleanup
        )
        return self._session(session, endpoints.REWIND_SESSION.success_status)

    def by_operation(self) -> dict[str, Handler]:
        return {
            endpoints.LIST_SESSIONS.operation_id: self.list_sessions,
            endpoints.CREATE_SESSION.operation_id: self.create_session,
            endpoints.GET_SESSION.operation_id: self.get_session,
            endpoints.DELETE_SESSION.operation_id: self.delete_session,
            endpoints.UPDATE_SESSION_CALLBACKS.operation_id: self.update_session_callbacks,
            endpoints.EXPORT_SESSION.operation_id: self.export_session,
            endpoints.FORK_SESSION.operation_id: self.fork_session,
            endpoints.REWIND_SESSION.operation_id: self.rewind_session,
        }


def _routes(store: SessionStore, profile: MixProfile = SEED, agent: ScriptedAgent | None = None) -> list[Route]:
    """One route per path with every method it serves, so that a 405 names all allowed methods.

    Only the operations the profile's Mix version offers are routed; the rest get the router's 404.
    """
    handlers = _Handlers(store, profile, agent).by_operation()
    by_path: dict[str, dict[str, Handler]] = {}
    for endpoint in endpoints.ALL_ENDPOINTS:
        if not profile.offers(endpoint):
            continue
        by_path.setdefault(endpoint.path, {})[endpoint.method] = handlers[endpoint.operation_id]

    def dispatcher(methods: dict[str, Handler]) -> Handler:
        async def dispatch(request: Request) -> Response:
            method = "GET" if request.method == "HEAD" else request.method
            return await methods[method](request)

        return dispatch

    routes = [Route(path, dispatcher(methods), methods=list(methods)) for path, methods in by_path.items()]
    routes.append(Route(endpoints.HEALTH_CHECK.path, _health, methods=["GET"]))
    return routes


async def _health(request: Request) -> Response:
    """Mix's ``GET /health``, which readiness probes ask; like Mix's, it needs no API key."""
    now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    version = f"mix-emulator {__version__} (plays Mix {_profile(request).version})"
    return JSONResponse({"status": "healthy", "timestamp": now, "version": version})


def create_app(
    store: SessionStore,
    *,
    api_key: str | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    profile: MixProfile = SEED,
    agent: AgentSettings | None = None,
) -> Starlette:
    """The emulator as an ASGI app over ``store``, playing the Mix version ``profile`` describes.

    With a non-empty ``api_key`` every ``/api`` request needs ``Authorization: Bearer <api_key>``, as a
    Mix with authentication configured would; without one, everything is open, like a local Mix.
    """
    middleware = [
        Middleware(RawPathRoutingMiddleware),
        Middleware(InternalErrorMiddleware),
        Middleware(BodyLimitMiddleware, limit=max_body_bytes),
    ]
    if api_key:
        middleware.append(Middleware(BearerAuthMiddleware, api_key=api_key))
    scripted = ScriptedAgent(store, agent, profile)
    app = Starlette(
        routes=[*_routes(store, profile, scripted), *scripted.routes(), *file_routes(store, profile)],
        middleware=middleware,
        exception_handlers={
            RequestError: _request_error,
            StoreError: _store_error,
            HTTPException: _http_error,
        },
    )
    app.state.agent = scripted
    # No slash redirects: a client that gets a path wrong should see a 404 envelope, not a 307.
    app.router.redirect_slashes = False
    app.state.mix_profile = profile
    return app
