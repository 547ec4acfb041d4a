"""Processes the e2e suite shares: emulators (one with a 2,000-message session) and one server per network
transport; tests create what they change."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mix_mcp.emulator import LARGE_SESSION_ID, SessionStore, seed_demo_data, seed_large_session
from tests.support import ServerProcess, running_emulator, running_server

#: Messages in the large session: the size the issue asks transcript shaping to be tested at.
LARGE_MESSAGES = 2_000


@pytest.fixture(scope="session")
def emulator_url() -> Iterator[str]:
    with running_emulator() as url:
        yield url


@pytest.fixture(scope="session")
def large_emulator_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An emulator whose store holds the demo sessions and a 2,000-message session (LARGE_SESSION_ID).

    The messages are short (a few hundred bytes), so that reading the whole session window by window
    stays quick; `--large-session` would make each message 10 KB.
    """
    db = tmp_path_factory.mktemp("mix") / "large.db"
    store = SessionStore(db)
    try:
        seed_demo_data(store)
        seed_large_session(store, messages=LARGE_MESSAGES, content_bytes=300, session_id=LARGE_SESSION_ID)
    finally:
        store.close()
    with running_emulator("--db", str(db), "--no-seed") as url:
        yield url


@pytest.fixture(scope="session")
def sse_server(emulator_url: str) -> Iterator[ServerProcess]:
    with running_server("--transport", "sse", "--base-url", emulator_url) as server:
        yield server


@pytest.fixture(scope="session")
def http_server(emulator_url: str) -> Iterator[ServerProcess]:
    with running_server("--transport", "http", "--base-url", emulator_url) as server:
        yield server
