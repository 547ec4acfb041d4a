"""Whether any byte of a request left this process: read from the HTTP library's trace of one attempt.

A create or fork may be repeated only when it cannot have reached Mix. A failed connection proves
that; so does a pooled connection that Mix closed just as it was reused, when writing the request
head failed: a request head (a few hundred bytes) goes out in one write, so a failed write sent none
of it, and without its head no server can act on a request. httpcore reports each step of an attempt
to a ``trace`` callback; this one remembers the steps that decide the question.
"""

from __future__ import annotations

from typing import Any


class WireTrace:
    """The ``trace`` request extension for one attempt: ``nothing_sent`` once it has failed."""

    __slots__ = ("_head_failed", "_head_sent", "_head_started")

    def __init__(self) -> None:
        self._head_started = False
        self._head_sent = False
        self._head_failed = False

    async def __call__(self, event: str, info: dict[str, Any]) -> None:
        if not event.endswith((".send_request_headers.started", ".send_request_headers.complete",
                               ".send_request_headers.failed")):  # fmt: skip
            return
        step = event.rsplit(".", 1)[1]
        if step == "started":
            self._head_started = True
        elif step == "complete":
            self._head_sent = True
        else:
            self._head_failed = True

    @property
    def nothing_sent(self) -> bool:
        """True when the one write of the request head failed. No report at all proves nothing (another
        transport may not trace), so only a reported failure counts."""
        return self._head_started and self._head_failed and not self._head_sent
