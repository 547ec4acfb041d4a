"""fastmcp-floor: the same single tool on FastMCP 4 (a benchmark-only dependency), over stdio or HTTP.

``--http PORT`` serves Streamable HTTP on loopback with FastMCP's defaults; ``--stateless`` its stateless mode.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import httpx2
from fastmcp import FastMCP  # type: ignore[import-not-found,unused-ignore]

BASE_URL = os.environ.get("MIX_BASE_URL", "http://localhost:8088").rstrip("/")
server = FastMCP("fastmcp-floor")
http = httpx2.AsyncClient(base_url=BASE_URL)


@server.tool()  # type: ignore[untyped-decorator,unused-ignore]
async def get_session(session_id: str) -> dict[str, Any]:
    """Get one Mix session."""
    response = await http.get(f"/api/sessions/{session_id}")
    response.raise_for_status()
    data: dict[str, Any] = response.json()
    return data


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--http":
        server.run(
            transport="http",
            host="127.0.0.1",
            port=int(sys.argv[2]),
            stateless_http="--stateless" in sys.argv[3:],
            show_banner=False,
            log_level="info",
        )
    else:
        server.run(show_banner=False)
