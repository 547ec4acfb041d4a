"""The real thing: the mcp SDK's Client launches `mix-mcp serve` over stdio, pointed at the emulator process.

Every test runs under both protocol generations the SDK speaks: the legacy initialize handshake
and the current one (the Client default, ``auto``).
"""

from __future__ import annotations

from typing import Any

import pytest
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from tests.e2e.workflow import ToolListChanges, run_full_workflow
from tests.support import ALL_TOOLS, PROTOCOL_MODES, free_port, running_emulator, stdio_client_for, text_of

ID_TOOLS: dict[str, dict[str, Any]] = {
    "get_session": {},
    "delete_session": {},
    "update_session_callbacks": {"callbacks": []},
    "export_session": {},
    "fork_session": {"message_index": 0},
    "rewind_session": {"message_id": "msg_missing"},
}


@pytest.mark.anyio
@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_tools_are_listed_with_schemas_and_annotations(emulator_url: str, mode: str) -> None:
    async with stdio_client_for("--base-url", emulator_url, mode=mode) as client:
        tools = (await client.list_tools()).tools
        assert client.server_info is None or client.server_info.name == "mix-mcp"
    assert [t.name for t in tools] == ALL_TOOLS
    for tool in tools:
        assert tool.title and tool.description
        assert tool.input_schema["type"] == "object"
        assert tool.output_schema is not None and tool.output_schema["type"] == "object"
        assert tool.annotations is not None
        assert tool.annotations.read_only_hint is not None
        assert tool.annotations.destructive_hint is not None
        assert tool.annotations.idempotent_hint is not None
        assert tool.annotations.open_world_hint is not None


@pytest.mark.anyio
@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_full_workflow(emulator_url: str, mode: str) -> None:
    async with stdio_client_for("--base-url", emulator_url, mode=mode) as client:
        await run_full_workflow(client, f"stdio {mode}")


@pytest.mark.anyio
@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_full_workflow_on_the_feb_2026_mix(mode: str) -> None:
    """No fork on this Mix: fork_session says so once, then leaves tools/list with a list_changed notification."""
    changes = ToolListChanges()
    with running_emulator("--mix-version", "2026-02") as url:
        async with stdio_client_for("--base-url", url, mode=mode, message_handler=changes) as client:
            assert client.server_capabilities is not None and client.server_capabilities.tools is not None
            if mode == "legacy":
                assert client.server_capabilities.tools.list_changed is True
            else:  # the change then arrives on a subscriptions/listen stream
                assert client.protocol_version in MODERN_PROTOCOL_VERSIONS
            await run_full_workflow(client, f"stdio {mode} 2026-02", mix_version="2026-02", changes=changes)
            again = await client.call_tool("fork_session", {"session_id": "any", "message_index": 0})
            assert again.is_error and "removed from the tool list" in text_of(again)
    if mode == "legacy":
        assert changes.count == 1, "the tool leaves the list once"


@pytest.mark.anyio
async def test_embedded_emulator_plays_the_version_asked_for() -> None:
    async with stdio_client_for("--emulator", "--mix-version", "2026-02", mode="auto") as client:
        refused = await client.call_tool("create_session", {"title": "no browser mode"})
        assert refused.is_error
        text = text_of(refused)
        assert "browser_mode" in text and "'local-browser-service'" in text
        created = await client.call_tool("create_session", {"title": "t", "browser_mode": "local-browser-service"})
        assert not created.is_error
        assert created.structured_content is not None
        assert created.structured_content["browserMode"] == "local-browser-service"


@pytest.mark.anyio
@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_documented_errors_read_like_advice(emulator_url: str, mode: str) -> None:
    async with stdio_client_for("--base-url", emulator_url, mode=mode) as client:
        for tool, extra in ID_TOOLS.items():
            result = await client.call_tool(tool, {"session_id": "no-such-session", **extra})
            assert result.is_error, tool
            text = text_of(result)
            assert f"{tool} failed" in text
            assert "HTTP 404 not_found" in text
            assert "/api/sessions/no-such-session" in text
            assert "list_sessions" in text

        listed = (await client.call_tool("list_sessions", {})).structured_content
        assert listed is not None
        source = next(s for s in listed["sessions"] if s["userMessageCount"] > 0)
        too_far = await client.call_tool("fork_session", {"session_id": source["id"], "message_index": 100_000})
        assert too_far.is_error
        assert "HTTP 400 validation_error" in text_of(too_far)
        assert "export_session" in text_of(too_far)

        missing_message = await client.call_tool(
            "rewind_session", {"session_id": source["id"], "message_id": "msg_nope"}
        )
        assert missing_message.is_error and "HTTP 404" in text_of(missing_message)
        assert "export_session" in text_of(missing_message)

        invalid = await client.call_tool("create_session", {"prompt_mode": "loud"})
        assert invalid.is_error
        assert "nothing was sent to Mix" in text_of(invalid)
        assert "title: required argument is missing" in text_of(invalid)

        with pytest.raises(MCPError) as unknown:
            await client.call_tool("drop_database", {})
        assert unknown.value.error.code == INVALID_PARAMS and "does not exist" in unknown.value.error.message


@pytest.mark.anyio
@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_mix_down_is_an_actionable_error(mode: str) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    async with stdio_client_for("--base-url", dead, "--max-retries", "0", mode=mode) as client:
        result = await client.call_tool("list_sessions", {})
        assert result.is_error
        text = text_of(result)
        assert f"Mix is unreachable at {dead}/api/sessions" in text
        assert "MIX_BASE_URL" in text and "--emulator" in text
        again = await client.call_tool("get_session", {"session_id": "x"})
        assert again.is_error, "the server must survive and keep answering"


@pytest.mark.anyio
async def test_unauthorized_mix_names_the_key_setting() -> None:
    with running_emulator("--api-key", "emulator-key") as url:
        async with stdio_client_for("--base-url", url, mode="auto", MIX_API_KEY="wrong-key") as client:
            denied = await client.call_tool("list_sessions", {})
        assert denied.is_error
        assert "HTTP 401 unauthorized" in text_of(denied) and "MIX_API_KEY" in text_of(denied)
        assert "wrong-key" not in text_of(denied)
        async with stdio_client_for("--base-url", url, mode="auto", MIX_API_KEY="emulator-key") as client:
            allowed = await client.call_tool("list_sessions", {})
        assert not allowed.is_error


@pytest.mark.anyio
async def test_embedded_emulator_serves_without_a_mix_server() -> None:
    async with stdio_client_for("--emulator", mode="auto") as client:
        listed = await client.call_tool("list_sessions", {})
    assert not listed.is_error
    assert listed.structured_content is not None and listed.structured_content["count"] >= 3
