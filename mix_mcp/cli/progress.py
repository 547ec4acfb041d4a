"""Progress of a tool call on the command line: what MCP clients get as progress notifications, on stderr.

``mix-mcp call`` talks to the server as an MCP client with a progress callback, so the run tools report
their phases here exactly as they do to any client ("thinking", "running tool Bash", "waiting for
permission to use Bash"). On a terminal that becomes one status line redrawn in place, with a spinner
and the seconds elapsed, erased before the result is printed; otherwise (a pipe, a log file) one plain
line per new phase. stdout carries only the result either way.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Final, TextIO

import anyio

_SPINNER: Final = "|/-\\"
#: How often the terminal line is redrawn while nothing new arrives (the spinner and the seconds).
TICK_SECONDS: Final = 0.2
_ERASE: Final = "\r\x1b[K"


class ProgressLine:
    """Writes a call's progress to ``stream``: a live line on a terminal, plain lines elsewhere."""

    def __init__(
        self, tool: str, stream: TextIO | None = None, *, live: bool | None = None, plain: bool = True
    ) -> None:
        self.tool = tool
        #: Whether plain lines are written off a terminal (for run phases, not for a download's bytes).
        self.plain = plain
        self.stream = stream if stream is not None else sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self.started = time.monotonic()
        self.message: str | None = None
        self.events = 0
        self._frame = 0
        self._drawn = False

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        """The MCP client's progress callback."""
        self.events = int(progress)
        if not message:
            return
        changed = message != self.message
        self.message = message
        if self.live:
            self.draw()
        elif changed and self.plain:
            self._write(f"mix-mcp: {self.tool}: {message}\n")

    def draw(self) -> None:
        """Redraw the terminal line (no-op before the first message or when not live)."""
        if not self.live or self.message is None:
            return
        self._frame = (self._frame + 1) % len(_SPINNER)
        elapsed = time.monotonic() - self.started
        events = f"{self.events} event" + ("" if self.events == 1 else "s")
        line = f"{_SPINNER[self._frame]} {self.tool}: {self.message} ({events}, {elapsed:.0f} s)"
        width = _columns(self.stream)
        self._write(_ERASE + line[: max(10, width - 1)])
        self._drawn = True

    async def tick(self) -> None:
        """Keep the spinner and the seconds moving while the run is quiet; runs until cancelled."""
        if not self.live:
            return
        while True:
            await anyio.sleep(TICK_SECONDS)
            self.draw()

    def clear(self) -> None:
        """Erase the terminal line, so that what follows (the result, an error) starts on a clean line."""
        if self._drawn:
            self._write(_ERASE)
            self._drawn = False

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            pass  # a closed stderr must not end the call


def _columns(stream: TextIO) -> int:
    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError):
        return 80
    return columns or 80  # a terminal that never said its size reports 0
