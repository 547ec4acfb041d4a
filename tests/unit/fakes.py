"""Canned Mix answers for narrow unit tests over ``httpx2.MockTransport``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx2

from mix_mcp.config import Settings
from mix_mcp.mix.client import MixClient

SESSION: dict[str, Any] = {
    "id": "0b7c4a8e-1111-4d6e-9a1f-2c3d4e5f6a7b",
    "title": "Refactor the parser",
    "sessionType": "main",
    "userMessageCount": 2,
    "assistantMessageCount": 2,
    "toolCallCount": 1,
    "promptTokens": 1200,
    "completionTokens": 340,
    "cost": 0.0123,
    "createdAt": "2026-01-05T10:00:00Z",
}

#: What a newer Mix (the 2026-02 revision) sends: fields this project does not know yet.
NEWER_SESSION: dict[str, Any] = {
    **SESSION,
    "modelId": "gemini-3-flash-preview",
    "provider": "gemini",
    "browserMode": "local-browser-service",
    "cdpUrl": "wss://example.invalid/cdp",
}

TRANSCRIPT: dict[str, Any] = {
    "id": SESSION["id"],
    "title": SESSION["title"],
    "messages": [
        {
            "id": "msg_1",
            "role": "user",
            "content": "hello",
            "createdAt": "2026-01-05T10:00:00Z",
            "updatedAt": "2026-01-05T10:00:00Z",
        },
        {
            "id": "msg_2",
            "role": "assistant",
            "content": "hi",
            "createdAt": "2026-01-05T10:00:01Z",
            "updatedAt": "2026-01-05T10:00:01Z",
            "toolCalls": [
                {"id": "t1", "name": "Bash", "input": "{}", "type": "tool", "finished": True, "screenshotUrls": []}
            ],
        },
    ],
}

Handler = Callable[[httpx2.Request], httpx2.Response]


def mix_client(handler: Handler, **settings: Any) -> MixClient:
    base = {"base_url": "http://mix.test:8088", "max_retries": 0, **settings}
    return MixClient(Settings(**base), transport=httpx2.MockTransport(handler))


def envelope(status: int, message: str, kind: str) -> httpx2.Response:
    return httpx2.Response(status, json={"error": {"code": status, "message": message, "type": kind}})
