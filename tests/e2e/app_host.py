"""A test host for the session view: a loopback web page that embeds the App, and a bridge to a real mix-mcp.

The page (``app_host.html``) speaks the MCP Apps bridge protocol to the App over postMessage; whatever the
App asks of the server (``tools/call``, ``resources/read``) the page POSTs to ``/bridge``, where an MCP
``Client`` that declares the Apps extension forwards it to mix-mcp over Streamable HTTP. The server's
confirmation questions (elicitation) are answered "yes" and recorded, as a user clicking OK would; a run's
permission request or question is dismissed, so that the view puts it to the user in place.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mcp_types as types
import uvicorn
from mcp import Client
from mcp.client import ClientRequestContext, advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from mcp.shared.exceptions import MCPError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from tests.system_parts import require_node_package

PAGE = (Path(__file__).parent / "app_host.html").read_text(encoding="utf-8")
APPS = advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})


@dataclass
class HostRecord:
    """What went through the bridge: each (method, params), and each question the server asked."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)


def _dump(result: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = result.model_dump(by_alias=True, mode="json", exclude_none=True)
    return dumped


def host_app(mcp_url: str, record: HostRecord, mode: str) -> Starlette:
    async def answer(
        context: ClientRequestContext, params: types.ElicitRequestParams
    ) -> types.ElicitResult | types.ErrorData:
        record.questions.append(params.message)
        schema = getattr(params, "requested_schema", None) or {}
        if "confirm" not in (schema.get("properties") or {}):
            # A run's permission request or question: dismissed here, so that the view asks in place.
            return types.ElicitResult(action="cancel")
        return types.ElicitResult(action="accept", content={"confirm": True})

    async def page(_request: Request) -> Response:
        return HTMLResponse(PAGE, headers={"Cache-Control": "no-store"})

    async def bridge(request: Request) -> Response:
        body = await request.json()
        method, params = str(body.get("method")), dict(body.get("params") or {})
        record.calls.append((method, params))
        client = Client(mcp_url, mode=mode, extensions=[APPS], cache=None, elicitation_callback=answer)
        try:
            async with client:
                if method == "tools/list":
                    return JSONResponse({"result": _dump(await client.list_tools())})
                if method == "tools/call":
                    result = await client.call_tool(str(params.get("name")), params.get("arguments"))
                    return JSONResponse({"result": _dump(result)})
                if method == "resources/read":
                    return JSONResponse({"result": _dump(await client.read_resource(str(params.get("uri"))))})
        except MCPError as exc:
            return JSONResponse({"error": {"code": exc.error.code, "message": exc.error.message}})
        return JSONResponse({"error": {"code": -32601, "message": f"the test host does not forward {method}"}})

    return Starlette(routes=[Route("/", page), Route("/bridge", bridge, methods=["POST"])])


@contextmanager
def running_host(mcp_url: str, *, mode: str = "auto") -> Iterator[tuple[str, HostRecord]]:
    """Serve the test host on a loopback port in a thread; yield its URL and its record; always stop it."""
    record = HostRecord()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(host_app(mcp_url, record, mode), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the test host did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", record
    finally:
        server.should_exit = True
        thread.join(20)
        sock.close()


def ext_apps_schema(name: str) -> dict[str, Any]:
    """One message or metadata schema of the MCP Apps protocol, from ``@modelcontextprotocol/ext-apps``.

    Each entry of its generated ``schema.json`` is a whole JSON Schema (2020-12) of its own.
    """
    package = require_node_package("@modelcontextprotocol/ext-apps")
    schemas = json.loads((package / "dist" / "src" / "generated" / "schema.json").read_text(encoding="utf-8"))
    schema: dict[str, Any] = schemas["$defs"][name]
    return schema


#: The schema of each bridge message, by method; requests and notifications are checked as {method, params}.
BRIDGE_SCHEMAS = {
    "ui/initialize": "McpUiInitializeRequest",
    "ui/notifications/initialized": "McpUiInitializedNotification",
    "ui/notifications/size-changed": "McpUiSizeChangedNotification",
    "ui/notifications/tool-input": "McpUiToolInputNotification",
    "ui/notifications/tool-result": "McpUiToolResultNotification",
    "ui/notifications/host-context-changed": "McpUiHostContextChangedNotification",
}
