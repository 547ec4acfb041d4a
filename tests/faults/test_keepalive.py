"""Keep-alive against a Mix that drops idle connections: creates never fail for a connection Mix had closed.

The stub closes any connection idle for 300 ms, and the calls come about 300 ms apart, so that a
pooled connection is often closed just as it would be reused. With ``--keepalive-expiry`` below Mix's
idle timeout, and a create retried only when not one byte of it left, every call succeeds and Mix
sees each create exactly once.
"""

from __future__ import annotations

import random

import anyio
import pytest

from mix_mcp.config import Settings
from tests.faults.upstream import FaultUpstream, Respond
from tests.support import stdio_client_for, text_of
from tests.unit.fakes import SESSION

CALLS = 30


@pytest.mark.anyio
async def test_creates_survive_a_mix_that_drops_idle_connections() -> None:
    with FaultUpstream(fallback=Respond.json(201, SESSION), idle_close=0.3) as upstream:
        async with stdio_client_for("--base-url", upstream.url, "--keepalive-expiry", "0.1", mode="auto") as client:
            for index in range(CALLS):
                result = await client.call_tool("create_session", {"title": f"keep-alive {index}"})
                assert not result.is_error, f"call {index}: {text_of(result)}"
                await anyio.sleep(random.uniform(0.25, 0.35))
        creates = [r for r in upstream.requests if r.method == "POST"]
    assert len(creates) == CALLS, "each create reached Mix exactly once"


def test_the_default_keepalive_expiry_is_below_common_idle_timeouts() -> None:
    # Node's default keep-alive timeout is 5 s, nginx 75 s, most load balancers 60 s.
    assert Settings().keepalive_expiry < 5
    assert Settings(keepalive_expiry=0.1).keepalive_expiry == 0.1
