"""Operator controls and their helpers: tool selection, name settings, progress, resource URIs, completions."""

from __future__ import annotations

from typing import Any

import httpx2
import mcp_types as types
import pytest
from mcp.shared.exceptions import MCPError

from mix_mcp.config import ConfigError, Settings, load_settings
from mix_mcp.mix.models import SessionData
from mix_mcp.tools.operations import OPERATIONS, OPERATIONS_BY_NAME, select_operations
from mix_mcp.tools.permissions import can_elicit
from mix_mcp.tools.resources import MAX_COMPLETIONS, RESOURCES, complete_session_id, match_sessions, resolve
from tests.unit.fakes import SESSION, mix_client

FORM = types.FormElicitationCapability()
URL = types.UrlElicitationCapability()


def _names(**settings: Any) -> list[str]:
    return [op.name for op in select_operations(Settings(**settings))]


def test_by_default_every_operation_is_published() -> None:
    assert _names() == [op.name for op in OPERATIONS]


def test_selection_by_name_read_only_and_exclusion() -> None:
    assert _names(read_only=True) == [
        "list_sessions",
        "get_session",
        "export_session",
        "list_messages",
        "list_session_files",
        "read_session_file",
    ]
    assert _names(tools=("export_session", "get_session")) == ["get_session", "export_session"]
    assert _names(read_only=True, exclude_tools=("export_session",)) == [
        "list_sessions",
        "get_session",
        "list_messages",
        "list_session_files",
        "read_session_file",
    ]
    assert _names(exclude_tools=("delete_session", "rewind_session")) == [
        op.name for op in OPERATIONS if op.name not in ("delete_session", "rewind_session")
    ]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"tools": ("list_sessions", "nuke")}, "--tools / MIX_MCP_TOOLS: unknown tool 'nuke'. Known tools:"),
        ({"exclude_tools": ("gone",)}, "--exclude-tools / MIX_MCP_EXCLUDE_TOOLS: unknown tool 'gone'"),
        ({"read_only": True, "tools": ("delete_session",)}, "names delete_session, which --read-only"),
        ({"tools": ("get_session",), "exclude_tools": ("get_session",)}, "leave no tool to publish"),
    ],
)
def test_bad_selections_fail_at_start_with_the_setting_named(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(".", r"\.")):
        select_operations(Settings(**settings))


def test_name_lists_and_switches_come_from_the_environment() -> None:
    env = {
        "MIX_MCP_TOOLS": " list_sessions , export_session,",
        "MIX_MCP_EXCLUDE_TOOLS": "export_session",
        "MIX_MCP_READ_ONLY": "yes",
        "MIX_MCP_CONFIRM_DESTRUCTIVE": "1",
    }
    settings = load_settings(environ=env)
    assert settings.tools == ("list_sessions", "export_session")
    assert settings.exclude_tools == ("export_session",)
    assert settings.read_only is True and settings.confirm_destructive is True
    assert load_settings(environ={"MIX_MCP_TOOLS": ""}).tools is None
    with pytest.raises(ConfigError, match="takes tool names separated by commas"):
        load_settings(environ={"MIX_MCP_TOOLS": ", ,"})
    with pytest.raises(ConfigError, match="takes tool names"):
        load_settings({"tools": ("Delete Session",)}, environ={})


def test_only_irreversible_tools_ask_for_confirmation() -> None:
    confirmed = {"delete_session", "rewind_session", "answer_permission", "delete_session_file"}
    assert {op.name for op in OPERATIONS if op.confirm} == confirmed
    rewind = OPERATIONS_BY_NAME["rewind_session"].confirm
    assert rewind is not None and "{session}" in rewind and "{message_id}" in rewind


@pytest.mark.parametrize(
    ("capabilities", "expected"),
    [
        (None, False),
        (types.ClientCapabilities(), False),
        (types.ClientCapabilities(elicitation=types.ElicitationCapability()), True),
        (
            types.ClientCapabilities(elicitation=types.ElicitationCapability(form=types.FormElicitationCapability())),
            True,
        ),
        (
            types.ClientCapabilities(elicitation=types.ElicitationCapability(url=types.UrlElicitationCapability())),
            False,
        ),
    ],
)
def test_form_elicitation_support_is_read_from_the_capabilities(
    capabilities: types.ClientCapabilities | None, expected: bool
) -> None:
    assert can_elicit(capabilities) is expected


@pytest.mark.anyio
@pytest.mark.parametrize("declared", [True, False])
async def test_the_read_loop_reports_progress_only_when_asked(declared: bool) -> None:
    body = b"[" + b",".join([b'"' + b"x" * 1000 + b'"'] * 3000) + b"]"

    async def chunks() -> Any:
        for start in range(0, len(body), 65_536):
            yield body[start : start + 65_536]

    def handler(_request: httpx2.Request) -> httpx2.Response:
        headers = {"content-type": "application/json"}
        if declared:
            headers["content-length"] = str(len(body))
        return httpx2.Response(200, headers=headers, content=chunks())

    reports: list[tuple[int, int | None]] = []

    async def progress(received: int, total: int | None) -> None:
        reports.append((received, total))

    from mix_mcp.mix.endpoints import LIST_SESSIONS

    async with mix_client(handler) as client:
        quiet = await client.send(LIST_SESSIONS, idempotent=True)
        assert reports == []
        loud = await client.send(LIST_SESSIONS, idempotent=True, progress=progress)
    assert quiet == loud and len(loud) == 3000
    assert 2 <= len(reports) <= 60
    assert [r for r, _ in reports] == sorted(r for r, _ in reports)
    assert reports[-1] == (len(body), len(body))
    assert all(total == (len(body) if declared else None) for _, total in reports[:-1])


def _session(session_id: str, title: str) -> SessionData:
    return SessionData.model_validate({**SESSION, "id": session_id, "title": title})


def test_completion_matches_id_prefixes_then_title_words_newest_first() -> None:
    sessions = [
        _session("aa11", "Fix flaky pagination test"),
        _session("bb22", "Add rate limiting"),
        _session("ab33", "Flaky network retries"),
        _session("cc44", "flaky"),
    ]
    assert match_sessions(sessions, "A") == ["ab33", "aa11", "bb22"]  # ids first, then 'Add rate limiting'
    assert match_sessions(sessions, "aa1") == ["aa11"]
    assert match_sessions(sessions, "flak") == ["cc44", "ab33", "aa11"]
    assert match_sessions(sessions, "FLAKY pag") == ["aa11"]
    assert match_sessions(sessions, "rate lim") == ["bb22"]
    assert match_sessions(sessions, "") == ["cc44", "ab33", "bb22", "aa11"]
    assert match_sessions(sessions, "zz") == []


@pytest.mark.anyio
async def test_completion_is_capped_and_says_how_many_there_are() -> None:
    many = [{**SESSION, "id": f"s{i:03d}", "title": f"Session {i}"} for i in range(150)]

    def handler(request: httpx2.Request) -> httpx2.Response:
        assert request.url.params["includeSubagents"] == "true"
        return httpx2.Response(200, json=many)

    async with mix_client(handler) as client:
        completion = await complete_session_id(client, "s")
    assert len(completion.values) == MAX_COMPLETIONS and completion.values[0] == "s149"
    assert completion.total == 150 and completion.has_more is True

    def down(_request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("refused")

    async with mix_client(down) as client:
        empty = await complete_session_id(client, "s")
    assert empty.values == [] and empty.has_more is False


@pytest.mark.parametrize(
    ("uri", "name", "session_id"),
    [
        ("mix://sessions", "sessions", None),
        ("mix://sessions/abc", "session", "abc"),
        ("mix://sessions/a%2Fb%20c/transcript", "transcript", "a/b c"),
        ("mix://sessions/", "session", ""),
    ],
)
def test_resource_uris_resolve_with_the_session_id_decoded(uri: str, name: str, session_id: str | None) -> None:
    resource, decoded = resolve(uri, RESOURCES)
    assert resource.name == name and decoded == session_id


@pytest.mark.parametrize(
    "uri",
    ["mix://session", "mix://sessions/a/b/c", "mix://sessions/a?x=1", "mix://sessions/a#t", "file:///etc/passwd"],
)
def test_unknown_resource_uris_are_invalid_params(uri: str) -> None:
    with pytest.raises(MCPError) as caught:
        resolve(uri, RESOURCES)
    assert caught.value.code == types.INVALID_PARAMS and "Unknown resource" in caught.value.message
