"""Which Mix a server talks to: the configured one, or a built-in emulator started for it (``--emulator``).

The command line and the ASGI factory decide this, not the serving layer: serving/ never imports the
emulator, it only enters the context manager it is handed (once per process, in its lifespan).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from mix_mcp.config import Settings


@contextmanager
def mix_target(settings: Settings, db: str | None = None) -> Iterator[Settings]:
    """Yield the settings to serve with, starting the in-process emulator (state in ``db``) when asked for."""
    if not settings.use_emulator:
        yield settings
        return
    from mix_mcp.emulator import BackgroundEmulator  # only now: the emulator is not part of serving

    with BackgroundEmulator(db=db or ":memory:", mix_version=settings.mix_version) as emulator:
        yield settings.with_overrides(base_url=emulator.url)
