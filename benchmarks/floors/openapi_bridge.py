"""openapi-bridge: the peer a user could deploy instead of mix-mcp, FastMCP's OpenAPI bridge over Mix's API.

The bridge turns each operation of an OpenAPI document into a tool. By default the document is Mix's
``getSession`` operation as its contract states it (path parameter ``id``, a JSON object back), served
as ``get_session``; ``MIX_OPENAPI=path/to/openapi.yaml`` bridges a whole contract instead.
``--http PORT`` serves Streamable HTTP on loopback with FastMCP's defaults; ``--stateless`` its stateless mode.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import httpx2
import yaml
from fastmcp import FastMCP  # type: ignore[import-not-found,unused-ignore]

BASE_URL = os.environ.get("MIX_BASE_URL", "http://localhost:8088").rstrip("/")

GET_SESSION: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "Mix REST API", "version": "1.0.0"},
    "servers": [{"url": BASE_URL}],
    "paths": {
        "/api/sessions/{id}": {
            "get": {
                "operationId": "getSession",
                "description": "Retrieve detailed information about a specific session",
                "parameters": [
                    {
                        "name": "id",
                        "in": "path",
                        "required": True,
                        "description": "Session ID",
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {
                    "200": {
                        "description": "Session details",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
        }
    },
}


def _spec() -> dict[str, Any]:
    path = os.environ.get("MIX_OPENAPI")
    if not path:
        return GET_SESSION
    loaded: dict[str, Any] = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return loaded


if __name__ == "__main__":
    server = FastMCP.from_openapi(
        _spec(),
        client=httpx2.AsyncClient(base_url=BASE_URL),
        name="openapi-bridge",
        mcp_names={"getSession": "get_session"},
    )
    server.run(
        transport="http",
        host="127.0.0.1",
        port=int(sys.argv[2]),
        stateless_http="--stateless" in sys.argv[3:],
        show_banner=False,
        log_level="info",
    )
