"""Which Mix a server talks to: the configured one, or the built-in emulator (``--emulator``).

The command line and the ASGI factory decide this, not the serving layer: serving/ never imports the
emulator, it only enters the context manager it is handed (once per process, in its lifespan).

``--emulator`` means the per-user emulator (``mix_mcp.emulator.daemon``): one background process per
user, started on first use and shared by every later process, so that what one ``mix-mcp call`` or one
stdio server creates, the next one sees, runs and permissions included. ``--emulator-mode private`` (and
``call --db``) keep the older emulator inside this process instead, for tests that want isolation; so
does a system without ``fork`` (Windows), where the per-user emulator is not available.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from mix_mcp.config import Settings


class EmulatorUnavailable(RuntimeError):
    """The per-user emulator could not be started or reached; the message says why and what to do."""


@contextmanager
def mix_target(settings: Settings, db: str | None = None) -> Iterator[Settings]:
    """Yield the settings to serve with, reaching the built-in emulator when asked for.

    ``db`` (``call --db``) asks for an emulator inside this process with its state in that file.
    """
    if not settings.use_emulator:
        yield settings
        return
    if settings.emulator_mode == "private" or db is not None or not hasattr(os, "fork"):
        from mix_mcp.emulator import BackgroundEmulator  # only now: the emulator is not part of serving

        with BackgroundEmulator(db=db or ":memory:", mix_version=settings.mix_version) as emulator:
            yield settings.with_overrides(base_url=emulator.url)
        return
    from mix_mcp.emulator import daemon

    try:
        instance = daemon.ensure_running(daemon.place_for(settings.home, settings.mix_version))
    except (daemon.EmulatorProcessError, OSError) as exc:
        raise EmulatorUnavailable(
            f"the built-in Mix emulator is unavailable: {exc}. `mix-mcp emulator status` shows it; "
            "--emulator-mode private runs one inside this process instead"
        ) from exc
    yield settings.with_overrides(base_url=instance.url)
