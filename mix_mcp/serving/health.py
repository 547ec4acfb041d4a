"""Operations endpoints: ``GET /healthz`` (the process answers) and ``GET /readyz`` (Mix answers too).

Both sit outside the token check, for load balancers and orchestrators, and so say nothing a
stranger could use: no URLs, no credentials, no session data. Liveness never calls Mix, so a Mix
outage does not get healthy replicas restarted; readiness does, so traffic goes where Mix is reachable.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mix_mcp._version import __version__
from mix_mcp.config import HEALTH_PATH, READY_PATH
from mix_mcp.mix.client import HealthProbe

_NO_STORE: Final = {"Cache-Control": "no-store"}

#: Answers "not started yet" (``None``), or probes Mix once.
Prober = Callable[[], Awaitable[HealthProbe] | None]


def _reply(status_code: int, body: dict[str, Any]) -> Response:
    return JSONResponse(body, status_code=status_code, headers=_NO_STORE)


def health_routes(*, draining: Callable[[], bool], probe: Prober) -> list[Route]:
    async def healthz(_request: Request) -> Response:
        return _reply(200, {"status": "ok", "version": __version__})

    async def readyz(_request: Request) -> Response:
        if draining():
            return _reply(503, {"status": "stopping"})
        pending = probe()
        if pending is None:
            return _reply(503, {"status": "starting"})
        found = await pending
        mix: dict[str, Any] = {"ok": found.ready, "latency_ms": found.latency_ms}
        if found.status is not None:
            mix["status"] = found.status
        if found.problem is not None:
            mix["problem"] = found.problem
        return _reply(200 if found.ready else 503, {"status": "ready" if found.ready else "unavailable", "mix": mix})

    return [Route(HEALTH_PATH, healthz, methods=["GET"]), Route(READY_PATH, readyz, methods=["GET"])]
