"""The emulator's limit on request bodies: a body over it gets 413 before it is held in memory.

Real Mix requests are a few kilobytes (a title, a prompt of at most 100 KB, some callbacks); without
a limit, one 100 MB POST was read whole and stored, and every later list of sessions carried it.
The limit (``--max-body-bytes``, default 10 MiB) is far above any real request.
"""

from __future__ import annotations

from typing import Final

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_MAX_BODY_BYTES: Final = 10 * 1024 * 1024


class BodyLimitMiddleware:
    """Refuses a body over ``limit`` bytes, whether announced by Content-Length or streamed chunked."""

    def __init__(self, app: ASGIApp, *, limit: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and value.strip().isdigit() and int(value) > self.limit:
                await self._refuse(scope, receive, send)
                return
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.limit:
                await self._refuse(scope, receive, send)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"Request body is larger than the emulator's limit of {self.limit:,} bytes (--max-body-bytes)"
        body = {"error": {"code": 413, "message": message, "type": "payload_too_large"}}
        await JSONResponse(body, status_code=413, headers={"Connection": "close"})(scope, receive, send)
