"""Giving a large answer's memory back: glibc's malloc_trim where it exists, nothing elsewhere, never an error."""

from __future__ import annotations

import asyncio
import platform
import sys

import pytest

from mix_mcp.serving import memory


@pytest.mark.skipif(not (sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"), reason="glibc only")
def test_glibc_has_malloc_trim_and_takes_the_mmap_threshold() -> None:
    assert memory._malloc_trim() is not None
    memory.release_free_memory()
    assert memory.keep_large_blocks_mapped()


def test_release_soon_outside_a_loop_does_nothing() -> None:
    memory.release_soon()


def test_release_soon_runs_a_moment_later(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(memory, "release_free_memory", lambda: calls.append("trim"))

    async def main() -> None:
        memory.release_soon()
        assert calls == [], "not at once: the message just written is still referenced"
        await asyncio.sleep(0.2)

    asyncio.run(main())
    assert calls == ["trim"]
