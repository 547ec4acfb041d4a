"""Which tools the Mix at hand really offers, learned from its router, and telling clients when that changes.

A Mix release may lack an operation (Feb 2026 dropped fork). The first call that meets the router's
"no such route" removes the tool for everyone this process serves, not only for the session that
found out, and clients hear ``notifications/tools/list_changed``:

* on the handshake protocol generation, on the calling session (it rides the tool call's own stream,
  so it arrives over stdio, SSE and Streamable HTTP alike; a call answered with plain JSON has no such
  stream, so its session hears it on its standalone stream like the others), and on every other
  session of that generation this process has served (on their standalone streams, where they keep
  one open);
* on the 2026-07-28 generation, through the ``subscriptions/listen`` streams clients opened, fed from
  one in-process bus.

A stateless HTTP server has no stream to notify on; its ``tools/list`` simply stops listing the tool.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Iterable
from typing import Any

import mcp_types as types
from mcp.server.connection import Connection
from mcp.server.context import ServerRequestContext
from mcp.server.session import ServerSession
from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler, ToolsListChanged
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from mix_mcp.observe.logs import log_event
from mix_mcp.serving.stateless_exchange import PLAIN_ANSWER

logger = logging.getLogger("mix_mcp.capabilities")


class ToolAvailability:
    """The tools withdrawn because Mix does not offer them, and the bus that announces each withdrawal.

    One instance per built server, which is one per process for every transport (network servers
    build a single server that all their sessions share). Only touched from the event loop's thread.
    """

    def __init__(self) -> None:
        self.withdrawn: set[str] = set()
        self.bus = InMemorySubscriptionBus()
        self.listen = ListenHandler(self.bus)
        #: Handshake-era connections seen so far, to notify; weak, so a closed one simply drops out.
        self._connections: weakref.WeakSet[Connection] = weakref.WeakSet()

    def note(self, ctx: ServerRequestContext[Any]) -> None:
        """Remember a handshake-era connection, so that a later withdrawal reaches it too."""
        connection = _connection_of(ctx.session)
        if connection is not None and ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS:
            self._connections.add(connection)

    def listed(self, tools: Iterable[types.Tool]) -> list[types.Tool]:
        return [tool for tool in tools if tool.name not in self.withdrawn]

    async def withdraw(self, name: str | Iterable[str], ctx: ServerRequestContext[Any] | None) -> None:
        """Leave ``name`` (one tool, or a family of them) out of ``tools/list`` from now on, and tell the clients
        (once per withdrawal, however many tools it removes)."""
        names = [name] if isinstance(name, str) else list(name)
        fresh = [n for n in names if n not in self.withdrawn]
        if not fresh:
            return
        self.withdrawn.update(fresh)
        for gone in fresh:
            log_event(logger, logging.WARNING, "tool_withdrawn", tool=gone, reason="Mix does not offer this operation")
        await self.bus.publish(ToolsListChanged())
        caller: Connection | None = None
        if ctx is not None and ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS:
            caller = _connection_of(ctx.session)
            if _plain_answer(ctx):
                # No stream of its own: the calling session hears it on its standalone stream.
                if caller is not None:
                    await caller.send_tool_list_changed()
            else:
                try:  # on the tool call's own stream, which every transport delivers
                    await ctx.session.send_notification(
                        types.ToolListChangedNotification(), related_request_id=ctx.request_id
                    )
                except Exception:  # a client that went away must not turn the tool's answer into a failure
                    logger.debug("could not send tools/list_changed", exc_info=True)
        for connection in list(self._connections):
            if connection is not caller:
                await connection.send_tool_list_changed()  # best effort; never raises


def _plain_answer(ctx: ServerRequestContext[Any]) -> bool:
    """Whether the call is answered with one JSON body (Streamable HTTP), which carries nothing but its result."""
    scope = getattr(ctx.request, "scope", None)
    return isinstance(scope, dict) and bool(scope.get(PLAIN_ANSWER))


def _connection_of(session: ServerSession) -> Connection | None:
    """The connection behind a request's session view (the SDK builds one view per request, on one connection).

    The SDK has no public accessor for it yet; without one, the others simply learn at their next tools/list.
    """
    connection = getattr(session, "_connection", None)
    return connection if isinstance(connection, Connection) else None
