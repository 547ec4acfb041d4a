"""Stateful Streamable HTTP sessions: how long an idle one lives, how many may be open, and a 503 that says why.

Each session costs memory until it ends, and many clients never end theirs. The SDK closes a
session idle for ``--session-idle-expiry`` seconds and refuses a new one while ``--max-sessions`` are
open, with a bare "Too many open sessions"; ``SessionLimitNotice`` turns that answer into one naming
the limit, the settings, and what the client and the operator can do.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mix_mcp.config import Settings, describe_setting

_SESSION_HEADER = b"mcp-session-id"


def session_manager_limits(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for the SDK's ``StreamableHTTPSessionManager``."""
    return {"session_idle_timeout": settings.session_idle_expiry, "max_sessions": settings.max_sessions}


def limit_message(settings: Settings) -> str:
    return (
        f"This mix-mcp server already holds its limit of {settings.max_sessions} open MCP sessions "
        f"({describe_setting('max_sessions')}). Idle sessions close after {settings.session_idle_expiry:g} s "
        f"({describe_setting('session_idle_expiry')}); retry later. Clients should end sessions they no longer "
        "need (HTTP DELETE); the operator can raise the limit, shorten the expiry, or run with --stateless."
    )


class SessionLimitNotice:
    """Rewrites the SDK's 503 for a request that would open a session beyond the limit."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or any(name == _SESSION_HEADER for name, _ in scope.get("headers", ())):
            await self.app(scope, receive, send)
            return
        refused = False

        async def notice(message: Message) -> None:
            nonlocal refused
            if message["type"] == "http.response.start" and message["status"] == 503:
                refused = True
                return
            if refused and message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                body = {
                    "jsonrpc": "2.0",
                    "id": None,
                    "error": {"code": -32603, "message": limit_message(self.settings)},
                }
                payload = json.dumps(body).encode()
                headers = [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                    (b"retry-after", b"30"),
                ]
                await send({"type": "http.response.start", "status": 503, "headers": headers})
                await send({"type": "http.response.body", "body": payload})
                return
            await send(message)

        await self.app(scope, receive, notice)
