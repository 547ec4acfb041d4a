"""A session's files as tools and a resource: list, read (image, text or blob), upload, delete.

Mix (from Feb 2026 on) gives each session a storage directory. Reading returns what a model can use:
an image as MCP image content, text as text (cut to ``max_chars``), anything else as an embedded
blob; every read is bounded (``MAX_READ_BYTES``), and the error over it says how to get a smaller
answer (a thumbnail). Uploads go to Mix as one multipart request; over stdio the content may also be a
path on the machine running mix-mcp (that machine is the user's own), never over HTTP, where the
caller is remote.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
from typing import Any, Final
from urllib.parse import quote

import anyio
import mcp_types as types
from pydantic import BaseModel, Field

from mix_mcp.mix.client import FILE_INFO, CallStats, Download, MixClient, ReadLimit, Upload
from mix_mcp.mix.endpoints import GET_SESSION_FILE, UPLOAD_SESSION_FILE
from mix_mcp.mix.errors import ArgumentsError, ErrorHints
from mix_mcp.tools.arguments import (
    MAX_READ_BYTES,
    MAX_UPLOAD_BYTES,
    DeleteSessionFileArguments,
    ReadSessionFileArguments,
    SessionArguments,
    ToolArguments,
    UploadSessionFileArguments,
)
from mix_mcp.tools.rendering import Shaped
from mix_mcp.tools.runs.follow import CallContext
from mix_mcp.tools.sanitize import clean_text

#: Images a model can look at (MCP image content); SVG is XML text and is read as text.
IMAGE_TYPES: Final = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
_TEXT_TYPES: Final = frozenset(
    {"application/json", "application/xml", "application/javascript", "application/yaml", "application/toml"}
)
FILE_URI: Final = "mix://sessions/{session_id}/files/{name}"

FILE_HINTS: Final = ErrorHints(
    not_found="The session or the file does not exist: call list_session_files to see the session's file names "
    "(and list_sessions for session ids).",
    bad_request="Check the file name with list_session_files (one file name, no directories) and call again.",
    unavailable="Session files came with Mix's Feb 2026 release; this Mix is older. export_session still reads the "
    "session's messages.",
)
READ_HINTS: Final = ErrorHints(
    not_found=FILE_HINTS.not_found,
    bad_request="thumb applies only to images and videos: leave it out for other files, and check the name with "
    "list_session_files.",
    unavailable=FILE_HINTS.unavailable,
)
UPLOAD_HINTS: Final = ErrorHints(
    not_found="The session does not exist: call list_sessions to see the ids that exist.",
    bad_request="Mix refused the file: check its name (one file name, no directories) and size (Mix takes at most "
    "32 MB).",
    unavailable=FILE_HINTS.unavailable,
)


def _too_large_advice(args: ReadSessionFileArguments) -> str:
    if args.thumb is not None:
        return (
            f"Even the thumbnail '{args.thumb}' is too large: call read_session_file again with a smaller thumb "
            "(e.g. '400')."
        )
    return (
        "For an image or a video, call read_session_file again with thumb (e.g. '800' for at most 800x800 pixels) "
        "to get a smaller image. For another file, ask the session's agent (send_message) to split or compress it "
        "into smaller files; list_session_files shows every file's size."
    )


class SessionFile(BaseModel):
    """One file of a session's storage directory."""

    name: str = Field(description="File name: what read_session_file and delete_session_file take.")
    size: int = Field(description="Size in bytes.")
    modified: int = Field(description="Last modification, in Unix seconds.")
    is_dir: bool = Field(description="Whether it is a directory (cannot be read or deleted).")
    url: str = Field(description="Mix's own URL of the file.")
    uri: str = Field(description="The file as an MCP resource (mix://sessions/{session_id}/files/{name}).")


class FileListing(BaseModel):
    """A session's files."""

    session_id: str = Field(description="The session whose files these are.")
    count: int = Field(description="Number of files.")
    files: list[SessionFile] = Field(description="The files, as Mix lists them.")


class FileRead(BaseModel):
    """A file read from a session: its description, and its text when it is text."""

    session_id: str = Field(description="The session holding the file.")
    name: str = Field(description="File name.")
    mime_type: str = Field(description="Media type Mix served it as.")
    size: int = Field(description="Bytes returned (of the thumbnail, when thumb was given).")
    kind: str = Field(
        description="'image' (an image content block follows), 'text' (the text is in 'text') or 'binary' "
        "(an embedded resource block holds the bytes in base64)."
    )
    thumb: str | None = Field(default=None, description="The thumbnail asked for, if any.")
    uri: str = Field(description="The file as an MCP resource.")
    text: str | None = Field(default=None, description="The text of a text file (at most max_chars characters).")
    truncated: bool = Field(default=False, description="Whether the text was cut at max_chars.")
    total_chars: int | None = Field(default=None, description="Characters in the whole text file.")
    next_arguments: dict[str, Any] | None = Field(
        default=None, description="When truncated: the read_session_file arguments that return the whole text."
    )


class UploadedFile(BaseModel):
    """What Mix stored."""

    session_id: str = Field(description="The session the file was uploaded to.")
    file: SessionFile = Field(description="The stored file, as Mix describes it.")


class DeletedFile(BaseModel):
    """Confirmation that a file is gone."""

    deleted: bool = Field(description="Always true: Mix confirmed the deletion.")
    session_id: str = Field(description="The session the file was deleted from.")
    name: str = Field(description="Name of the deleted file.")


def file_uri(session_id: str, name: str) -> str:
    return f"mix://sessions/{quote(session_id, safe='')}/files/{quote(name, safe='')}"


def _entry(session_id: str, info: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": info["name"],
        "size": info["size"],
        "modified": info["modified"],
        "is_dir": info["isDir"],
        "url": info["url"],
        "uri": file_uri(session_id, str(info["name"])),
    }


def shape_file_list(data: Any, args: ToolArguments) -> Shaped:
    assert isinstance(args, SessionArguments)
    files = [_entry(args.session_id, info) for info in data or []]
    return Shaped({"session_id": args.session_id, "count": len(files), "files": files})


def shape_deleted_file(_data: Any, args: ToolArguments) -> Shaped:
    assert isinstance(args, DeleteSessionFileArguments)
    return Shaped({"deleted": True, "session_id": args.session_id, "name": args.name})


def media_type(download: Download, name: str) -> str:
    """The media type without parameters: as Mix served it, else guessed from the name."""
    served = download.content_type.split(";", 1)[0].strip().lower()
    if served and served != "application/octet-stream":
        return served
    return mimetypes.guess_type(name, strict=False)[0] or served or "application/octet-stream"


def as_text(content: bytes, mime: str) -> str | None:
    """The content as text when it is text (by type, or UTF-8 without NUL bytes), else ``None``."""
    textual = mime.startswith("text/") or mime in _TEXT_TYPES or mime.endswith(("+json", "+xml"))
    if not textual and mime not in ("application/octet-stream", ""):
        return None
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return None if "\x00" in text else text


async def download(client: MixClient, args: ReadSessionFileArguments, stats: CallStats | None = None) -> Download:
    """One bounded GET of a session file (a thumbnail when ``thumb`` is given)."""
    result = await client.send(
        GET_SESSION_FILE,
        session_id=args.session_id,
        filename=args.name,
        query={"thumb": args.thumb} if args.thumb is not None else None,
        idempotent=True,
        operation="read_session_file",
        raw=True,
        limit=ReadLimit(MAX_READ_BYTES, _too_large_advice(args)),
        stats=stats,
    )
    assert isinstance(result, Download)
    return result


async def read_session_file(client: MixClient, args: ToolArguments, call: CallContext) -> Shaped:
    """The tool: download, then one content block that fits the file's kind."""
    assert isinstance(args, ReadSessionFileArguments)
    got = await download(client, args, call.stats)
    mime = media_type(got, args.name)
    uri = file_uri(args.session_id, args.name)
    structured: dict[str, Any] = {
        "session_id": args.session_id,
        "name": args.name,
        "mime_type": mime,
        "size": len(got.content),
        "thumb": args.thumb,
        "uri": uri,
    }
    encoded = base64.b64encode(got.content).decode("ascii")
    if mime in IMAGE_TYPES:
        return Shaped({**structured, "kind": "image"}, blocks=(types.ImageContent(data=encoded, mime_type=mime),))
    text = as_text(got.content, mime)
    if text is None:
        blob = types.BlobResourceContents(uri=uri, mime_type=mime, blob=encoded)
        return Shaped({**structured, "kind": "binary"}, blocks=(types.EmbeddedResource(resource=blob),))
    cut = len(text) > args.max_chars
    structured.update(kind="text", text=text[: args.max_chars], truncated=cut, total_chars=len(text))
    if cut:
        structured["next_arguments"] = {"session_id": args.session_id, "name": args.name, "max_chars": len(text)}
    return Shaped(structured)


async def _content(args: UploadSessionFileArguments, stdio: bool) -> bytes:
    """The bytes to upload, from text, base64 or (over stdio) a local file; an ArgumentsError says what is wrong."""

    def refuse(problem: str) -> ArgumentsError:
        return ArgumentsError("upload_session_file", [problem])

    if args.content_format == "text":
        data = args.content.encode("utf-8")
    elif args.content_format == "base64":
        try:
            data = base64.b64decode(args.content, validate=True)
        except (binascii.Error, ValueError):
            raise refuse("content: is not valid base64 (content_format 'base64')") from None
    else:
        if not stdio:
            raise refuse(
                "content_format: 'local_path' works only when mix-mcp runs over stdio on the user's machine; this "
                "server is remote, so send the file as content_format 'text' or 'base64'"
            )
        path = await anyio.Path(args.content).expanduser()
        try:
            if not await path.is_file():
                raise refuse(f"content: {args.content!r} is not a file mix-mcp can read")
            size = (await path.stat()).st_size
            if size > MAX_UPLOAD_BYTES:
                raise refuse(f"content: the file is {size:,} bytes, over the {MAX_UPLOAD_BYTES:,}-byte limit")
            async with await anyio.open_file(path, "rb") as handle:
                data = await handle.read(MAX_UPLOAD_BYTES + 1)
        except OSError as exc:
            raise refuse(f"content: cannot read {args.content!r} ({exc.strerror or type(exc).__name__})") from None
    if len(data) > MAX_UPLOAD_BYTES:
        raise refuse(f"content: {len(data):,} bytes, over the {MAX_UPLOAD_BYTES:,}-byte limit of upload_session_file")
    return data


async def upload_session_file(client: MixClient, args: ToolArguments, call: CallContext) -> Shaped:
    """The tool: one multipart POST; Mix answers with the stored file's ``FileInfo``."""
    assert isinstance(args, UploadSessionFileArguments)
    data = await _content(args, client.settings.transport == "stdio")
    mime = args.mime_type or mimetypes.guess_type(args.name, strict=False)[0] or "application/octet-stream"
    info = await client.send(
        UPLOAD_SESSION_FILE,
        session_id=args.session_id,
        upload=Upload(args.name, data, mime),
        idempotent=True,
        operation="upload_session_file",
        expect=FILE_INFO,
        stats=call.stats,
    )
    assert isinstance(info, dict)
    return Shaped({"session_id": args.session_id, "file": _entry(args.session_id, info)})


async def read_resource(client: MixClient, uri: str, args: ReadSessionFileArguments) -> types.ReadResourceResult:
    """``mix://sessions/{session_id}/files/{name}``: text as text (cleaned like any Mix text), else a blob."""
    got = await download(client, args)
    mime = media_type(got, args.name)
    text = None if mime in IMAGE_TYPES else as_text(got.content, mime)
    if text is not None:
        content: types.TextResourceContents | types.BlobResourceContents = types.TextResourceContents(
            uri=uri, mime_type=mime, text=clean_text(text)
        )
    else:
        content = types.BlobResourceContents(uri=uri, mime_type=mime, blob=base64.b64encode(got.content).decode())
    return types.ReadResourceResult(contents=[content])
