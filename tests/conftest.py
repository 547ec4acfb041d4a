"""Shared fixtures: anyio on asyncio for every async test; each test its own per-user data location."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import stop_per_user_emulators


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def mix_mcp_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Where `--emulator` keeps its per-user emulator during this test: never the real home directory.

    Set through XDG_DATA_HOME, which subprocesses inherit (``clean_env`` drops only MIX_* variables),
    so every ``mix-mcp ... --emulator`` a test starts shares this test's emulator and no other's. Every
    emulator recorded under the test's tmp_path is stopped afterwards by its recorded pid, including one
    started by a process given only HOME=tmp_path (an MCP client's default environment has no XDG_*).
    """
    data = tmp_path / "xdg-data"
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    monkeypatch.delenv("MIX_MCP_HOME", raising=False)
    yield data / "mix-mcp"
    stop_per_user_emulators(tmp_path)
