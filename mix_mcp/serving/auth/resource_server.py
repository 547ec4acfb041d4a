"""mix-mcp as an OAuth 2.1 resource server (MCP authorization): metadata, challenges, and the gate.

With ``--oauth-issuer`` every MCP request needs an access token from that issuer, issued for this
server's public URL. The server publishes its Protected Resource Metadata (RFC 9728) at
``/.well-known/oauth-protected-resource`` and at the form suffixed with the MCP path, and every 401
points there (``WWW-Authenticate: Bearer resource_metadata=...``), so a client can find the
authorization server on its own. Scopes are checked before the SDK sees a request: a ``tools/call``
beyond the token's scopes gets 403 ``insufficient_scope`` naming the scope to ask for (step-up).

The token stays here: Mix is called with the server's own ``MIX_API_KEY``, and only the caller's
``sub`` reaches logs and spans.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, Final
from urllib.parse import urlsplit

import httpx2
from mcp.server.auth.handlers.metadata import ProtectedResourceMetadataHandler
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.routes import build_resource_metadata_url, cors_middleware
from mcp.shared.auth import ProtectedResourceMetadata
from pydantic import AnyHttpUrl
from starlette.authentication import AuthCredentials
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mix_mcp.config import Settings
from mix_mcp.observe.logs import log_event
from mix_mcp.serving.auth.issuer import IssuerKeys, IssuerUnavailable, TokenRejected
from mix_mcp.serving.auth.tokens import Introspector, JwtVerifier, TokenChecker
from mix_mcp.serving.jsonrpc_guard import parse_error_body, read_json
from mix_mcp.serving.scopes import READ_SCOPE, READING_METHODS, SCOPES, required_scope
from mix_mcp.tools.operations import Operation

logger = logging.getLogger("mix_mcp.oauth")

WELL_KNOWN: Final = "/.well-known/oauth-protected-resource"


def metadata_document(settings: Settings) -> ProtectedResourceMetadata:
    """This server's Protected Resource Metadata: what it is, who issues its tokens, which scopes exist."""
    assert settings.public_url is not None and settings.oauth_issuer is not None
    # Validated from strings, so that the model keeps a path-less issuer as spelled: issuer identifiers
    # are compared as exact strings (RFC 8414 §3.3), and "https://as.example.com/" is another issuer.
    return ProtectedResourceMetadata.model_validate(
        {
            "resource": settings.public_url,
            "authorization_servers": [settings.oauth_issuer],
            "scopes_supported": list(SCOPES),
            "resource_name": "mix-mcp",
        }
    )


def metadata_paths(settings: Settings) -> list[str]:
    """Where the metadata is served: the bare well-known path, and suffixed with the public and the local MCP path."""
    assert settings.public_url is not None
    public_path = urlsplit(settings.public_url).path.rstrip("/")
    local_path = settings.endpoint_path.rstrip("/")
    return list(dict.fromkeys([WELL_KNOWN, WELL_KNOWN + public_path, WELL_KNOWN + local_path]))


#: The longest text put in a challenge's quoted-string (a header line must stay short).
_QUOTED_MAX: Final = 300


def _quoted(text: str) -> str:
    """A value for a quoted-string in a challenge: printable ASCII only (headers are latin-1), no quotes
    or backslashes, and short: whatever a refused token held, the header stays valid."""
    kept = "".join(c for c in text if " " <= c <= "~" and c not in '"\\')
    return kept if len(kept) <= _QUOTED_MAX else kept[: _QUOTED_MAX - 3] + "..."


def challenge(metadata_url: str, *, error: str | None = None, description: str = "", scope: str = "") -> str:
    """A ``WWW-Authenticate: Bearer`` challenge (RFC 6750 §3, with RFC 9728's ``resource_metadata``)."""
    parts = [f'resource_metadata="{_quoted(metadata_url)}"']
    if error is not None:
        parts.insert(0, f'error="{error}"')
        if description:
            parts.insert(1, f'error_description="{_quoted(description)}"')
    if scope:
        parts.append(f'scope="{_quoted(scope)}"')
    return "Bearer " + ", ".join(parts)


def _refusal(status: int, error: str, message: str, www_authenticate: str) -> Response:
    return JSONResponse(
        {"error": error, "error_description": message},
        status_code=status,
        headers={"WWW-Authenticate": www_authenticate, "Cache-Control": "no-store"},
    )


def needed_scope(parsed: Any, operations: Mapping[str, Operation]) -> tuple[str, str] | None:
    """(scope, what needs it) for the first message of a parsed body that needs a scope; ``None`` if none does.

    JSON that is not JSON-RPC is left to the SDK, which answers it with the proper error.
    """
    for message in parsed if isinstance(parsed, list) else [parsed]:
        if not isinstance(message, dict):
            continue
        method = message.get("method")
        params = message.get("params")
        if method == "tools/call" and isinstance(params, dict):
            op = operations.get(str(params.get("name")))
            if op is not None:
                return required_scope(op), op.name
        elif method in READING_METHODS:
            return READ_SCOPE, str(method)
    return None


class _Replay:
    """Gives an app the body already read, then whatever else its client sends (a disconnect)."""

    def __init__(self, chunks: list[Message], receive: Receive) -> None:
        self._chunks = chunks
        self._receive = receive

    async def __call__(self) -> Message:
        if self._chunks:
            return self._chunks.pop(0)
        return await self._receive()


async def _read_body(receive: Receive, limit: int) -> tuple[bytes | None, list[Message]]:
    """The request body (``None`` when larger than ``limit``: the SDK refuses it) and the messages read."""
    messages: list[Message] = []
    size = 0
    body = bytearray()
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return None, messages
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None, messages
        body.extend(chunk)
        if not message.get("more_body", False):
            return bytes(body), messages


class ResourceServer:
    """The OAuth side of one server: its token checker, its metadata routes, and the gate it puts on MCP."""

    def __init__(self, settings: Settings, operations: Mapping[str, Operation]) -> None:
        assert settings.oauth_issuer is not None and settings.public_url is not None
        self.settings = settings
        self.operations = operations
        self.metadata_url = str(build_resource_metadata_url(AnyHttpUrl(settings.public_url)))
        self._checker: TokenChecker | None = None

    @property
    def checker(self) -> TokenChecker:
        if self._checker is None:
            raise RuntimeError("mix-mcp's ASGI app is not started: run its lifespan (see 'your own app' in the README)")
        return self._checker

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The HTTP client that talks to the authorization server, for as long as the app runs."""
        settings = self.settings
        assert settings.oauth_issuer is not None and settings.public_url is not None
        timeout = httpx2.Timeout(settings.read_timeout, connect=settings.connect_timeout)
        async with httpx2.AsyncClient(timeout=timeout, follow_redirects=False) as http:
            keys = IssuerKeys(settings.oauth_issuer, http)
            introspector = None
            if settings.oauth_client_id is not None and settings.oauth_client_secret is not None:
                introspector = Introspector(
                    keys,
                    settings.public_url,
                    settings.oauth_client_id,
                    settings.oauth_client_secret,
                    settings.oauth_introspection_url,
                )
            self._checker = TokenChecker(JwtVerifier(keys, settings.public_url), introspector)
            try:
                yield
            finally:
                self._checker = None

    def routes(self) -> list[BaseRoute]:
        """The Protected Resource Metadata, open to anyone (browsers included: CORS allows any origin)."""
        handler = ProtectedResourceMetadataHandler(metadata_document(self.settings))
        endpoint = cors_middleware(handler.handle, ["GET", "OPTIONS"])
        return [Route(path, endpoint=endpoint, methods=["GET", "OPTIONS"]) for path in metadata_paths(self.settings)]

    def protect(self, app: ASGIApp) -> ASGIApp:
        return OAuthGate(app, self)

    def unauthorized(self, message: str, error: str | None) -> Response:
        www = challenge(self.metadata_url, error=error, description=message if error else "", scope=" ".join(SCOPES))
        return _refusal(401, error or "unauthorized", message, www)

    def insufficient(self, needed: str, what: str, held: frozenset[str]) -> Response:
        has = " ".join(sorted(held)) or "no mix scope"
        message = f"{what} needs the scope {needed}; this token has {has}. Ask the authorization server for {needed}."
        wanted = " ".join(s for s in SCOPES if s in held or s == needed)
        www = challenge(self.metadata_url, error="insufficient_scope", description=message, scope=wanted)
        return _refusal(403, "insufficient_scope", message, www)


class OAuthGate:
    """Checks the bearer token and the scope a request needs, then hands it to the SDK with its user set.

    The SDK's ``AuthenticatedUser`` goes on the ASGI scope, so the SDK binds a session to the
    principal that opened it and the tool handlers can see the token's scopes and ``sub``.
    """

    def __init__(self, app: ASGIApp, server: ResourceServer) -> None:
        self.app = app
        self.server = server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        token = _bearer(scope)
        if token is None:
            refusal = self.server.unauthorized("This MCP endpoint needs an OAuth access token.", None)
            await refusal(scope, receive, send)
            return
        access = await self._check(token)
        if isinstance(access, Response):
            await access(scope, receive, send)
            return
        scope["user"] = AuthenticatedUser(access)
        scope["auth"] = AuthCredentials(access.scopes)
        if scope["method"] == "POST":
            body, messages = await _read_body(receive, self.server.settings.max_request_bytes)
            if body is not None:
                try:
                    parsed = read_json(body)
                except ValueError as exc:
                    # Refused here, as the SDK would refuse it: a body whose scope cannot be read never passes.
                    log_event(logger, logging.INFO, "body_refused", reason=_quoted(str(exc)))
                    await _parse_error(str(exc))(scope, receive, send)
                    return
                needed = needed_scope(parsed, self.server.operations)
                held = frozenset(access.scopes)
                if needed is not None and needed[0] not in held:
                    await self.server.insufficient(needed[0], needed[1], held)(scope, receive, send)
                    return
            receive = _Replay(messages, receive)
        await self.app(scope, receive, send)

    async def _check(self, token: str) -> AccessToken | Response:
        """The token's access, or the refusal to send: 401 for a bad token, 503 when the issuer cannot be asked."""
        try:
            return await self.server.checker.check(token)
        except TokenRejected as exc:
            log_event(logger, logging.INFO, "token_refused", reason=str(exc))
            return self.server.unauthorized(str(exc), "invalid_token")
        except IssuerUnavailable as exc:
            log_event(logger, logging.WARNING, "issuer_unavailable", reason=str(exc))
            return JSONResponse(
                {
                    "error": "temporarily_unavailable",
                    "error_description": "The authorization server cannot be "
                    "reached to check the token; try again shortly.",
                },
                status_code=503,
                headers={"Retry-After": "5", "Cache-Control": "no-store"},
            )
        except Exception as exc:  # the gate fails closed: a token no check could judge is refused, not a 500
            where = _innermost(exc)
            log_event(logger, logging.ERROR, "token_check_failed", error=type(exc).__name__, at=where)
            return self.server.unauthorized("the token could not be checked", "invalid_token")


def _parse_error(reason: str) -> Response:
    """400 with the JSON-RPC parse error, as the SDK answers a body it cannot parse."""
    return Response(parse_error_body(reason[:200]), status_code=400, media_type="application/json")


def _innermost(exc: BaseException) -> str:
    """Where an unexpected error was raised (file:line), for the log line that stands in for a traceback."""
    frames = traceback.extract_tb(exc.__traceback__)
    return f"{frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}" if frames else "?"


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").strip().partition(" ")
            token = token.strip()
            return token if scheme.lower() == "bearer" and token else None
    return None


def resource_server(settings: Settings, operations: Mapping[str, Operation]) -> ResourceServer | None:
    """The resource server ``settings`` ask for (``--oauth-issuer``), or ``None`` when OAuth is off."""
    if settings.oauth_issuer is None:
        return None
    return ResourceServer(settings, operations)


__all__ = ["ResourceServer", "challenge", "metadata_document", "metadata_paths", "needed_scope", "resource_server"]
