"""The stdio writer's pieces of a large result join to the same JSON a whole serialization gives, and the
deferred text block is exactly the compact JSON of the structured content."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import mcp_types
import pytest
from mcp_types.version import SUPPORTED_PROTOCOL_VERSIONS

from mix_mcp.serving import stdio, streamed_results
from mix_mcp.serving.streamed_results import (
    DEFERRED_JSON_TEXT,
    LARGE_BYTES,
    deferring,
    response_pieces,
    text_block,
)
from mix_mcp.tools.rendering import Shaped, compact_json

#: Text that escapes in every way JSON knows: quotes, backslashes, controls, non-ASCII, astral characters.
AWKWARD = 'quote " backslash \\ newline \n tab \t nul \x00 bell \x07 café 日本語 👩\u200d💻 \u2028 </script>'


def _whole(message: mcp_types.JSONRPCResponse) -> bytes:
    return type(message).__pydantic_serializer__.to_json(message, by_alias=True, exclude_unset=True)


def _joined(message: mcp_types.JSONRPCResponse) -> bytes:
    pieces = response_pieces(message)
    assert pieces is not None, "a large result is written in pieces"
    return b"".join(pieces)


def _structured(messages: int, size: int) -> dict[str, Any]:
    return {
        "session_id": "s1",
        "messages": [
            {"index": n, "role": "assistant", "content": AWKWARD * (size // len(AWKWARD) + 1), "toolCalls": []}
            for n in range(messages)
        ],
        "empty": {},
        "none": None,
        "numbers": [0, -1, 2**70, 1.5, 1e-7, True, False],
        "nested": {"deep": {"deeper": [AWKWARD, {"k": AWKWARD}]}},
        "window": {"offset": 0, "limit": None},
    }


def _response(result: dict[str, Any], request_id: int | str = 7) -> mcp_types.JSONRPCResponse:
    return mcp_types.JSONRPCResponse(jsonrpc="2.0", id=request_id, result=result)


@pytest.mark.parametrize("request_id", [7, "req-é"])
def test_a_large_text_result_in_pieces_is_byte_for_byte_the_whole_line(request_id: int | str) -> None:
    structured = _structured(40, 40_000)
    text = compact_json(structured)
    assert len(text) >= LARGE_BYTES
    message = _response(
        {"content": [{"type": "text", "text": text}], "structuredContent": structured, "isError": False}, request_id
    )
    assert _joined(message) == _whole(message)


def test_a_deferred_text_block_becomes_the_compact_json_of_the_structured_content() -> None:
    structured = _structured(5, 1_000)  # small: a deferred block is expanded whatever its size
    deferred = _response(
        {
            "content": [{"type": "text", "text": DEFERRED_JSON_TEXT}, {"type": "text", "text": "after"}],
            "structuredContent": structured,
            "_meta": {"label": AWKWARD},
        }
    )
    filled = _response(
        {
            "content": [{"type": "text", "text": compact_json(structured)}, {"type": "text", "text": "after"}],
            "structuredContent": structured,
            "_meta": {"label": AWKWARD},
        }
    )
    line = _joined(deferred)
    assert line == _whole(filled)
    decoded = json.loads(line)
    assert decoded["result"]["content"][0]["text"] == compact_json(structured)
    assert json.loads(decoded["result"]["content"][0]["text"]) == structured
    assert DEFERRED_JSON_TEXT.encode() not in line


def test_a_long_string_inside_the_structured_content_is_sliced_without_changing_it() -> None:
    long = AWKWARD * 20_000  # several slices, with escapes across their edges
    structured = {"markdown": long}
    deferred = _response({"content": [{"type": "text", "text": DEFERRED_JSON_TEXT}], "structuredContent": structured})
    decoded = json.loads(_joined(deferred))
    assert decoded["result"]["structuredContent"]["markdown"] == long
    assert decoded["result"]["content"][0]["text"] == compact_json(structured)


def test_large_resource_contents_are_written_in_pieces_too() -> None:
    message = _response({"contents": [{"uri": "mix://x", "mimeType": "text/plain", "text": AWKWARD * 40_000}]})
    assert _joined(message) == _whole(message)


@pytest.mark.parametrize(
    "message",
    [
        _response({"content": [{"type": "text", "text": "small"}], "structuredContent": {"a": 1}}),
        _response({}),
        _response({"content": "not a list"}),
        mcp_types.JSONRPCNotification(jsonrpc="2.0", method="notifications/progress", params={"x": "y" * LARGE_BYTES}),
        mcp_types.JSONRPCRequest(jsonrpc="2.0", id=1, method="ping"),
    ],
)
def test_other_messages_are_written_whole(message: mcp_types.JSONRPCMessage) -> None:
    assert response_pieces(message) is None


def test_the_text_is_deferred_only_when_large_on_a_deferring_transport_and_carried_by_the_version() -> None:
    shaped = Shaped({"messages": ["x"]})
    rendered = compact_json(shaped.structured)
    version = "2025-11-25"
    assert text_block(shaped, LARGE_BYTES, version) == rendered, "no transport asked for it"
    with deferring():
        assert text_block(shaped, LARGE_BYTES, version) == DEFERRED_JSON_TEXT
        assert text_block(shaped, LARGE_BYTES - 1, version) == rendered, "small answers are rendered at once"
        assert text_block(shaped, LARGE_BYTES, None) == rendered, "no request context: no version known"
        assert text_block(shaped, LARGE_BYTES, "1999-01-01") == rendered, "a version the SDK cannot sieve"
        markdown = Shaped({"markdown": "# t"}, "# t")
        assert text_block(markdown, LARGE_BYTES, version) == "# t", "a text of its own is never deferred"
    assert text_block(shaped, LARGE_BYTES, version) == rendered, "the block ends with the transport"


@pytest.mark.parametrize("version", sorted(SUPPORTED_PROTOCOL_VERSIONS))
def test_every_supported_version_keeps_the_structured_content_the_text_is_made_from(version: str) -> None:
    assert streamed_results._keeps_structured_content(version)


def test_a_task_workers_stand_in_context_never_defers() -> None:
    with deferring():
        assert text_block(Shaped({"a": 1}), LARGE_BYTES, "task") == '{"a":1}'


def test_a_line_that_fails_half_written_is_ended_so_the_next_message_parses(tmp_path: Path) -> None:
    """A piece that cannot be made after part of the line went out: the line ends there, the error goes up."""

    def pieces() -> Iterator[bytes]:
        yield b'{"jsonrpc":"2.0","id":1,"result":{"text":"' + b"x" * (2 * 1024 * 1024)
        raise ValueError("a value that cannot be serialised")

    async def main(path: Path) -> None:
        with path.open("wb") as sink:
            writer = stdio._FrameWriter(stdio._Sink(None, sink.fileno()), stdio._Answers(), stdio._Stop())
            with pytest.raises(ValueError, match="cannot be serialised"):
                await writer.write_pieces(pieces())
            await writer.write_line(b'{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"failed"}}')

    anyio.run(main, tmp_path / "stdout")
    out = (tmp_path / "stdout").read_bytes()
    broken, answer, rest = out.split(b"\n")
    assert broken.startswith(b'{"jsonrpc":"2.0","id":1,"result"') and len(broken) >= 1024 * 1024
    assert json.loads(answer)["error"]["message"] == "failed"
    assert rest == b""
