"""Progress notifications from a run: a few words on each phase ("thinking", "running tool Bash").

Every phase change is reported; a repeat of the same phase at most once a second. A client that
stopped listening never ends the run: a failed notification is logged and forgotten.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from mcp.server.context import ServerRequestContext

from mix_mcp.observe.logs import log_event
from mix_mcp.tools.runs.record import RunRecord

logger = logging.getLogger("mix_mcp.runs")

#: Seconds between two progress notifications of the same phase (phase changes are always reported).
PROGRESS_INTERVAL: Final = 1.0

ProgressSink = Callable[[float, str], Awaitable[None]]


@dataclass
class RunProgress:
    """Progress notifications from a run: every phase change, a repeat of the same phase once a second."""

    sink: ProgressSink | None
    _last_phase: str | None = None
    _last_time: float = -math.inf

    async def update(self, record: RunRecord) -> None:
        if self.sink is None:
            return
        now = time.monotonic()
        if record.phase == self._last_phase and now - self._last_time < PROGRESS_INTERVAL:
            return
        self._last_phase, self._last_time = record.phase, now
        try:
            await self.sink(float(record.events), record.phase)
        except Exception as exc:  # a client gone quiet must not end the run
            log_event(logger, logging.DEBUG, "progress_failed", error=type(exc).__name__)


def progress_sink(request: ServerRequestContext[Any] | None) -> ProgressSink | None:
    """Progress for this call when the client sent a progress token, else ``None``."""
    if request is None:
        return None
    meta = request.params.get("_meta") if request.params else None
    if not isinstance(meta, dict) or meta.get("progressToken") is None:
        return None

    async def sink(events: float, message: str) -> None:
        await request.session.report_progress(events, None, message)

    return sink
