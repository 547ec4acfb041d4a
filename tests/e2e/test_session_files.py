"""Session files end to end: a real client, the real server (stdio or Streamable HTTP), the emulator playing
the Feb 2026 Mix, under both protocol generations.

The emulator runs in this process (``BackgroundEmulator``) so that tests can look at what Mix stored
(``emulator.store``) and plant a file too large to read; the MCP server is a separate process talking real
HTTP to it. An image comes back as MCP image content, text as text, other files as an embedded blob; a
delete is confirmed by the user; on a Mix without files (2025-10) the four tools leave the tool list.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import mcp_types as types
import pytest
from mcp import Client
from mcp.client.session import ClientRequestContext

from mix_mcp.emulator import DEMO_SESSION_ID, BackgroundEmulator
from mix_mcp.emulator.images import PNG_SIGNATURE, encode_png, png_size
from tests.e2e.workflow import ToolListChanges, expect_tool_list_change
from tests.support import PROTOCOL_MODES, SchemaChecker, running_server, stdio_client_for, text_of

TRANSPORTS = ["stdio", "http"]
FILE_TOOLS = ["list_session_files", "read_session_file", "upload_session_file", "delete_session_file"]
#: Just over read_session_file's 5 MiB limit.
BIG = 5 * 1024 * 1024 + 1
NOTES = "Release notes\nnaïve café ☕\n"


class Confirmations:
    """An elicitation callback that says yes to every confirmation, and records the questions."""

    def __init__(self) -> None:
        self.questions: list[str] = []

    async def __call__(
        self, context: ClientRequestContext, params: types.ElicitRequestParams
    ) -> types.ElicitResult | types.ErrorData:
        assert isinstance(params, types.ElicitRequestFormParams)
        self.questions.append(params.message)
        return types.ElicitResult(action="accept", content={"confirm": True})


@pytest.fixture(scope="module")
def emulator() -> Iterator[BackgroundEmulator]:
    with BackgroundEmulator(mix_version="2026-02") as running:
        yield running


@asynccontextmanager
async def connect(
    transport: str,
    url: str,
    mode: str,
    *flags: str,
    elicit: Confirmations | None = None,
    changes: ToolListChanges | None = None,
) -> AsyncIterator[Client]:
    if transport == "stdio":
        client = stdio_client_for("--base-url", url, *flags, mode=mode, message_handler=changes)
        client.elicitation_callback = elicit
        async with client:
            yield client
        return
    with running_server("--transport", "http", "--base-url", url, *flags) as server:
        client = Client(server.url, mode=mode, read_timeout_seconds=60, message_handler=changes)
        client.elicitation_callback = elicit
        async with client:
            yield client


def _pixel_png() -> bytes:
    """A 3x2 RGB PNG, different from the seeded screenshot."""
    return encode_png(3, 2, [bytes([255, 0, 0, 0, 255, 0, 0, 0, 255]), bytes([9] * 9)])


async def _call(client: Client, checker: SchemaChecker, tool: str, arguments: dict[str, Any]) -> Any:
    result = await client.call_tool(tool, arguments)
    checker.check(tool, result)
    return result


@pytest.mark.anyio
@pytest.mark.slow
@pytest.mark.parametrize("mode", PROTOCOL_MODES)
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_session_files_end_to_end(
    transport: str, mode: str, emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    session_id = str(emulator.store.create_session(title=f"Files over {transport} {mode}")["id"])
    emulator.store.put_file(session_id, "huge.png", PNG_SIGNATURE + bytes(BIG))
    pixel = _pixel_png()
    local = tmp_path / "local report.csv"
    local.write_text("a,b\n1,2\n", encoding="utf-8")
    answers = Confirmations()
    async with connect(transport, emulator.url, mode, "--confirm-destructive", elicit=answers) as client:
        tools = await client.list_tools()
        checker = SchemaChecker(tools)
        listed = {tool.name: tool for tool in tools.tools}
        assert all(name in listed for name in FILE_TOOLS)
        read_hints = listed["read_session_file"].annotations
        assert read_hints is not None and read_hints.read_only_hint and not read_hints.destructive_hint
        delete_hints = listed["delete_session_file"].annotations
        assert delete_hints is not None and delete_hints.destructive_hint and not delete_hints.read_only_hint
        assert "8,388,608 bytes" in (listed["upload_session_file"].description or "")

        # The seeded screenshot, read as an image (and as a smaller thumbnail).
        shot = await _call(
            # null for an optional argument means left out (a strict-mode or llama-index client sends it)
            client,
            checker,
            "read_session_file",
            {"session_id": DEMO_SESSION_ID, "name": "screenshot.png", "thumb": None},
        )
        image = shot.content[1]
        assert isinstance(image, types.ImageContent) and image.mime_type == "image/png"
        assert png_size(base64.b64decode(image.data)) == (160, 100)
        assert shot.structured_content["kind"] == "image" and shot.structured_content["size"] == len(
            base64.b64decode(image.data)
        )
        thumb = await _call(
            client,
            checker,
            "read_session_file",
            {"session_id": DEMO_SESSION_ID, "name": "screenshot.png", "thumb": "w40"},
        )
        assert png_size(base64.b64decode(thumb.content[1].data)) == (40, 25)

        # Upload as text, as base64 and (over stdio only) from a local path; Mix stores exactly those bytes.
        text_up = await _call(
            client,
            checker,
            "upload_session_file",
            {"session_id": session_id, "name": "notes.txt", "content": NOTES, "mime_type": None},
        )
        assert text_up.structured_content["file"]["size"] == len(NOTES.encode("utf-8"))
        encoded = base64.b64encode(pixel).decode("ascii")
        await _call(
            client,
            checker,
            "upload_session_file",
            {"session_id": session_id, "name": "pixel.png", "content": encoded, "content_format": "base64"},
        )
        assert emulator.store.get_file(session_id, "notes.txt").content == NOTES.encode("utf-8")
        assert emulator.store.get_file(session_id, "pixel.png").content == pixel
        from_disk = await client.call_tool(
            "upload_session_file",
            {"session_id": session_id, "name": "report.csv", "content": str(local), "content_format": "local_path"},
        )
        if transport == "stdio":
            checker.check("upload_session_file", from_disk)
            assert emulator.store.get_file(session_id, "report.csv").content == b"a,b\n1,2\n"
        else:
            assert from_disk.is_error and "only when mix-mcp runs over stdio" in text_of(from_disk)
        bad = await client.call_tool(
            "upload_session_file",
            {"session_id": session_id, "name": "x.bin", "content": "not base64!", "content_format": "base64"},
        )
        assert bad.is_error and "not valid base64" in text_of(bad)

        listing = await _call(client, checker, "list_session_files", {"session_id": session_id})
        names = {entry["name"] for entry in listing.structured_content["files"]}
        expected = {"huge.png", "notes.txt", "pixel.png"} | ({"report.csv"} if transport == "stdio" else set())
        assert names == expected and listing.structured_content["count"] == len(expected)

        # Text as text, an uploaded image as an image.
        text = await _call(client, checker, "read_session_file", {"session_id": session_id, "name": "notes.txt"})
        assert text.structured_content["kind"] == "text" and text.structured_content["text"] == NOTES
        assert [block.type for block in text.content] == ["text"] and json.loads(text_of(text))["text"] == NOTES
        back = await _call(client, checker, "read_session_file", {"session_id": session_id, "name": "pixel.png"})
        assert base64.b64decode(back.content[1].data) == pixel

        # Over the read limit: an error that says what to do instead.
        huge = await client.call_tool("read_session_file", {"session_id": session_id, "name": "huge.png"})
        assert huge.is_error
        assert "over the 5,242,880-byte limit" in text_of(huge) and "thumb" in text_of(huge)

        # The resource template reads the same files.
        as_text = await client.read_resource(f"mix://sessions/{session_id}/files/notes.txt")
        assert isinstance(as_text.contents[0], types.TextResourceContents) and as_text.contents[0].text == NOTES
        as_blob = await client.read_resource(f"mix://sessions/{session_id}/files/pixel.png")
        blob = as_blob.contents[0]
        assert isinstance(blob, types.BlobResourceContents) and base64.b64decode(blob.blob) == pixel

        # A delete is confirmed first, naming the file and the session.
        deleted = await _call(client, checker, "delete_session_file", {"session_id": session_id, "name": "notes.txt"})
        assert deleted.structured_content == {"deleted": True, "session_id": session_id, "name": "notes.txt"}
        assert len(answers.questions) == 1
        assert "'notes.txt'" in answers.questions[0] and f"Files over {transport} {mode}" in answers.questions[0]
        after = await _call(client, checker, "list_session_files", {"session_id": session_id})
        assert "notes.txt" not in {entry["name"] for entry in after.structured_content["files"]}
        gone = await client.call_tool("read_session_file", {"session_id": session_id, "name": "notes.txt"})
        assert gone.is_error and "list_session_files" in text_of(gone)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", PROTOCOL_MODES)
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_mix_without_files_hides_the_file_tools(transport: str, mode: str) -> None:
    changes = ToolListChanges()
    with BackgroundEmulator(mix_version="2025-10") as older:
        async with connect(transport, older.url, mode, changes=changes) as client:
            assert set(FILE_TOOLS) <= {tool.name for tool in (await client.list_tools()).tools}
            refused = await expect_tool_list_change(
                client, changes, lambda: client.call_tool("list_session_files", {"session_id": DEMO_SESSION_ID})
            )
            assert refused.is_error and "This Mix server does not offer list_session_files" in text_of(refused)
            assert "Feb 2026" in text_of(refused)
            left = {tool.name for tool in (await client.list_tools()).tools}
    assert not set(FILE_TOOLS) & left and "export_session" in left
    if mode == "legacy":
        assert changes.count == 1, "the four tools leave in one change"
