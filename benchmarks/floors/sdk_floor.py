"""sdk-floor: the mcp SDK's own minimum, a bare MCPServer with one tool doing one httpx2 GET.

The benchmark compares mix-mcp with this server over the same stdio transport and upstream.
"""

from __future__ import annotations

import os
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
    server.run()
