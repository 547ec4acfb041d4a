"""One emulator per test session: starting uvicorn costs ~0.2 s, the tests themselves far less.

Tests that change state work on sessions they create (usually a full fork of the demo session), so
the seeded sessions stay as seeded for every other test.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest

from mix_mcp.emulator import DEMO_SESSION_ID, BackgroundEmulator

from ._support import session_body

DEMO_MESSAGE_COUNT = 12


@pytest.fixture(scope="session")
def emulator() -> Iterator[BackgroundEmulator]:
    with BackgroundEmulator() as running:
        yield running


@pytest.fixture(scope="session")
def client(emulator: BackgroundEmulator) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=emulator.url, timeout=10.0) as http:
        yield http


@pytest.fixture
def demo_copy(client: httpx2.Client) -> str:
    """A fresh forked copy of the whole demo session, free to rewind or delete."""
    response = client.post(
        f"/api/sessions/{DEMO_SESSION_ID}/fork", json={"messageIndex": DEMO_MESSAGE_COUNT - 1, "title": "copy"}
    )
    return str(session_body(response, 201)["id"])
