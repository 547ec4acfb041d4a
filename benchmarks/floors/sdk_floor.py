"""sdk-floor: the mcp SDK's own minimum, a bare MCPServer with one tool doing one httpx2 GET.

The benchmark compares mix-mcp with this server over the same transport and upstream: stdio by
default; ``--http PORT`` serves Streamable HTTP on loopback with the SDK's defaults, and
``--http PORT --stateless`` its stateless mode.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import httpx2
from mcp.server import MCPServer

BASE_URL = os.environ.get("MIX_BASE_URL", "http://localhost:8088").rstrip("/")
server = MCPServer("sdk-floor")
http = httpx2.AsyncClient(base_url=BASE_URL)


@server.tool()
async def get_session(session_id: str) -> dict[str, Any]:
    """Get one Mix session."""
    response = await http.get(f"/api/sessions/{session_id}")
    response.raise_for_status()
    data: dict[str, Any] = response.json()
    return data


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--http":
        server.run(
            transport="streamable-http",
            host="127.0.0.1",
            port=int(sys.argv[2]),
            stateless_http="--stateless" in sys.argv[3:],
        )
    else:
        server.run()
