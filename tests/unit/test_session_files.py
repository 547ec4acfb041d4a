"""The file tools on the wire: a multipart upload Mix can parse, bounded reads, the kind of each answer.

Narrow tests over a mock transport; tests/e2e/test_session_files.py runs the same tools end to end.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx2
import mcp_types as types
import pytest
from python_multipart.multipart import parse_options_header
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartParser

from mix_mcp.config import Settings
from mix_mcp.emulator import DEMO_SESSION_ID, EMPTY_SESSION_ID, BackgroundEmulator
from mix_mcp.emulator.images import png_size
from mix_mcp.mix.client import MixClient, ReadLimit, Upload
from mix_mcp.mix.errors import AnswerTooLargeError, ErrorHints
from mix_mcp.serving.server import run_operation
from mix_mcp.tools.arguments import MAX_READ_BYTES, MAX_UPLOAD_BYTES
from mix_mcp.tools.operations import OPERATIONS_BY_NAME
from tests.support import text_of
from tests.unit.fakes import mix_client

SID = "s/1"
INFO = {"name": "a b.png", "size": 3, "modified": 1, "isDir": False, "url": "/x"}


async def _form(request: httpx2.Request) -> tuple[str, str | None, bytes]:
    """The upload's file part, parsed by Starlette's multipart parser (what the emulator uses)."""
    body = request.content

    async def stream() -> Any:
        yield body
        yield b""

    content_type, _ = parse_options_header(request.headers["content-type"])
    assert content_type == b"multipart/form-data"
    form = await MultiPartParser(request.headers, stream()).parse()  # type: ignore[arg-type]
    part = form["file"]
    assert isinstance(part, UploadFile)
    return str(part.filename), part.content_type, await part.read()


@pytest.mark.anyio
async def test_an_upload_is_one_multipart_request_with_the_file_part() -> None:
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(201, json=INFO)

    pixel = bytes([0x89, 0x50, 0x4E])
    async with mix_client(handler) as client:
        result = await run_operation(
            client,
            OPERATIONS_BY_NAME["upload_session_file"],
            {
                "session_id": SID,
                "name": "a b.png",
                "content": base64.b64encode(pixel).decode(),
                "content_format": "base64",
            },
        )
    assert not result.is_error, text_of(result)
    (request,) = seen
    assert request.method == "POST" and request.url.raw_path == b"/api/sessions/s%2F1/files/upload"
    assert await _form(request) == ("a b.png", "image/png", pixel)
    assert result.structured_content == {
        "session_id": SID,
        "file": {
            "name": "a b.png",
            "size": 3,
            "modified": 1,
            "is_dir": False,
            "url": "/x",
            "uri": "mix://sessions/s%2F1/files/a%20b.png",
        },
    }


@pytest.mark.anyio
async def test_an_upload_over_the_limit_or_a_local_path_off_stdio_sends_nothing() -> None:
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(201, json=INFO)

    op = OPERATIONS_BY_NAME["upload_session_file"]
    async with mix_client(handler, transport="http") as client:
        big = await run_operation(
            client, op, {"session_id": SID, "name": "big.txt", "content": "x" * (MAX_UPLOAD_BYTES + 1)}
        )
        local = await run_operation(
            client, op, {"session_id": SID, "name": "p.txt", "content": "/etc/hostname", "content_format": "local_path"}
        )
    assert big.is_error and f"over the {MAX_UPLOAD_BYTES:,}-byte limit" in text_of(big)
    assert local.is_error and "only when mix-mcp runs over stdio" in text_of(local)
    assert seen == []


@pytest.mark.anyio
@pytest.mark.parametrize("declared", [True, False])
async def test_a_read_over_the_limit_stops_early_says_what_to_do_and_is_not_retried(declared: bool) -> None:
    calls = 0

    def handler(request: httpx2.Request) -> httpx2.Response:
        nonlocal calls
        calls += 1
        body = b"\x00" * (MAX_READ_BYTES + 10)
        if declared:
            return httpx2.Response(200, content=body, headers={"Content-Type": "image/png"})

        async def chunks() -> Any:
            for at in range(0, len(body), 1 << 20):
                yield body[at : at + (1 << 20)]

        return httpx2.Response(200, content=chunks(), headers={"Content-Type": "image/png"})

    async with mix_client(handler, max_retries=2) as client:
        result = await run_operation(
            client, OPERATIONS_BY_NAME["read_session_file"], {"session_id": SID, "name": "x.png"}
        )
    assert result.is_error and calls == 1
    text = text_of(result)
    assert f"over the {MAX_READ_BYTES:,}-byte limit" in text and "thumb" in text and "MIX_BASE_URL" not in text


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("content_type", "body", "kind"),
    [
        ("image/png", b"\x89PNG....", "image"),
        ("text/plain; charset=utf-8", "héllo".encode(), "text"),
        ("application/octet-stream", b"plain bytes that are text", "text"),
        ("application/octet-stream", b"\x00\xff\x10", "binary"),
        ("application/pdf", b"%PDF-1.7", "binary"),
    ],
)
async def test_each_kind_of_file_gets_its_content_block(content_type: str, body: bytes, kind: str) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        assert request.headers["accept"] == "*/*"
        return httpx2.Response(200, content=body, headers={"Content-Type": content_type})

    async with mix_client(handler) as client:
        result = await run_operation(client, OPERATIONS_BY_NAME["read_session_file"], {"session_id": SID, "name": "f"})
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None and result.structured_content["kind"] == kind
    blocks = result.content[1:]
    if kind == "image":
        (image,) = blocks
        assert isinstance(image, types.ImageContent) and base64.b64decode(image.data) == body
    elif kind == "binary":
        (embedded,) = blocks
        assert isinstance(embedded, types.EmbeddedResource)
        assert isinstance(embedded.resource, types.BlobResourceContents)
        assert (
            base64.b64decode(embedded.resource.blob) == body and embedded.resource.uri == "mix://sessions/s%2F1/files/f"
        )
    else:
        assert blocks == [] and result.structured_content["text"] == body.decode()


@pytest.mark.anyio
async def test_a_long_text_is_cut_with_the_arguments_that_read_it_whole() -> None:
    text = "line\n" * 2_000

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=text.encode(), headers={"Content-Type": "text/plain"})

    async with mix_client(handler) as client:
        result = await run_operation(
            client, OPERATIONS_BY_NAME["read_session_file"], {"session_id": SID, "name": "log.txt", "max_chars": 2_000}
        )
    structured = result.structured_content
    assert structured is not None and structured["truncated"] is True and len(structured["text"]) == 2_000
    assert structured["next_arguments"] == {"session_id": SID, "name": "log.txt", "max_chars": len(text)}


@pytest.mark.anyio
async def test_the_client_library_methods_reach_a_real_mix_s_files() -> None:
    with BackgroundEmulator(mix_version="2026-02") as emulator:
        async with MixClient(Settings(base_url=emulator.url, max_retries=0)) as client:
            stored = await client.upload_session_file(EMPTY_SESSION_ID, Upload("x y.txt", b"hello", "text/plain"))
            assert (stored.name, stored.size, stored.is_dir) == ("x y.txt", 5, False)
            assert [f.name for f in await client.list_session_files(EMPTY_SESSION_ID)] == ["x y.txt"]
            got = await client.get_session_file(EMPTY_SESSION_ID, "x y.txt")
            assert got.content == b"hello" and got.content_type.startswith("text/plain")
            thumb = await client.get_session_file(DEMO_SESSION_ID, "screenshot.png", thumb="w80")
            assert png_size(thumb.content) == (80, 50)
            small = ReadLimit(100, "use a thumbnail")
            with pytest.raises(AnswerTooLargeError) as too_large:
                await client.get_session_file(DEMO_SESSION_ID, "screenshot.png", limit=small)
            assert "use a thumbnail" in too_large.value.describe(ErrorHints())
            await client.delete_session_file(EMPTY_SESSION_ID, "x y.txt")
            assert await client.list_session_files(EMPTY_SESSION_ID) == []
