"""Every stdio line gets a JSON-RPC 2.0 verdict: a message for the MCP server, or the error answer it is owed.

The SDK drops a line it cannot validate without a word, so a client that sent one (a cut emoji as a
lone surrogate escape, a batch, ``"id": true``) waits forever. Here each line is validated first;
what the server cannot take is answered as the JSON-RPC specification says: -32700 (parse error,
``id: null``) when no id can be read, -32600 (invalid request) with the id when it can. A notification
is never answered, and neither is a malformed answer from the client (answering it could start a loop).
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from typing import Any, Final

import mcp_types
import pydantic_core
from pydantic import ValidationError

logger = logging.getLogger("mix_mcp.stdio")

PARSE_ERROR: Final = -32700
INVALID_REQUEST: Final = -32600
#: How much of an oversized line is kept to look for its id.
OVERSIZE_PREFIX_BYTES: Final = 4096
_ADAPTER: Final = mcp_types.jsonrpc_message_adapter


@dataclass(frozen=True, slots=True)
class Verdict:
    """What to do with one line: pass ``message`` on, write ``answer``, or (both None) drop it."""

    message: mcp_types.JSONRPCMessage | None = None
    answer: bytes | None = None


def screen(line: bytes) -> Verdict:
    """Validate one line (without its newline) as a JSON-RPC 2.0 message."""
    if not line.strip():
        return Verdict()
    try:
        message = _ADAPTER.validate_json(line, by_name=False)
    except ValidationError:
        return Verdict(answer=_diagnose(line))
    if isinstance(message, mcp_types.JSONRPCNotification) and b"id" in line:
        # pydantic ignores an id it cannot use (true, 1.5, null) and reads a request as a notification.
        answer = _diagnose(line)
        if answer is not None:
            return Verdict(answer=answer)
    return Verdict(message=message)


def read_json(body: bytes) -> Any:
    """An HTTP request body parsed exactly as the SDK's HTTP transports parse it, or ``ValueError``.

    pydantic_core's parser has bounds of its own (nesting depth, number size), so a body nested
    50,000 deep or holding a 5,000-digit integer is refused with ``ValueError`` here, as the SDK
    refuses it, where ``json.loads`` would raise ``RecursionError`` or read what the SDK will not.
    Code that looks into a body before the SDK (scopes, progress) uses this, so both agree on it.
    """
    return pydantic_core.from_json(body)


def parse_error_body(reason: str) -> bytes:
    """The JSON-RPC parse error (-32700, ``id: null``) an HTTP body that is not JSON gets, as its bytes."""
    return _frame(None, PARSE_ERROR, f"Parse error: {reason}")


def oversized(prefix: bytes, limit: int) -> bytes:
    """The answer to a line longer than ``limit`` bytes, of which ``prefix`` is the start."""
    reason = f"message refused: longer than the {limit // (1024 * 1024)} MiB line limit of this server"
    return error_frame(leading_id(prefix), INVALID_REQUEST, reason)


def error_frame(request_id: Any, code: int, message: str) -> bytes:
    """One JSON-RPC error answer, as the bytes of a line (without the newline)."""
    logger.warning("refused a stdio message: %s (code %d, id %s)", message, code, json.dumps(request_id))
    return _frame(request_id, code, message)


def _frame(request_id: Any, code: int, message: str) -> bytes:
    body = {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}
    return json.dumps(body, separators=(",", ":")).encode()


def usable_id(value: Any) -> Any:
    """The id to echo: a string or a finite number as sent (JSON-RPC allows both), else ``None``."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return value
    return None


def leading_id(prefix: bytes) -> Any:
    """The top-level ``id`` of a JSON object cut short, when it comes before the cut (as clients write it)."""
    text = prefix.decode("utf-8", "ignore")
    decoder = json.JSONDecoder()
    try:
        at = _skip(text, 0)
        if text[at] != "{":
            return None
        at += 1
        while True:
            at = _skip(text, at)
            key, at = decoder.raw_decode(text, at)
            at = _skip(text, at)
            if not isinstance(key, str) or text[at] != ":":
                return None
            value, at = decoder.raw_decode(text, _skip(text, at + 1))
            if key == "id":
                return usable_id(value)
            at = _skip(text, at)
            if text[at] != ",":
                return None
            at += 1
    except (ValueError, IndexError):
        return None


def _skip(text: str, at: int) -> int:
    while at < len(text) and text[at] in " \t\r\n":
        at += 1
    return at


def _diagnose(line: bytes) -> bytes | None:
    """The error answer for a line the SDK would refuse, or ``None`` when the line is owed no answer."""
    try:
        value = json.loads(line)
    except UnicodeDecodeError:
        return _unreadable(line, "the message is not UTF-8")
    except (json.JSONDecodeError, RecursionError) as exc:
        detail = str(exc) if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
        return _unreadable(line, f"the message is not valid JSON ({detail})")
    if isinstance(value, list):
        return _batch(value)
    return _check_object(value)


def _unreadable(line: bytes, reason: str) -> bytes:
    """JSON that does not parse: answer with its id when a lenient reading finds one, else -32700."""
    try:
        lenient = json.loads(line.decode("utf-8", "replace"), strict=False)
    except (json.JSONDecodeError, RecursionError):
        lenient = None
    if isinstance(lenient, dict) and "id" in lenient:
        return error_frame(usable_id(lenient["id"]), INVALID_REQUEST, reason)
    return error_frame(None, PARSE_ERROR, reason)


def _batch(items: list[Any]) -> bytes | None:
    reason = "JSON-RPC batches are not supported by MCP; send one message per line"
    if not items:
        return error_frame(None, INVALID_REQUEST, "an empty batch")
    answers = [
        json.loads(_frame(usable_id(item.get("id")) if isinstance(item, dict) else None, INVALID_REQUEST, reason))
        for item in items
        if not (isinstance(item, dict) and "id" not in item and isinstance(item.get("method"), str))
    ]
    if not answers:
        logger.warning("dropped a batch of notifications: %s", reason)
        return None
    logger.warning("refused a stdio batch of %d message(s): %s", len(items), reason)
    return json.dumps(answers, separators=(",", ":")).encode()


def _check_object(value: Any) -> bytes | None:
    if not isinstance(value, dict):
        return error_frame(None, INVALID_REQUEST, "a JSON-RPC message must be a JSON object")
    request_id = usable_id(value.get("id"))
    method = value.get("method")
    has_id = "id" in value
    if not has_id and isinstance(method, str) and value.get("jsonrpc") == "2.0":
        logger.warning("dropped a notification that is not valid (%s)", method[:100])
        return None
    if "method" not in value and ("result" in value or "error" in value):
        logger.warning("dropped an answer from the client that is not valid JSON-RPC (id %s)", json.dumps(request_id))
        return None
    if value.get("jsonrpc") != "2.0":
        reason = 'the message must say "jsonrpc": "2.0"'
    elif not isinstance(method, str):
        reason = "method must be a string" if "method" in value else "a request needs a method"
    elif "params" in value and not isinstance(value["params"], dict):
        reason = "params must be an object"
    elif has_id and not _is_mcp_id(value["id"]):
        reason = "id must be a string or an integer"
    elif _has_lone_surrogate(value):
        reason = r"a string in the message is not valid Unicode (a lone surrogate escape such as \ud83d)"
    else:
        reason = "the message is not a valid JSON-RPC 2.0 request"
    return error_frame(request_id, INVALID_REQUEST, reason)


def _is_mcp_id(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def _has_lone_surrogate(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
