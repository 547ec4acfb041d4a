"""Plain tool calls served straight by the SDK's request runner, without the machinery around it.

A handshake-era ``tools/call`` on a ``--stateless`` endpoint: for each such POST the SDK builds a
transport, two pairs of memory streams, a JSON-RPC dispatcher and a task, for a session that ends
with the answer; on a short call that cost more of the server's CPU than the call itself. A
2026-07-28 ``tools/call`` (stateful endpoint or not): the SDK's single-exchange entry reads and
parses the body again, validates the envelope, and builds its own request objects around the same
runner. A plain call (answered with JSON: no progress asked for, no question for the client, no
task) needs none of it. Here it goes straight to the SDK's request runner (``serve_one``: the same
parameter validation, middleware, handler and result serialisation) after the same checks the SDK
makes first (Content-Type, Accept, the JSON-RPC envelope, and for 2026-07-28 the routing headers, the
request's ``_meta`` envelope and the ``Mcp-Param-*`` headers, through the SDK's own functions), with
the dispatch context the SDK would have given it: no back channel; notifications about the request
have no wire in a JSON answer, so they are dropped as there. The answer is the SDK's: the same
JSON-RPC model, serialised the same way, with the same HTTP status.

Anything this does not recognise as such a call, or that one of those checks would refuse, is left
to the SDK, which answers it as it always has: no byte is sent here before the call is known to be
served here. (docs/performance.md has the profile that motivated this.)
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import anyio
from mcp.server.connection import Connection
from mcp.server.lowlevel.server import Server
from mcp.server.runner import modern_error_data, serve_one
from mcp.server.streamable_http import check_accept_headers
from mcp.server.transport_security import TransportSecurityMiddleware, TransportSecuritySettings
from mcp.shared.dispatcher import CallOptions
from mcp.shared.exceptions import NoBackChannelError
from mcp.shared.inbound import (
    ERROR_CODE_HTTP_STATUS,
    MCP_PARAM_HEADER_PREFIX,
    InboundLadderRejection,
    InboundModernRoute,
    classify_inbound_request,
    find_duplicated_routing_header,
    validate_mcp_param_headers,
)
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
_PARAM_PREFIX: Final = MCP_PARAM_HEADER_PREFIX.lower()


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

    async def serve(self, decoded: Any, scope: Scope, receive: Receive, send: Send, *, modern: bool) -> bool:
        """Answer ``decoded`` (the POST's JSON body) and return True, or return False having sent nothing."""
        if not _is_plain_call(decoded):
            return False
        request = Request(scope, receive)
        if await self.security.validate_request(request, is_post=True) is not None:
            return False
        if not check_accept_headers(request)[0]:
            return False
        if modern:
            return await self._serve_modern(decoded, request, scope, receive, send)
        if not _content_type_is_json(request.headers.get("content-type", "")):
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

    async def _serve_modern(self, decoded: Any, request: Request, scope: Scope, receive: Receive, send: Send) -> bool:
        """A 2026-07-28 call, after the checks of the SDK's single-exchange entry, in its order."""
        try:
            message = JSONRPCRequest.model_validate(decoded)
        except ValidationError:
            return False
        if find_duplicated_routing_header(request.headers.items()) is not None:
            return False
        verdict = classify_inbound_request(decoded, headers=dict(request.headers))
        if isinstance(verdict, InboundLadderRejection) or self._param_headers_refused(message, request):
            return False
        context = _PlainCallContext(
            request_id=message.id,
            message_metadata=ServerMessageMetadata(request_context=request),
            transport=TransportContext(kind="streamable-http", can_send_request=False, headers=request.headers),
        )
        answer: JSONRPCResponse | JSONRPCError
        try:
            result = await serve_one(
                self.server,
                context,
                message.method,
                message.params,
                connection=_connection(verdict),
                lifespan_state=self.lifespan_state(),
            )
        except Exception as exc:
            answer = JSONRPCError(jsonrpc="2.0", id=message.id, error=modern_error_data(exc))
        else:
            answer = JSONRPCResponse(jsonrpc="2.0", id=message.id, result=result)
        status = ERROR_CODE_HTTP_STATUS.get(answer.error.code, 200) if isinstance(answer, JSONRPCError) else 200
        body = json.dumps(answer.model_dump(mode="json", by_alias=True, exclude_none=True), separators=(",", ":"))
        await Response(body, status_code=status, media_type=_JSON)(scope, receive, send)
        return True

    def _param_headers_refused(self, message: JSONRPCRequest, request: Request) -> bool:
        """Whether the ``Mcp-Param-*`` headers contradict the arguments, judged as the SDK judges them.

        Without the server's schema lookup the SDK would list the tools to find the schema: such a
        server is left to the SDK (counted as refused here).
        """
        lookup = self.server.get_tool_input_schema
        if lookup is None:
            return True
        params = message.params or {}
        name = params.get("name")
        arguments = params.get("arguments")
        if not isinstance(name, str) or (arguments is not None and not isinstance(arguments, Mapping)):
            return False
        if not arguments and not any(header.startswith(_PARAM_PREFIX) for header in request.headers):
            return False
        try:
            schema = lookup(name)
        except Exception:
            return True  # the SDK logs this and serves the call unchecked: let it
        if schema is None:
            return False
        return validate_mcp_param_headers(schema, arguments or {}, request.headers) is not None


def _connection(verdict: InboundModernRoute) -> Connection:
    return Connection.from_envelope(verdict.protocol_version, verdict.client_info, verdict.client_capabilities)


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
