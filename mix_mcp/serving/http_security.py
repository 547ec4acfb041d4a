"""Who may use a network MCP endpoint: Host and Origin checks, the bearer token, and the exposure rule.

The rule behind the defaults: whoever can reach the MCP endpoint acts on Mix with this server's
credentials. So a loopback-only server may go without a token, a reachable one may not (unless the
operator says something in front authenticates), and browsers are kept out by Host/Origin checks
that defeat DNS rebinding. Tokens are compared in constant time and never logged.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Final

from mcp.server.transport_security import TransportSecuritySettings
from starlette.responses import JSONResponse, Response
from starlette.types import Scope

from mix_mcp.config import ConfigError, Settings, check_token, describe_setting
from mix_mcp.listening import is_loopback

#: What the SDK accepts on a loopback server; every server here starts from it.
LOOPBACK_HOSTS: Final = ("127.0.0.1:*", "localhost:*", "[::1]:*")
LOOPBACK_ORIGINS: Final = ("http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*")
_WILDCARD_HOSTS: Final = frozenset({"0.0.0.0", "::", ""})
_REALM: Final = 'Bearer realm="mix-mcp"'


def resolve_auth_token(settings: Settings) -> str | None:
    """The token clients must send, from ``--auth-token`` or the first line of ``--auth-token-file``."""
    if settings.auth_token_file is None:
        return settings.auth_token
    path = Path(settings.auth_token_file).expanduser()
    where = describe_setting("auth_token_file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise ConfigError(f"{where}: cannot read {path}: {reason}") from None
    lines = text.strip().splitlines()
    token = lines[0].strip() if lines else ""
    check_token(token, f"the token in {path} ({where})")
    return token


def check_exposure(settings: Settings, token: str | None) -> None:
    """Refuse, before anything is bound, to serve a reachable address to anyone who asks."""
    if token is not None or settings.oauth_issuer is not None:
        return
    if settings.allow_unauthenticated or is_loopback(settings.host):
        return
    raise ConfigError(
        f"refusing to listen on {settings.host} without a token: anyone who can reach it could act on your Mix "
        f"sessions with this server's Mix credentials. Set {describe_setting('auth_token')} (or "
        f"{describe_setting('auth_token_file')}) and give clients 'Authorization: Bearer <token>'; or keep "
        f"--host 127.0.0.1; or, if a proxy or private network in front already authenticates, pass "
        f"{describe_setting('allow_unauthenticated')}"
    )


def host_patterns(entry: str) -> list[str]:
    """Host header patterns for one ``--allowed-hosts`` entry: a bare name also matches it with any port."""
    has_port = "]:" in entry if entry.startswith("[") else ":" in entry
    return [entry] if has_port else [entry, f"{entry}:*"]


def transport_security(settings: Settings) -> TransportSecuritySettings:
    """DNS-rebinding protection for the SDK's transports, on whatever address the server listens.

    The SDK switches the protection off for non-loopback hosts; here it stays on, accepting the
    loopback names, a specific address the server was bound to, and what the operator adds.
    """
    hosts = list(LOOPBACK_HOSTS)
    bound = settings.host
    if bound not in _WILDCARD_HOSTS and not is_loopback(bound):
        hosts.extend(host_patterns(f"[{bound}]" if ":" in bound else bound))
    for entry in settings.allowed_hosts:
        hosts.extend(host_patterns(entry))
    origins = [*LOOPBACK_ORIGINS, *(origin.rstrip("/") for origin in settings.allowed_origins)]
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins)


def _digest(value: bytes) -> bytes:
    # Equal-length digests make the comparison's time independent of the token's length too.
    return hashlib.sha256(value).digest()


class AccessPolicy:
    """Decides whether one MCP request may proceed; ``refusal`` returns the answer when it may not."""

    def __init__(self, token: str | None, *, allow_unauthenticated: bool) -> None:
        self._token_digest = _digest(token.encode()) if token is not None else None
        self._allow_unauthenticated = allow_unauthenticated

    @property
    def requires_token(self) -> bool:
        return self._token_digest is not None

    def refusal(self, scope: Scope) -> Response | None:
        if self._token_digest is None:
            return None if self._allow_unauthenticated or _arrived_on_loopback(scope) else _exposed()
        presented = _bearer_token(scope)
        if presented is None:
            return _unauthorized("This MCP endpoint needs an 'Authorization: Bearer <token>' header.", None)
        if not hmac.compare_digest(_digest(presented), self._token_digest):
            return _unauthorized("The bearer token is not the one this server was started with.", "invalid_token")
        return None


def _bearer_token(scope: Scope) -> bytes | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.strip().partition(b" ")
            token = token.strip()
            return token if scheme.lower() == b"bearer" and token else None
    return None


def _arrived_on_loopback(scope: Scope) -> bool:
    """Whether the connection reached us on a loopback address (a Unix socket counts as local)."""
    server = scope.get("server")
    return server is None or is_loopback(str(server[0]))


def _unauthorized(message: str, error: str | None) -> Response:
    challenge = _REALM if error is None else f'{_REALM}, error="{error}"'
    return JSONResponse(
        {"error": "unauthorized", "message": message},
        status_code=401,
        headers={"WWW-Authenticate": challenge, "Cache-Control": "no-store"},
    )


def _exposed() -> Response:
    return JSONResponse(
        {
            "error": "forbidden",
            "message": "This server has no token, so it answers MCP requests on loopback addresses only. "
            "Its operator can set MIX_MCP_AUTH_TOKEN, or MIX_MCP_ALLOW_UNAUTHENTICATED=true if something in "
            "front authenticates.",
        },
        status_code=403,
    )
