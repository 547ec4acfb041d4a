"""Processes the e2e suite shares: one emulator, one server per network transport; tests create what they change."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import ServerProcess, running_emulator, running_server


@pytest.fixture(scope="session")
def emulator_url() -> Iterator[str]:
    with running_emulator() as url:
        yield url


@pytest.fixture(scope="session")
def sse_server(emulator_url: str) -> Iterator[ServerProcess]:
    with running_server("--transport", "sse", "--base-url", emulator_url) as server:
        yield server


@pytest.fixture(scope="session")
def http_server(emulator_url: str) -> Iterator[ServerProcess]:
    with running_server("--transport", "http", "--base-url", emulator_url) as server:
        yield server
