"""A session's storage directory, as the Feb 2026 Mix serves it: list, multipart upload, download, delete.

Only a profile whose Mix offers these operations routes them (``file_routes`` returns nothing for the
others, whose router then answers 404, so mix-mcp hides the file tools there). Files live in the store
beside their session and go with it.

Where the contract is silent, the emulator chooses and says so here:

* a file's ``url`` is the path of ``getSessionFile`` (the contract only says "static URL");
* a file is served with the media type its name implies, else the one it was uploaded with, else
  ``application/octet-stream``;
* a file name must be one path segment: no '/', '\\', control characters, '.' or '..' (400);
* ``thumb`` shrinks the PNGs ``images`` can read; other images come back unchanged, videos and other
  files get a 400 (the emulator makes no video frames);
* there are no directories, so ``isDir`` is always false and the "cannot delete a directory" 400 never occurs;
* a rewind with ``cleanupMedia`` removes every file modified after the kept message was written (the
  contract says "media files ... based on file timestamp"; the emulator counts every file as media).
"""

from __future__ import annotations

import mimetypes
from typing import Any, Final
from urllib.parse import quote, unquote

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mix_mcp.emulator.images import THUMB_SPEC, screenshot_png, thumbnail
from mix_mcp.emulator.profiles import MixProfile
from mix_mcp.emulator.store import SessionStore, StoredFile
from mix_mcp.emulator.validation import RequestError
from mix_mcp.mix import endpoints

#: Mix's own upload limit (the contract's 413: "File too large (max 32MB)").
MAX_UPLOAD_BYTES: Final = 32 * 1024 * 1024
#: Longest time offset (seconds) for a video thumbnail, as the contract bounds ``time``.
MAX_THUMB_TIME: Final = 86_400
#: The seeded demo session's screenshot, and its text note.
SCREENSHOT_NAME: Final = "screenshot.png"
NOTES_NAME: Final = "notes.md"
SEED_NOTES: Final = (
    "# Pagination fix\n\n- Flaky test: `test_list_orders_second_page`\n- Cause: rows with equal `created_at` had "
    "no stable order\n- Fix: order by `(created_at, id)`\n"
)
#: 2025-03-10T09:40:00Z, during the demo session.
SEED_MODIFIED: Final = 1_741_599_600
_MEDIA_TYPES: Final = {".md": "text/markdown", ".webp": "image/webp", ".log": "text/plain"}


def media_type(name: str, uploaded: str | None = None) -> str:
    """What a file is served as: by its name first (as a static file server does), then as uploaded."""
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    guessed = _MEDIA_TYPES.get(suffix) or mimetypes.guess_type(name, strict=False)[0]
    return guessed or uploaded or "application/octet-stream"


def check_name(name: str) -> str:
    """``name`` if it is a single, safe path segment; a 400 otherwise."""
    if not name or name in (".", "..") or any(c in name for c in "/\\") or any(ord(c) < 0x20 for c in name):
        raise RequestError(400, "bad_request", f"Invalid filename: {name!r}")
    if len(name.encode("utf-8")) > 255:
        raise RequestError(400, "bad_request", "Invalid filename: longer than 255 bytes")
    return name


def file_info(session_id: str, stored: StoredFile) -> dict[str, Any]:
    """A ``FileInfo`` body."""
    path = endpoints.GET_SESSION_FILE.path.replace("{id}", quote(session_id, safe=""))
    return {
        "name": stored.name,
        "size": stored.size,
        "modified": stored.modified,
        "isDir": False,
        "url": path.replace("{filename}", quote(stored.name, safe="")),
    }


def seed_demo_files(store: SessionStore, session_id: str) -> None:
    """The demo session's screenshot (a PNG drawn in code) and a short Markdown note."""
    store.put_file(session_id, SCREENSHOT_NAME, screenshot_png(), content_type="image/png", modified=SEED_MODIFIED)
    store.put_file(
        session_id, NOTES_NAME, SEED_NOTES.encode("utf-8"), content_type="text/markdown", modified=SEED_MODIFIED + 60
    )


class _FileHandlers:
    def __init__(self, store: SessionStore) -> None:
        self.store = store

    async def list_files(self, request: Request) -> Response:
        session_id = unquote(request.path_params["id"])
        files = await run_in_threadpool(self.store.list_files, session_id)
        listed = [file_info(session_id, f) for f in files]
        return JSONResponse(listed, status_code=endpoints.LIST_SESSION_FILES.success_status)

    async def upload(self, request: Request) -> Response:
        session_id = unquote(request.path_params["id"])
        if not await run_in_threadpool(self.store.has_session, session_id):
            raise RequestError(404, "not_found", f"Session not found: {session_id}")
        try:
            form = await request.form(max_files=1, max_fields=8)
        except Exception as exc:  # python-multipart's errors and Starlette's limits alike
            raise RequestError(400, "bad_request", f"Invalid multipart form: {exc}") from None
        try:
            part = form.get("file")
            if not isinstance(part, UploadFile):
                raise RequestError(400, "bad_request", "Invalid file: the multipart form has no 'file' part")
            name = check_name(part.filename or "")
            content = await part.read(MAX_UPLOAD_BYTES + 1)
            if len(content) > MAX_UPLOAD_BYTES:
                raise RequestError(413, "bad_request", "File too large (max 32MB)")
            uploaded = part.content_type if part.content_type != "application/octet-stream" else None
        finally:
            await form.close()
        stored = await run_in_threadpool(self.store.put_file, session_id, name, content, content_type=uploaded)
        return JSONResponse(file_info(session_id, stored), status_code=endpoints.UPLOAD_SESSION_FILE.success_status)

    async def get_file(self, request: Request) -> Response:
        session_id = unquote(request.path_params["id"])
        name = check_name(unquote(request.path_params["filename"]))
        spec = request.query_params.get("thumb")
        if spec is not None and not THUMB_SPEC.match(spec):
            raise RequestError(400, "bad_request", f"Invalid thumbnail parameter: {spec!r} (use 100, w100 or h100)")
        moment = request.query_params.get("time")
        if moment is not None:
            try:
                seconds = float(moment)
            except ValueError:
                seconds = -1.0
            if not 0 <= seconds <= MAX_THUMB_TIME:
                raise RequestError(400, "bad_request", f"Invalid time parameter: {moment!r}")
        stored = await run_in_threadpool(self.store.get_file, session_id, name)
        kind = media_type(stored.name, stored.content_type)
        content = stored.content
        if spec is not None:
            if not kind.startswith("image/"):
                raise RequestError(400, "bad_request", f"Thumbnails are only generated for images: {name} is {kind}")
            content = await run_in_threadpool(thumbnail, content, spec)
            kind = "image/png" if content is not stored.content else kind
        return Response(content, status_code=endpoints.GET_SESSION_FILE.success_status, media_type=kind)

    async def delete_file(self, request: Request) -> Response:
        session_id = unquote(request.path_params["id"])
        name = check_name(unquote(request.path_params["filename"]))
        await run_in_threadpool(self.store.delete_file, session_id, name)
        return Response(status_code=endpoints.DELETE_SESSION_FILE.success_status)


def file_routes(store: SessionStore, profile: MixProfile) -> list[Route]:
    """The file routes of a Mix that offers them; none for one that does not (its router answers 404)."""
    if not all(profile.offers(endpoint) for endpoint in endpoints.FILE_ENDPOINTS):
        return []
    handlers = _FileHandlers(store)
    one_file = {"GET": handlers.get_file, "DELETE": handlers.delete_file}

    async def on_file(request: Request) -> Response:
        return await one_file["GET" if request.method == "HEAD" else request.method](request)

    return [
        Route(endpoints.LIST_SESSION_FILES.path, handlers.list_files, methods=["GET"]),
        Route(endpoints.UPLOAD_SESSION_FILE.path, handlers.upload, methods=["POST"]),
        Route(endpoints.GET_SESSION_FILE.path, on_file, methods=["GET", "DELETE"]),
    ]
