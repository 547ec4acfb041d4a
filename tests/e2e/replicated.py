"""What the tests of replicated deployments share: stateless replicas, a recording balancer, a user who answers.

A confirmation on the 2026-07-28 protocol is two tools/call requests: the first gets the question and a
sealed state, the second brings the answer and that state back. The balancer here sends each request to
the next replica and records where each went, so a test can prove the two halves landed apart.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

import httpx2
import mcp_types as types
from mcp import Client
from mcp.client.session import ClientRequestContext

from tests.support import ServerProcess, running_server

#: Keys for the tests (43 characters each, the length of ``secrets.token_urlsafe(32)``).
OLD_KEY = "old-key-5qX2v9R7mT1pL8wZ3nB6cD0fG4hJ7kM2sA1"
NEW_KEY = "new-key-8Hq3Lz6Vb1Nm4Xc7Rt0Yp2Wk5Fd9Gs3Ja6E"


@dataclass(frozen=True)
class Routed:
    """One HTTP request the balancer forwarded: where to, and which JSON-RPC call it carried."""

    port: int
    method: str | None
    tool: str | None
    has_state: bool


class RecordingBalancer(httpx2.AsyncBaseTransport):
    """Round robin without sticky sessions, inside the client; the client only ever sees the first URL."""

    def __init__(self, ports: Sequence[int]) -> None:
        self.inner = httpx2.AsyncHTTPTransport()
        self.ports = itertools.cycle(ports)
        self.routed: list[Routed] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        port = next(self.ports)
        request.url = request.url.copy_with(port=port)
        self.routed.append(_routed(port, request))
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()

    def tool_calls(self, tool: str) -> list[Routed]:
        return [r for r in self.routed if r.method == "tools/call" and r.tool == tool]


def _routed(port: int, request: httpx2.Request) -> Routed:
    try:
        message = json.loads(request.content) if request.method == "POST" else None
    except ValueError:
        message = None
    if not isinstance(message, dict):
        return Routed(port, None, None, False)
    params = message.get("params") or {}
    return Routed(port, message.get("method"), params.get("name"), params.get("requestState") is not None)


class User:
    """The person behind the client's elicitation: answers every question the same way, and counts them."""

    def __init__(self, action: str) -> None:
        self.action = action
        self.questions: list[str] = []

    async def __call__(
        self, context: ClientRequestContext, params: types.ElicitRequestParams
    ) -> types.ElicitResult | types.ErrorData:
        assert isinstance(params, types.ElicitRequestFormParams)
        self.questions.append(params.message)
        content: dict[str, Any] | None = {"confirm": True} if self.action == "accept" else None
        return types.ElicitResult(action=self.action, content=content)  # type: ignore[arg-type]


@contextmanager
def stateless_replicas(
    emulator_url: str, *keys: str | None, extra: Sequence[str] = ()
) -> Iterator[list[ServerProcess]]:
    """One ``--stateless --confirm-destructive`` replica per entry of ``keys`` (its MIX_MCP_STATE_KEY)."""
    with ExitStack() as stack:
        servers = []
        for key in keys:
            env = {"MIX_MCP_STATE_KEY": key} if key is not None else {}
            args = ("--transport", "http", "--stateless", "--confirm-destructive", "--base-url", emulator_url)
            servers.append(stack.enter_context(running_server(*args, *extra, timeout=60, **env)))
        yield servers


async def new_session(client: Client, title: str) -> str:
    created = await client.call_tool("create_session", {"title": title})
    assert not created.is_error and created.structured_content is not None
    session_id = created.structured_content["id"]
    assert isinstance(session_id, str)
    return session_id


async def session_exists(client: Client, session_id: str) -> bool:
    return not (await client.call_tool("get_session", {"session_id": session_id})).is_error
