"""OAuth scopes: which tools a token may call, derived from the operation table's read-only hint.

``mix:read`` allows the read-only tools (and reading the sessions as resources), ``mix:write`` the
others. Without OAuth (stdio, a static token) every request may do everything; the server learns
what a request's token grants from the SDK's ``AuthenticatedUser`` that the OAuth gate put on it.
"""

from __future__ import annotations

from typing import Any, Final

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser

from mix_mcp.tools.operations import Operation

READ_SCOPE: Final = "mix:read"
WRITE_SCOPE: Final = "mix:write"
SCOPES: Final = (READ_SCOPE, WRITE_SCOPE)
#: MCP methods other than tools/call that read Mix data: the sessions as resources, completing session ids.
READING_METHODS: Final = frozenset({"resources/read", "completion/complete"})


def required_scope(op: Operation) -> str:
    return READ_SCOPE if op.read_only else WRITE_SCOPE


def _user(request: Any) -> AuthenticatedUser | None:
    scope = getattr(request, "scope", None)
    user = scope.get("user") if isinstance(scope, dict) else None
    return user if isinstance(user, AuthenticatedUser) else None


def granted(request: Any) -> frozenset[str] | None:
    """The scopes of the OAuth token behind ``request`` (the SDK's HTTP request), ``None`` without OAuth."""
    user = _user(request)
    return frozenset(user.scopes) if user is not None else None


def may_call(request: Any, op: Operation) -> bool:
    scopes = granted(request)
    return scopes is None or required_scope(op) in scopes


def caller(request: Any) -> str | None:
    """Who called, for logs and spans: the token's ``sub`` (or its client), never the token."""
    user = _user(request)
    if user is None:
        return None
    return user.access_token.subject or user.access_token.client_id or None
