"""The emulator's session files, judged by Mix's official SDK (mix-python-sdk, generated from the 2026-02 contract).

The SDK is the client here: it builds the multipart upload as Mix expects it and parses every answer with
its own models (``FileInfo``, ``ErrorResponse``), so an answer the emulator shapes wrongly fails here. Its
retries are switched off, so that a 5xx fails at once instead of backing off for minutes.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest
from mix_python_sdk import Mix, errors, models, utils

from mix_mcp.emulator import DEMO_SESSION_ID, EMPTY_SESSION_ID, BackgroundEmulator
from mix_mcp.emulator.images import PNG_SIGNATURE, png_size
from mix_mcp.emulator.store import NewMessage, SessionNotFoundError
from mix_mcp.mix.models import FileInfo

NO_RETRIES = utils.RetryConfig("backoff", utils.BackoffStrategy(1, 1, 1.0, 1), False)


@pytest.fixture(scope="module")
def feb() -> Iterator[BackgroundEmulator]:
    with BackgroundEmulator(mix_version="2026-02") as running:
        yield running


@pytest.fixture
def sdk(feb: BackgroundEmulator) -> Iterator[Mix]:
    with Mix(server_url=feb.url, retry_config=NO_RETRIES, timeout_ms=10_000) as client:
        yield client


def test_the_seeded_screenshot_is_listed_and_served_as_a_png(sdk: Mix) -> None:
    listed = sdk.files.list_session_files(id=DEMO_SESSION_ID)
    assert all(isinstance(entry, models.FileInfo) for entry in listed)
    by_name = {entry.name: entry for entry in listed}
    assert set(by_name) == {"notes.md", "screenshot.png"}
    shot = by_name["screenshot.png"]
    assert not shot.is_dir and shot.size > 0 and shot.url.endswith("/files/screenshot.png")
    served = sdk.files.get_session_file(id=DEMO_SESSION_ID, filename="screenshot.png")
    body = served.read()
    assert served.headers["content-type"] == "image/png" and body.startswith(PNG_SIGNATURE)
    assert len(body) == shot.size and png_size(body) == (160, 100)
    # mix-mcp's own contract model agrees with the SDK's on the same answer.
    assert FileInfo.model_validate(shot.model_dump(by_alias=True)).size == shot.size


@pytest.mark.parametrize(
    ("spec", "size"), [("80", (80, 50)), ("w40", (40, 25)), ("h10", (16, 10)), ("999", (160, 100))]
)
def test_a_thumbnail_is_a_smaller_png(sdk: Mix, spec: str, size: tuple[int, int]) -> None:
    thumb = sdk.files.get_session_file(id=DEMO_SESSION_ID, filename="screenshot.png", thumb=spec).read()
    assert png_size(thumb) == size


def test_upload_get_and_delete_round_trip(sdk: Mix) -> None:
    content = "line one\nnaïve ☕\n".encode()
    uploaded = sdk.files.upload_session_file(
        id=EMPTY_SESSION_ID, file={"file_name": "round trip.txt", "content": content, "content_type": "text/plain"}
    )
    assert isinstance(uploaded, models.FileInfo)
    assert (uploaded.name, uploaded.size, uploaded.is_dir) == ("round trip.txt", len(content), False)
    assert sdk.files.get_session_file(id=EMPTY_SESSION_ID, filename="round trip.txt").read() == content
    assert "round trip.txt" in {entry.name for entry in sdk.files.list_session_files(id=EMPTY_SESSION_ID)}
    sdk.files.delete_session_file(id=EMPTY_SESSION_ID, filename="round trip.txt")
    assert "round trip.txt" not in {entry.name for entry in sdk.files.list_session_files(id=EMPTY_SESSION_ID)}
    with pytest.raises(errors.ErrorResponse) as missing:
        sdk.files.delete_session_file(id=EMPTY_SESSION_ID, filename="round trip.txt")
    assert missing.value.data.error.code == 404


def test_refusals_are_in_mix_error_envelope(sdk: Mix) -> None:
    with pytest.raises(errors.ErrorResponse) as unknown:
        sdk.files.list_session_files(id="no-such-session")
    assert unknown.value.data.error.type == "not_found"
    with pytest.raises(errors.ErrorResponse) as bad_thumb:
        sdk.files.get_session_file(id=DEMO_SESSION_ID, filename="notes.md", thumb="100")
    assert bad_thumb.value.data.error.code == 400 and "only generated for images" in bad_thumb.value.data.error.message


def test_files_go_with_their_session(feb: BackgroundEmulator, sdk: Mix) -> None:
    session = feb.store.create_session(title="Short-lived")
    sdk.files.upload_session_file(id=session["id"], file={"file_name": "a.bin", "content": b"\x00\x01"})
    sdk.sessions.delete(id=session["id"])
    with pytest.raises(SessionNotFoundError):
        feb.store.list_files(session["id"])
    feb.store.create_session(title="Same id again", session_id=session["id"])
    assert feb.store.list_files(session["id"]) == []


@pytest.mark.parametrize("version", ["2025-10", "2025-09"])
def test_older_mix_versions_have_no_file_routes(version: str) -> None:
    with BackgroundEmulator(mix_version=version) as older:
        answer = httpx2.get(f"{older.url}/api/sessions/{DEMO_SESSION_ID}/files")
    assert answer.status_code == 404


def test_a_rewind_with_cleanup_media_removes_the_files_written_after_the_message(
    feb: BackgroundEmulator, sdk: Mix
) -> None:
    session_id = str(feb.store.create_session(title="Rewind with media")["id"])
    first, _second = feb.store.add_messages(
        session_id,
        [
            NewMessage(role="user", content="draw it", created_at="2026-01-05T10:00:00.000Z"),
            NewMessage(role="assistant", content="drawn", created_at="2026-01-05T10:05:00.000Z"),
        ],
    )
    before, after = 1_767_607_000, 1_767_607_500  # 09:56:40 and 10:05:00 on 2026-01-05 (UTC)
    feb.store.put_file(session_id, "plan.md", b"plan", modified=before)
    feb.store.put_file(session_id, "drawing.png", b"png", modified=after)
    sdk.sessions.rewind_session(id=session_id, message_id=first, cleanup_media=False)
    assert {f.name for f in sdk.files.list_session_files(id=session_id)} == {"plan.md", "drawing.png"}
    sdk.sessions.rewind_session(id=session_id, message_id=first, cleanup_media=True)
    assert [f.name for f in sdk.files.list_session_files(id=session_id)] == ["plan.md"]
