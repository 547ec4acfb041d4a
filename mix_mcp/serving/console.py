"""The console: the session view in a browser at ``/console``, for people without an App-capable assistant.

``GET /console`` is a small page that hosts the session view (the MCP App of ``tools.app``) in a sandboxed
iframe and bridges it to this server's own MCP endpoint: the page speaks Streamable HTTP to it with
``fetch`` and relays the view's JSON-RPC (``ui/initialize``, ``tools/call``, ``resources/read``). So the
console can do exactly what an MCP client with this server's credentials can do, and is protected the
same way: every MCP request it makes carries the bearer token (or an OAuth access token) through the
endpoint's own gate; the page itself holds no data and asks for the token (or reads it from the
address's fragment, which browsers never send). Both pages pass the same exact Host/Origin checks as
the endpoint and carry a strict Content-Security-Policy header: the console runs only its own inline
script (by hash), connects only to its own origin and frames only the view; the view loads nothing and
connects nowhere (its own CSP). ``--no-ui`` turns the console off with the rest of the view.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterable
from functools import cache
from importlib import resources as package_files
from typing import Final

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from mix_mcp.config import Settings
from mix_mcp.serving.host_check import HostOriginGuard, HostOriginPolicy
from mix_mcp.tools import app as view_package
from mix_mcp.tools.app import session_app
from mix_mcp.tools.operations import Operation

CONSOLE_PATH: Final = "/console"
VIEW_PATH: Final = "/console/view"
_CONFIG_SLOT: Final = "/*MIX_MCP_CONSOLE*/{}"
_INLINE: Final = re.compile(r"<(script|style)>(.*?)</\1>", re.DOTALL)
#: The view's own policy (as its meta element says), served as a header too, and framed only by the console.
VIEW_CSP: Final = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; font-src data:; "
    "connect-src 'none'; frame-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)
_HEADERS: Final = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}


@cache
def _template() -> str:
    return (package_files.files(view_package) / "console.html").read_text(encoding="utf-8")


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def console_page(endpoint_path: str) -> tuple[str, str]:
    """The console page for an endpoint, and its CSP: its inline script and style allowed by hash alone."""
    # Relative to the page, so that a proxy that serves the server under a path prefix keeps them right.
    relative = {"endpoint": endpoint_path.lstrip("/"), "view": VIEW_PATH.lstrip("/")}
    config = json.dumps(relative).replace("<", "\\u003c")
    html = _template().replace(_CONFIG_SLOT, "/*MIX_MCP_CONSOLE*/" + config, 1)
    scripts = [_hash(body) for kind, body in _INLINE.findall(html) if kind == "script"]
    styles = [_hash(body) for kind, body in _INLINE.findall(html) if kind == "style"]
    csp = (
        f"default-src 'none'; script-src {' '.join(scripts)}; style-src {' '.join(styles)}; "
        "connect-src 'self'; frame-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    )
    return html, csp


class _Page:
    """A fixed HTML page with its own headers, for GET and HEAD."""

    def __init__(self, html: str, csp: str) -> None:
        self.response_headers = {**_HEADERS, "Content-Security-Policy": csp}
        self.html = html

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response: Response = HTMLResponse(self.html, headers=self.response_headers)
        if Request(scope).method not in ("GET", "HEAD"):
            response = Response("Method Not Allowed", status_code=405, headers={"Allow": "GET, HEAD"})
        await response(scope, receive, send)


def console_routes(settings: Settings, operations: Iterable[Operation], hosts: HostOriginPolicy) -> list[BaseRoute]:
    """``/console`` and the view it frames, behind the endpoint's Host/Origin checks; none with ``--no-ui``."""
    view = session_app(settings, {op.name: op for op in operations})
    if view is None or settings.transport == "sse":
        return []
    page, csp = console_page(settings.endpoint_path)
    guarded: list[tuple[str, ASGIApp]] = [
        (CONSOLE_PATH, HostOriginGuard(_Page(page, csp), hosts)),
        (VIEW_PATH, HostOriginGuard(_Page(view.html, VIEW_CSP), hosts)),
    ]
    return [Route(path, app, methods=["GET", "HEAD"]) for path, app in guarded]


def console_url(base: str) -> str:
    """Where a person opens the console on a server whose base URL (scheme, host, port) is ``base``."""
    return base.rstrip("/") + CONSOLE_PATH


__all__ = ["CONSOLE_PATH", "VIEW_CSP", "VIEW_PATH", "console_page", "console_routes", "console_url"]
