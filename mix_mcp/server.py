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
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
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
from mix_mcp.logs import log_event
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


@dataclass
class ServerState:
    """What a running server holds for the lifetime of a connection's lifespan."""

    client: MixClient


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


def _success_result(structured: dict[str, Any]) -> types.CallToolResult:
    text = json.dumps(structured, ensure_ascii=False, separators=(",", ":"))
    return types.CallToolResult(content=[types.TextContent(text=text)], structured_content=structured)


async def run_operation(client: MixClient, op: Operation, arguments: dict[str, Any] | None) -> types.CallToolResult:
    """Validate, send, shape: the whole life of one tool call. Never raises, except to let a cancellation through.

    Logs one ``event=tool_call`` line at INFO with the tool, its outcome (``ok``, ``invalid``
    arguments, Mix ``error``, ``cancelled`` by the client, or ``internal``), the last HTTP status,
    the attempts made and the duration.
    """
    started = time.monotonic()
    stats = CallStats()
    outcome = "internal"
    error: str | None = None
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
        outcome = "invalid" if isinstance(exc, ArgumentsError) else "error"
        error = type(exc).__name__
        return _error_result(client.redactor.text(exc.describe(op.hints)))
    except anyio.get_cancelled_exc_class():
        # The client gave up (notifications/cancelled) or the server is stopping: the cancel
        # scope has already aborted the HTTP request in flight; nothing to answer.
        outcome = "cancelled"
        raise
    except Exception as exc:
        error = type(exc).__name__
        logger.exception("internal error in %s", op.name)
        return _error_result(
            f"{op.name} failed with an internal error in mix-mcp (details are in its log on stderr). "
            "This is a bug in mix-mcp, not in your arguments; try again, and report it if it persists."
        )
    finally:
        log_event(
            logger,
            logging.INFO,
            "tool_call",
            tool=op.name,
            outcome=outcome,
            status=stats.status,
            attempts=stats.attempts,
            duration_ms=round((time.monotonic() - started) * 1000, 1),
            error=error,
        )


def build_server(settings: Settings, operations: Iterable[Operation] = OPERATIONS) -> Server[ServerState]:
    """The MCP server for ``settings``; the Mix client is opened in its lifespan and closed after."""
    enabled = {op.name: op for op in operations}
    tools = [tool_definition(op) for op in enabled.values()]

    @asynccontextmanager
    async def lifespan(_server: Server[ServerState]) -> AsyncIterator[ServerState]:
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
        return await run_operation(ctx.lifespan_context.client, op, params.arguments)

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


__all__ = ["INSTRUCTIONS", "SERVER_NAME", "ErrorHints", "ServerState", "build_server", "run_operation"]
