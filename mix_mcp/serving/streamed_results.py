"""Large results written out a piece at a time on stdio, instead of held whole two or three times.

A tool result carries its structured content and, as the MCP specification recommends beside it,
the same JSON as a text block. For a 20 MB transcript that is the parsed JSON, a 20 MB string of
its text, and a 40 MB line (the text escaped, plus the structured content) made whole before the
first byte is written. On the stdio transport, which writes each message itself, two things
change for a large result:

* the text block is *deferred*: the tool call puts ``DEFERRED_JSON_TEXT`` in its place (only when
  the transport says it will expand it, ``deferring()``), and the JSON is produced from the
  structured content as the line is written;
* the line is written in pieces (``response_pieces``): the envelope, then each part of the result,
  a message of a transcript or a megabyte of a long string at a time.

What the client reads is the same JSON value as before: the text block holds exactly the compact
JSON of the structured content (``compact_json``), and every other part is serialized by the same
pydantic serializer as a whole message would be. Other transports never see the placeholder: the
context variable is set only by the stdio transport, for the tasks it runs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Final

import mcp_types
import pydantic_core
from mcp_types import methods

from mix_mcp.tools.rendering import Shaped, compact_json

#: Stands for "the compact JSON of this result's structuredContent" until the line is written.
#: Private-use characters: no text a tool makes is equal to it.
DEFERRED_JSON_TEXT: Final = "\ue000mix-mcp:json-of-structured-content\ue001"
#: A result is written in pieces from this size of Mix's answer (or of a text block) on.
LARGE_BYTES: Final = 1024 * 1024
#: Characters of one long string serialized at a time.
_STRING_SLICE: Final = 256 * 1024
#: How deep the writer descends into a result before serializing a part whole
#: (result, structuredContent, its list of messages, then one message whole).
_RESULT_DEPTH: Final = 3
#: The same for the deferred text: structured content, its list, then one item whole.
_TEXT_DEPTH: Final = 2

_deferring: ContextVar[bool] = ContextVar("mix_mcp_deferring_json_text", default=False)


@contextmanager
def deferring() -> Iterator[None]:
    """Within this block (and the tasks started in it), large JSON text blocks are left to the writer."""
    token = _deferring.set(True)
    try:
        yield
    finally:
        _deferring.reset(token)


@functools.cache
def _keeps_structured_content(protocol_version: str) -> bool:
    """Whether the SDK's result sieve for this protocol version passes structuredContent through."""
    probe = {"content": [], "structuredContent": {"probe": True}, "resultType": "complete"}
    try:
        sieved = methods.serialize_server_result("tools/call", protocol_version, probe)
    except Exception:  # an unknown version (a task's stand-in context): never defer
        return False
    return sieved.get("structuredContent") == {"probe": True}


def text_block(shaped: Shaped, received_bytes: int, protocol_version: str | None) -> str:
    """The text of ``shaped``'s first content block, or the placeholder when the writer will make it.

    Deferred only when the text is the JSON of the structured content, the answer is large, the
    transport expands placeholders, and the client's protocol version carries structured content
    (the writer builds the text from it).
    """
    if (
        shaped.text is None
        and received_bytes >= LARGE_BYTES
        and _deferring.get()
        and protocol_version is not None
        and _keeps_structured_content(protocol_version)
    ):
        return DEFERRED_JSON_TEXT
    return shaped.render_text()


def _json_bytes(value: Any) -> bytes:
    return pydantic_core.to_json(value)


def _string_pieces(value: str, encode: Callable[[str], bytes]) -> Iterator[bytes]:
    """A JSON string in pieces: quote, escaped slices, quote (escaping works character by character)."""
    yield b'"'
    for start in range(0, len(value), _STRING_SLICE):
        yield encode(value[start : start + _STRING_SLICE])[1:-1]
    yield b'"'


def _pieces(value: Any, depth: int, leaf: Callable[[Any], bytes]) -> Iterator[bytes]:
    """``value``'s JSON, descending ``depth`` levels into objects and arrays; ``leaf`` serializes the rest."""
    if isinstance(value, str) and len(value) > _STRING_SLICE:
        yield from _string_pieces(value, leaf)
    elif depth > 0 and isinstance(value, dict) and value and all(isinstance(key, str) for key in value):
        separator = b"{"
        for key, item in value.items():
            yield separator + leaf(key) + b":"
            yield from _pieces(item, depth - 1, leaf)
            separator = b","
        yield b"}"
    elif depth > 0 and isinstance(value, list) and value:
        separator = b"["
        for item in value:
            yield separator
            yield from _pieces(item, depth - 1, leaf)
            separator = b","
        yield b"]"
    else:
        yield leaf(value)


def _compact_leaf(value: Any) -> bytes:
    return compact_json(value).encode()


def _deferred_text_pieces(structured: Any) -> Iterator[bytes]:
    """The compact JSON of ``structured``, as the escaped content of a JSON string, in pieces."""
    yield b'"'
    for piece in _pieces(structured, _TEXT_DEPTH, _compact_leaf):
        # Each piece is a whole run of JSON text; escaping it again makes it a run of a JSON string.
        yield _json_bytes(piece.decode())[1:-1]
    yield b'"'


def _block_pieces(block: Any, structured: Any) -> Iterator[bytes]:
    if not (isinstance(block, dict) and block.get("text") == DEFERRED_JSON_TEXT):
        yield from _pieces(block, 1, _json_bytes)
        return
    separator = b"{"
    for key, item in block.items():
        yield separator + _json_bytes(key) + b":"
        if key == "text":
            yield from _deferred_text_pieces(structured)
        else:
            yield _json_bytes(item)
        separator = b","
    yield b"}"


def _blocks(result: dict[str, Any], key: str) -> list[Any]:
    blocks = result.get(key)
    return blocks if isinstance(blocks, list) else []


def _is_large(result: dict[str, Any]) -> bool:
    for block in (*_blocks(result, "content"), *_blocks(result, "contents")):
        if not isinstance(block, dict):
            continue
        text = block.get("text")
        if text == DEFERRED_JSON_TEXT:
            return True
        for field in (text, block.get("blob")):
            if isinstance(field, str) and len(field) >= LARGE_BYTES:
                return True
    return False


def response_pieces(message: mcp_types.JSONRPCMessage) -> Iterator[bytes] | None:
    """The JSON line of a response with a large or deferred result, in pieces; ``None`` for any other message.

    Joined, the pieces are the JSON of the message as pydantic writes it whole, except that a
    deferred text block holds the compact JSON of the result's structuredContent.
    """
    if not isinstance(message, mcp_types.JSONRPCResponse):
        return None
    result = message.result
    if not isinstance(result, dict) or not _is_large(result):
        return None
    return _response_pieces(message, result)


_HOLE: Final = {"\ue000hole": 0}


def _response_pieces(message: mcp_types.JSONRPCResponse, result: dict[str, Any]) -> Iterator[bytes]:
    envelope = message.model_copy(update={"result": _HOLE})
    head, tail = (
        type(message)
        .__pydantic_serializer__.to_json(envelope, by_alias=True, exclude_unset=True)
        .split(_json_bytes(_HOLE), 1)
    )
    yield head
    structured = result.get("structuredContent")
    separator = b"{"
    for key, item in result.items():
        yield separator + _json_bytes(key) + b":"
        if key == "content" and isinstance(item, list):
            inner = b"["
            for block in item:
                yield inner
                yield from _block_pieces(block, structured)
                inner = b","
            yield b"]" if item else b"[]"
        else:
            yield from _pieces(item, _RESULT_DEPTH - 1, _json_bytes)
        separator = b","
    yield b"}" if result else b"{}"
    yield tail
