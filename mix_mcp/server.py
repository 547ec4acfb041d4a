"""build_server(settings): the MCP server whose tools are the operation table.

Built on the SDK's low-level ``Server`` rather than ``MCPServer``: our schemas are shaped by hand
(portable input schemas, pass-through output schemas) and computed once at start, and one
generic handler serves every operation. ``MCPServer`` would derive schemas from function
signatures, rebuild argument models and re-validate output on every call.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any, Final

import anyio
import mcp_types as types
from mcp.server import Server
from mcp.server.context import ServerRequestContext
from pydantic import ValidationError

from mix_mcp._version import __version__
from mix_mcp.client import CallStats, MixClient
from mix_mcp.config import Settings
from mix_mcp.errors import ArgumentsError, ErrorHints, MixMCPError
from mix_mcp.operations import OPERATIONS, OPERATIONS_BY_NAME, Operation

logger = logging.getLogger("mix_mcp.server")

SERVER_NAME: Final = "mix-mcp"
INSTRUCTIONS: Final = (
    "Tools for the sessions of a Mix agent platform. Typical workflow: list_sessions to find a session id; "
    "get_session for its metadata; export_session to read its messages (a message's position is the "
    "message_index fork_session takes, its id is the message_id rewind_session takes); fork_session to branch "
    "a copy at a message; rewind_session to cut a session back to a message (irreversible); "
    "update_session_callbacks to replace its callbacks; delete_session to remove it (irreversible). "
    "Errors explain the next step to take."
)


class InFlight:
    """The tool calls running now: a stopping network server waits for them, then stops the stragglers.

    Each call runs in its own cancel scope, so that ``cancel_all`` ends it with a clear result for
    the agent rather than a broken connection. Only touched from the event loop's thread.
    """

    def __init__(self) -> None:
        self._scopes: set[anyio.CancelScope] = set()

    @property
    def count(self) -> int:
        return len(self._scopes)

    @contextmanager
    def track(self) -> Iterator[anyio.CancelScope]:
        with anyio.CancelScope() as scope:
            self._scopes.add(scope)
            try:
                yield scope
            finally:
                self._scopes.discard(scope)

    def cancel_all(self) -> None:
        for scope in list(self._scopes):
            scope.cancel()


@dataclass
class ServerState:
    """What the tool handlers use: the Mix client, and the count of calls in flight."""

    client: MixClient
    in_flight: InFlight = field(default_factory=InFlight)


def tool_definition(op: Operation) -> types.Tool:
    return types.Tool(
        name=op.name,
        title=op.title,
        description=op.description,
        input_schema=op.input_schema,
        output_schema=op.output_schema,
        annotations=types.ToolAnnotations(
            title=op.title,
            read_only_hint=op.read_only,
            destructive_hint=op.destructive,
            idempotent_hint=op.idempotent,
            open_world_hint=op.open_world,
        ),
    )


def _error_result(text: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=text)], is_error=True)


def _stopped_result(op: Operation) -> types.CallToolResult:
    """A call cut short because the server is shutting down and its grace period ran out."""
    if op.read_only:
        advice = "Call it again; another mix-mcp server, or this one once restarted, will answer."
    else:
        advice = (
            "Mix may or may not have carried it out: check with get_session or list_sessions before calling it again."
        )
    return _error_result(f"{op.name} was stopped because this mix-mcp server is shutting down. {advice}")


def _success_result(structured: dict[str, Any]) -> types.CallToolResult:
    text = json.dumps(structured, ensure_ascii=False, separators=(",", ":"))
    return types.CallToolResult(content=[types.TextContent(text=text)], structured_content=structured)


async def run_operation(client: MixClient, op: Operation, arguments: dict[str, Any] | None) -> types.CallToolResult:
    """Validate, send, shape: the whole life of one tool call. Never raises."""
    started = time.monotonic()
    stats = CallStats()
    outcome = "error"
    try:
        try:
            args = op.arguments.model_validate(arguments or {})
        except ValidationError as exc:
            raise ArgumentsError.from_validation(op.name, exc) from None
        session_id, query, body = op.request_parts(args)
        data = await client.send(
            op.endpoint,
            session_id=session_id,
            query=query,
            body=body,
            idempotent=op.retry_safe,
            operation=op.name,
            expect=op.result.contract,
            stats=stats,
        )
        result = _success_result(op.result.wrap(data, args))
        outcome = "ok"
        return result
    except MixMCPError as exc:
        return _error_result(exc.describe(op.hints))
    except Exception:
        logger.exception("internal error in %s", op.name)
        return _error_result(
            f"{op.name} failed with an internal error in mix-mcp (details are in its log on stderr). "
            "This is a bug in mix-mcp, not in your arguments; try again, and report it if it persists."
        )
    finally:
        logger.info(
            "tool=%s outcome=%s status=%s attempts=%d duration_ms=%.1f",
            op.name,
            outcome,
            stats.status if stats.status is not None else "-",
            stats.attempts,
            (time.monotonic() - started) * 1000,
        )


def build_server(
    settings: Settings,
    operations: Iterable[Operation] = OPERATIONS,
    *,
    shared_state: Callable[[], ServerState] | None = None,
) -> Server[ServerState]:
    """The MCP server for ``settings``.

    Alone (stdio, in-process calls) it opens its Mix client in its lifespan and closes it after.
    A network transport runs that lifespan once per connection (SSE) or per session manager, so
    it passes ``shared_state`` instead: every lifespan then borrows the process's one pooled
    client, which the transport opens at start and closes at shutdown.
    """
    enabled = {op.name: op for op in operations}
    tools = [tool_definition(op) for op in enabled.values()]

    @asynccontextmanager
    async def lifespan(_server: Server[ServerState]) -> AsyncIterator[ServerState]:
        if shared_state is not None:
            yield shared_state()
            return
        async with MixClient(settings) as client:
            yield ServerState(client)

    async def list_tools(
        _ctx: ServerRequestContext[ServerState], _params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=tools)

    async def call_tool(
        ctx: ServerRequestContext[ServerState], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        op = enabled.get(params.name)
        if op is None:
            known = ", ".join(enabled)
            reason = "is disabled on this server" if params.name in OPERATIONS_BY_NAME else "does not exist"
            return _error_result(f"Tool {params.name!r} {reason}. Available tools: {known}.")
        state = ctx.lifespan_context
        with state.in_flight.track():
            return await run_operation(state.client, op, params.arguments)
        return _stopped_result(op)

    def tool_input_schema(name: str) -> dict[str, Any] | None:
        op = enabled.get(name)
        return op.input_schema if op is not None else None

    return Server(
        SERVER_NAME,
        version=__version__,
        title="Mix sessions",
        description="Manage the sessions of a Mix agent platform: list, create, inspect, export, fork, rewind.",
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        get_tool_input_schema=tool_input_schema,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


__all__ = ["INSTRUCTIONS", "SERVER_NAME", "ErrorHints", "InFlight", "ServerState", "build_server", "run_operation"]
