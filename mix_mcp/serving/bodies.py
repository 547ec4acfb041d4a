"""Request bodies read whole before an MCP request counts as work: slow ones time out, none holds up shutdown.

A client that sends headers and then trickles its body (or never sends it) would otherwise sit in
the SDK's body read for as long as it likes, counted as an exchange in flight, so a stopping server
waited the whole grace period for it and then logged a traceback per connection. Here the body is
read first, within ``--body-timeout``; a body still arriving when the server stops is not work in
flight: it gets 503 at once. Only a complete request is handed on (replayed to the app) and counted.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import anyio
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Receive

#: How often a body read looks up whether the server has started stopping.
_POLL_SECONDS: Final = 0.25


@dataclass(slots=True)
class ReadBody:
    """The request's messages as received, replayed to the app in order, then the live channel."""

    messages: list[Message]
    receive: Receive

    async def replay(self) -> Message:
        if self.messages:
            return self.messages.pop(0)
        return await self.receive()


async def read_body(receive: Receive, within: float, stopping: Callable[[], bool]) -> ReadBody | Response:
    """Read the whole body within ``within`` seconds; a refusal (408, or 503 when stopping) otherwise."""
    deadline = time.monotonic() + within
    messages: list[Message] = []
    while True:
        left = deadline - time.monotonic()
        if stopping():
            return _refused(503, "This mix-mcp server is shutting down and the request body had not arrived.")
        if left <= 0:
            return _refused(408, f"The request body did not arrive within {within:g} s (--body-timeout).")
        with anyio.move_on_after(min(_POLL_SECONDS, left)):
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request" or not message.get("more_body", False):
                return ReadBody(messages, receive)


def _refused(status: int, message: str) -> Response:
    kind = "request_timeout" if status == 408 else "unavailable"
    return JSONResponse({"error": kind, "message": message}, status_code=status, headers={"Connection": "close"})
