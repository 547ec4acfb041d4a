"""A large export over stdio, read by the SDK's own client in both protocol generations: the result written a piece
at a time, its text block made as it is written, is the same result a whole serialization gives."""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Iterator

import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from mix_mcp.emulator import LARGE_SESSION_ID, SEED_SESSION_IDS
from mix_mcp.serving.streamed_results import DEFERRED_JSON_TEXT, LARGE_BYTES
from mix_mcp.tools.rendering import compact_json
from tests.support import clean_env, running_emulator, text_of

#: Messages of about 10 KB each: a transcript of about 1.5 MB, past the size written in pieces.
MESSAGES = 150


@pytest.fixture(scope="module")
def large_mix() -> Iterator[str]:
    with running_emulator("--large-session", str(MESSAGES)) as url:
        yield url


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_a_large_export_reaches_the_client_whole_and_the_stream_goes_on(large_mix: str, mode: str) -> None:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "mix_mcp", "serve", "--base-url", large_mix], env=clean_env()
    )
    with tempfile.TemporaryFile("w+") as errlog:
        async with Client(stdio_client(params, errlog=errlog), mode=mode, read_timeout_seconds=60) as client:
            exported = await client.call_tool("export_session", {"session_id": LARGE_SESSION_ID, "unbounded": True})
            markdown = await client.call_tool(
                "export_session", {"session_id": LARGE_SESSION_ID, "unbounded": True, "format": "markdown"}
            )
            after = await client.call_tool("get_session", {"session_id": SEED_SESSION_IDS[0]})
        errlog.seek(0)
        log = errlog.read()

    assert not exported.is_error, text_of(exported)
    structured = exported.structured_content
    assert structured is not None and len(structured["messages"]) == MESSAGES
    text = text_of(exported)
    assert len(text) >= LARGE_BYTES
    assert DEFERRED_JSON_TEXT not in text
    assert text == compact_json(structured), "the text block is the compact JSON of the structured content"
    assert [m["index"] for m in structured["messages"]] == list(range(MESSAGES))

    assert not markdown.is_error, text_of(markdown)
    assert markdown.structured_content is not None
    assert text_of(markdown) == markdown.structured_content["markdown"]
    assert len(text_of(markdown)) >= LARGE_BYTES

    assert not after.is_error and after.structured_content is not None
    assert after.structured_content["id"] == SEED_SESSION_IDS[0]
    assert json.loads(text_of(after)) == after.structured_content
    assert "Traceback" not in log
