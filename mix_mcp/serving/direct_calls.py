"""A handshake-era ``tools/call`` on a ``--stateless`` endpoint, served without a session that lives for one message.

For each such POST the SDK builds a transport, two pairs of memory streams, a JSON-RPC dispatcher and a
task to run them, for a session that ends with the answer: on a short call that machinery cost more of
the server's CPU than the call itself (docs/performance.md has the profile). A plain call (answered
with JSON: no progress asked for, no question for the client, no task) needs none of it. Here it goes
straight to the SDK's own request runner (``serve_one``: the same parameter validation, middleware,
handler and result serialisation), with the dispatch context that session would have had (no back
channel; notifications about the request have no wire in a JSON answer, so they are dropped as there).
The answer is the bytes the SDK's transport writes: the same JSON-RPC model, dumped the same way.

Anything this does not recognise as such a call, or that the SDK's transport would refuse (Content-Type,
Accept, an envelope its model rejects), is left to the SDK, which answers it as it always has.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import anyio
from mcp.server.connection import Connection
from mcp.server.lowlevel.server import Server
from mcp.server.runner import serve_one
from mcp.server.streamable_http import check_accept_headers
from mcp.server.transport_security import TransportSecurityMiddleware, TransportSecuritySettings
from mcp.shared.dispatcher import CallOptions
from mcp.shared.exceptions import NoBackChannelError
from mcp.shared.jsonrpc_dispatcher import handler_exception_to_error_data
from mcp.shared.message import MessageMetadata, ServerMessageMetadata
from mcp.shared.transport_context import TransportContext
from mcp_types import DEFAULT_NEGOTIATED_VERSION, ErrorData, JSONRPCError, JSONRPCRequest, JSONRPCResponse, RequestId
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

logger = logging.getLogger("mix_mcp.direct_calls")

_JSON: Final = "application/json"
_VERSION_HEADER: Final = "mcp-protocol-version"
_ENVELOPE_KEYS: Final = frozenset({"jsonrpc", "id", "method", "params"})


@dataclass
class _PlainCallContext:
    """The dispatch context of a call answered with JSON: no back channel, notifications dropped."""

    request_id: RequestId
    message_metadata: MessageMetadata
    transport: TransportContext = field(
        default_factory=lambda: TransportContext(kind="streamable-http", can_send_request=False)
    )
    cancel_requested: anyio.Event = field(default_factory=anyio.Event)
    can_send_request: bool = False

    async def send_raw_request(
        self, method: str, params: Mapping[str, Any] | None, opts: CallOptions | None = None
    ) -> dict[str, Any]:
        raise NoBackChannelError(method)

    async def notify(self, method: str, params: Mapping[str, Any] | None, opts: CallOptions | None = None) -> None:
        logger.debug("dropped %s: a JSON answer carries only the result", method)

    async def progress(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        return None


class DirectCalls:
    """Serves plain handshake-era tool calls of a stateless endpoint (see the module's docstring)."""

    def __init__(
        self, server: Server[Any], security: TransportSecuritySettings, lifespan_state: Callable[[], Any]
    ) -> None:
        self.server = server
        self.security = TransportSecurityMiddleware(security)
        self.lifespan_state = lifespan_state

    async def serve(self, decoded: Any, scope: Scope, receive: Receive, send: Send) -> bool:
        """Answer ``decoded`` (the POST's JSON body) and return True, or return False having sent nothing."""
        if not _is_plain_call(decoded):
            return False
        request = Request(scope, receive)
        if await self.security.validate_request(request, is_post=True) is not None:
            return False
        if not _content_type_is_json(request.headers.get("content-type", "")) or not check_accept_headers(request)[0]:
            return False
        try:
            message = JSONRPCRequest.model_validate(decoded, by_name=False)
        except ValidationError:
            return False
        version = request.headers.get(_VERSION_HEADER, DEFAULT_NEGOTIATED_VERSION)
        context = _PlainCallContext(
            request_id=message.id,
            message_metadata=ServerMessageMetadata(request_context=request, can_send_request=False),
        )
        connection = Connection.from_envelope(version, None, None)
        answer: JSONRPCResponse | JSONRPCError
        try:
            result = await serve_one(
                self.server,
                context,
                message.method,
                message.params,
                connection=connection,
                lifespan_state=self.lifespan_state(),
            )
        except Exception as exc:
            error = handler_exception_to_error_data(exc)
            if error is None:
                logger.exception("handler for %r raised", message.method)
                error = ErrorData(code=0, message=str(exc))
            answer = JSONRPCError(jsonrpc="2.0", id=message.id, error=error)
        else:
            answer = JSONRPCResponse(jsonrpc="2.0", id=message.id, result=result)
        body = answer.model_dump_json(by_alias=True, exclude_unset=True)
        await Response(body, status_code=200, headers={"Content-Type": _JSON})(scope, receive, send)
        return True


def _is_plain_call(decoded: Any) -> bool:
    if not isinstance(decoded, dict) or decoded.keys() - _ENVELOPE_KEYS or decoded.get("method") != "tools/call":
        return False
    request_id = decoded.get("id")
    params = decoded.get("params")
    return (
        isinstance(request_id, str | int) and not isinstance(request_id, bool) and isinstance(params, dict)
    ) and "task" not in params


def _content_type_is_json(value: str) -> bool:
    """The SDK transport's own test: one of the comma-separated types before any parameter is application/json."""
    return any(part.strip() == _JSON for part in value.split(";")[0].split(","))
