"""Fixtures of the fault suite: a fresh scripted upstream per test, and fast-failing settings for it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from mix_mcp.config import Settings
from tests.faults.upstream import FaultUpstream

#: Small timeouts so that every fault resolves in about a second; the bounds the tests assert derive from these.
FAST: dict[str, Any] = {
    "connect_timeout": 1.0,
    "read_timeout": 0.5,
    "call_timeout": 5.0,
    "retry_deadline": 4.0,
    "max_retries": 2,
    "max_response_bytes": 65_536,
}


def fast_settings(upstream: FaultUpstream, **overrides: Any) -> Settings:
    return Settings(base_url=upstream.url, **{**FAST, **overrides})


@pytest.fixture
def upstream() -> Iterator[FaultUpstream]:
    with FaultUpstream() as server:
        yield server
