"""Each Mix version's quirks, met by the real client over loopback HTTP against the emulator playing it.

One test per quirk the compatibility table names: what the emulator answers, and how the tool reads it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx2
import jsonschema
import pytest

from mix_mcp.config import EMULATOR_MIX_VERSIONS, Settings
from mix_mcp.emulator import DEMO_SESSION_ID, BackgroundEmulator
from mix_mcp.emulator.profiles import PROFILES, profile_for
from mix_mcp.mix import endpoints
from mix_mcp.mix.client import MixClient
from mix_mcp.mix.models import SessionData
from mix_mcp.serving.server import run_operation
from mix_mcp.tools.operations import OPERATIONS_BY_NAME
from tests.support import text_of

MISSING = "00000000-0000-4000-8000-000000000000"


@pytest.fixture(scope="module")
def early() -> Iterator[str]:
    with BackgroundEmulator(mix_version="2025-09") as emulator:
        yield emulator.url


@pytest.fixture(scope="module")
def feb() -> Iterator[str]:
    with BackgroundEmulator(mix_version="2026-02") as emulator:
        yield emulator.url


@pytest.fixture(scope="module")
def empty_early() -> Iterator[str]:
    with BackgroundEmulator(mix_version="2025-09", seed=False) as emulator:
        yield emulator.url


async def _call(url: str, tool: str, arguments: dict[str, Any], **settings: Any) -> tuple[Any, MixClient]:
    client = MixClient(Settings(base_url=url, max_retries=2, **settings))
    try:
        return await run_operation(client, OPERATIONS_BY_NAME[tool], arguments), client
    finally:
        await client.aclose()


def test_the_config_and_the_emulator_know_the_same_versions() -> None:
    assert set(EMULATOR_MIX_VERSIONS) == set(PROFILES)
    assert EMULATOR_MIX_VERSIONS[0] == "2025-10"
    with pytest.raises(ValueError, match="2026-02"):
        profile_for("1999-01")


# ----------------------------------------------------------------------- what the emulator plays


def test_feb_2026_has_no_fork_route_and_answers_like_gos_router(feb: str) -> None:
    with httpx2.Client(base_url=feb) as http:
        fork = http.post(f"/api/sessions/{DEMO_SESSION_ID}/fork", json={"messageIndex": 0})
        assert fork.status_code == 404 and fork.headers["content-type"].startswith("text/plain")
        assert fork.text == "404 page not found\n"
        wrong = http.put("/api/sessions")
        assert wrong.status_code == 405 and wrong.text == "Method Not Allowed\n"
        missing = http.get(f"/api/sessions/{MISSING}")
        assert missing.status_code == 404 and missing.json()["error"]["type"] == "not_found"


def test_feb_2026_decodes_bodies_strictly_and_requires_browser_mode(feb: str) -> None:
    with httpx2.Client(base_url=feb) as http:
        unknown = http.post("/api/sessions", json={"title": "t", "browserMode": "local-browser-service", "x": 1})
        assert unknown.status_code == 400 and "unknown field 'x'" in unknown.json()["error"]["message"]
        empty = http.post("/api/sessions", content=b"", headers={"content-type": "application/json"})
        assert empty.status_code == 400 and empty.json()["error"]["message"].endswith("'body': EOF")
        required = http.post("/api/sessions", json={"title": "t"})
        assert required.json()["error"]["message"] == (
            "Validation error for field 'browserMode': browserMode is required"
        )
        made = http.post("/api/sessions", json={"title": "t", "browserMode": "local-browser-service"})
        assert made.status_code == 201 and made.json()["browserMode"] == "local-browser-service"


def test_feb_2026_list_items_leave_out_callbacks_and_first_user_message(feb: str) -> None:
    with httpx2.Client(base_url=feb) as http:
        items = http.get("/api/sessions").json()
        assert items and all("callbacks" not in s and "firstUserMessage" not in s for s in items)
        assert all(s["sessionType"] != "subagent" for s in items)
        with_subagents = http.get("/api/sessions", params={"includeSubagents": "true"}).json()
        assert any(s["sessionType"] == "subagent" for s in with_subagents)
        one = http.get(f"/api/sessions/{DEMO_SESSION_ID}").json()
        assert "firstUserMessage" in one


def test_exports_name_the_transcript_file(feb: str) -> None:
    with httpx2.Client(base_url=feb) as http:
        export = http.get(f"/api/sessions/{DEMO_SESSION_ID}/export")
        assert export.headers["content-disposition"] == (
            f"attachment; filename=session_{DEMO_SESSION_ID}_transcript.json"
        )


def test_early_mix_quirks_in_the_emulator(early: str, empty_early: str) -> None:
    with httpx2.Client(base_url=early) as http:
        session = http.get(f"/api/sessions/{DEMO_SESSION_ID}").json()
        assert "sessionType" not in session
        delete = http.delete(f"/api/sessions/{MISSING}")
        assert delete.status_code == 500 and delete.json()["error"]["message"].endswith("sql: no rows in result set")
        fork = http.post(f"/api/sessions/{MISSING}/fork", json={"messageIndex": 1})
        assert fork.status_code == 500
        zero = http.post(f"/api/sessions/{DEMO_SESSION_ID}/fork", json={"messageIndex": 0})
        assert zero.status_code == 400 and "message index must be > 0" in zero.json()["error"]["message"]
        # A missing messageIndex silently becomes 0, which this version then refuses.
        absent = http.post(f"/api/sessions/{DEMO_SESSION_ID}/fork", json={})
        assert absent.status_code == 400 and "message index must be > 0" in absent.json()["error"]["message"]
        assert http.patch(f"/api/sessions/{DEMO_SESSION_ID}/callbacks", json={"callbacks": []}).status_code == 404
    with httpx2.Client(base_url=empty_early) as http:
        assert http.get("/api/sessions").text == "null"


# --------------------------------------------------------------------------- how the tools read it


@pytest.mark.anyio
async def test_a_null_list_is_an_empty_list(empty_early: str) -> None:
    result, _ = await _call(empty_early, "list_sessions", {})
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    assert (result.structured_content["sessions"], result.structured_content["count"]) == ([], 0)
    assert result.structured_content["total"] == 0 and result.structured_content["next_arguments"] is None


@pytest.mark.anyio
async def test_a_session_without_session_type_fits_the_output_schema(early: str) -> None:
    result, _ = await _call(early, "get_session", {"session_id": DEMO_SESSION_ID})
    assert not result.is_error, text_of(result)
    assert "sessionType" not in result.structured_content
    jsonschema.validate(result.structured_content, OPERATIONS_BY_NAME["get_session"].output_schema)
    listed, _ = await _call(early, "list_sessions", {})
    jsonschema.validate(listed.structured_content, OPERATIONS_BY_NAME["list_sessions"].output_schema)
    assert SessionData.model_validate(result.structured_content).session_type is None


@pytest.mark.anyio
async def test_feb_2026_list_items_fit_the_output_schema(feb: str) -> None:
    listed, _ = await _call(feb, "list_sessions", {"include_subagents": True})
    assert not listed.is_error, text_of(listed)
    jsonschema.validate(listed.structured_content, OPERATIONS_BY_NAME["list_sessions"].output_schema)


@pytest.mark.anyio
async def test_no_rows_on_delete_reads_as_not_found_and_is_not_retried(early: str) -> None:
    result, _ = await _call(early, "delete_session", {"session_id": MISSING})
    assert result.is_error
    text = text_of(result)
    assert "the session does not exist" in text and "sql: no rows" in text
    assert "call list_sessions" in text
    assert "attempts" not in text, "a 'no rows' answer must not be retried"


@pytest.mark.anyio
async def test_a_fork_500_advises_checking_the_source_with_get_session(early: str) -> None:
    result, _ = await _call(early, "fork_session", {"session_id": MISSING, "message_index": 1})
    assert result.is_error
    assert "HTTP 500" in text_of(result) and "get_session" in text_of(result)


@pytest.mark.anyio
async def test_the_validation_prefix_reads_naturally(feb: str) -> None:
    result, _ = await _call(feb, "create_session", {"title": "t"})
    assert result.is_error
    text = text_of(result)
    assert "Validation error for field" not in text
    assert "Mix refused the argument 'browser_mode': browserMode is required" in text
    assert "call create_session again with browser_mode set to one of 'electron-embedded-browser', " in text
    assert "'local-browser-service', 'remote-cdp-websocket'" in text


@pytest.mark.anyio
async def test_browser_fields_are_sent_and_echoed(feb: str) -> None:
    arguments = {
        "title": "remote",
        "browser_mode": "remote-cdp-websocket",
        "cdp_url": "wss://browser.example/s/1",
        "model_id": "gemini-3-flash-preview",
        "provider": "gemini",
    }
    result, _ = await _call(feb, "create_session", arguments)
    assert not result.is_error, text_of(result)
    created = result.structured_content
    assert created["browserMode"] == "remote-cdp-websocket" and created["cdpUrl"] == "wss://browser.example/s/1"
    assert created["modelId"] == "gemini-3-flash-preview" and created["provider"] == "gemini"


@pytest.mark.anyio
async def test_an_older_mix_refuses_the_browser_fields(early: str) -> None:
    result, _ = await _call(early, "create_session", {"title": "t", "browser_mode": "local-browser-service"})
    assert result.is_error and "unknown field 'browserMode'" in text_of(result)


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ({"title": "t", "browser_mode": "remote-cdp-websocket"}, "needs cdp_url"),
        ({"title": "t", "model_id": "m"}, "model_id needs provider"),
        ({"title": "t", "cdp_url": "http://not-a-websocket"}, "cdp_url"),
        ({"title": "t", "browser_mode": "headless"}, "browser_mode"),
    ],
)
def test_browser_and_model_arguments_are_checked_before_sending(arguments: dict[str, Any], problem: str) -> None:
    from mix_mcp.mix.errors import ArgumentsError

    with pytest.raises(ArgumentsError, match=problem):
        OPERATIONS_BY_NAME["create_session"].parse(arguments)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("update_session_callbacks", {"session_id": DEMO_SESSION_ID, "callbacks": []}),
        ("rewind_session", {"session_id": DEMO_SESSION_ID, "message_id": "msg_x"}),
    ],
)
async def test_a_missing_route_says_this_mix_does_not_offer_the_operation(
    early: str, tool: str, arguments: dict[str, Any]
) -> None:
    result, _ = await _call(early, tool, arguments)
    assert result.is_error
    text = text_of(result)
    assert f"This Mix server does not offer {tool}" in text
    assert "'404 page not found'" in text and "list_sessions to see" not in text
    assert OPERATIONS_BY_NAME[tool].hints.unavailable in text


@pytest.mark.anyio
async def test_a_missing_session_is_still_a_missing_session(feb: str) -> None:
    result, _ = await _call(feb, "get_session", {"session_id": MISSING})
    assert result.is_error and "HTTP 404 not_found" in text_of(result) and "list_sessions" in text_of(result)


@pytest.mark.anyio
@pytest.mark.parametrize("version", ["2025-10", "2026-02"])
@pytest.mark.parametrize("suffix", ["/api", "/api/"])
async def test_a_base_url_with_a_path_is_named_as_the_problem(version: str, suffix: str) -> None:
    with BackgroundEmulator(mix_version=version) as emulator:
        result, _ = await _call(emulator.url + suffix, "get_session", {"session_id": DEMO_SESSION_ID})
    assert result.is_error
    text = text_of(result)
    assert "Mix answered 404 for every route: is MIX_BASE_URL the Mix root? `mix-mcp doctor` checks it" in text
    assert f"GET /api/api/sessions/{DEMO_SESSION_ID} answered 404" in text
    assert "Call list_sessions" not in text


# ------------------------------------------------------------------------ reading answers, settings


@pytest.mark.parametrize(
    ("status", "content_type", "body", "expected"),
    [
        (404, "text/plain; charset=utf-8", b"404 page not found\n", "route"),
        (405, "text/plain; charset=utf-8", b"Method Not Allowed\n", "method"),
        (404, "application/json", b"404 page not found\n", None),
        (404, "text/plain", b"Not Found", None),
        (500, "text/plain", b"404 page not found", None),
    ],
)
def test_gos_router_answers_are_told_apart(status: int, content_type: str, body: bytes, expected: str | None) -> None:
    from mix_mcp.mix.answers import router_refusal

    assert router_refusal(status, content_type, body) == expected


def test_the_validation_prefix_names_the_argument_in_snake_case() -> None:
    from mix_mcp.mix.answers import no_rows, reworded_validation

    assert reworded_validation("Validation error for field 'browserMode': browserMode is required") == (
        "browserMode is required",
        "browser_mode",
    )
    assert reworded_validation("title is required") == ("title is required", None)
    assert no_rows(500, b'{"error":{"message":"x: sql: no rows in result set"}}')
    assert not no_rows(404, b"sql: no rows in result set")


def test_the_emulator_version_setting_is_checked() -> None:
    from mix_mcp.config import ConfigError, load_settings

    assert load_settings(environ={"MIX_MCP_EMULATOR_MIX_VERSION": "2026-02"}).mix_version == "2026-02"
    assert load_settings(environ={}).mix_version == "2025-10"
    with pytest.raises(ConfigError, match="2025-10, 2026-02, 2025-09"):
        load_settings(environ={"MIX_MCP_EMULATOR_MIX_VERSION": "2024-01"})


def test_the_compatibility_table_names_what_each_version_lacks() -> None:
    from pathlib import Path

    page = (Path(__file__).resolve().parents[2] / "docs" / "compatibility.md").read_text(encoding="utf-8")
    rows = {line.split("`")[1]: line for line in page.splitlines() if line.startswith("| `")}
    assert set(rows) == set(PROFILES)
    # The profiles govern the sessions endpoints; the agent-run endpoints are in every version's contract.
    sessions_ids = {e.operation_id for e in (*endpoints.ALL_ENDPOINTS, *endpoints.FILE_ENDPOINTS)}
    by_id = {op.endpoint.operation_id: op.name for op in OPERATIONS_BY_NAME.values()}
    by_id = {op_id: name for op_id, name in by_id.items() if op_id in sessions_ids}
    for version, profile in PROFILES.items():
        lacking = [name for op_id, name in by_id.items() if op_id not in profile.operations]
        cells = rows[version].split("|")
        offered = cells[2]
        assert ("all but" not in offered) == (not lacking), version
        for name in lacking:
            assert f"`{name}`" in offered, (version, name)
