"""What models send that the schema does not quite say, over a real MCP client (stdio, both generations).

A mistyped tool name gets the nearest tool, as on the command line; numbers and booleans sent as text
(``"limit": "2"``, ``"grant": "yes"``) are read as the values they spell; text that spells no such value
is still refused, with nothing sent to Mix.
"""

from __future__ import annotations

from typing import Any

import mcp_types as types
import pytest
from mcp.shared.exceptions import MCPError

from mix_mcp.emulator import DEMO_SESSION_ID
from tests.support import PROTOCOL_MODES, stdio_client_for, text_of


def _structured(result: Any) -> dict[str, Any]:
    assert not result.is_error, text_of(result)
    assert isinstance(result.structured_content, dict)
    return result.structured_content


@pytest.mark.anyio
@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_a_mistyped_tool_name_gets_the_nearest_tool(emulator_url: str, mode: str) -> None:
    async with stdio_client_for("--base-url", emulator_url, mode=mode) as client:
        with pytest.raises(MCPError) as caught:
            await client.call_tool("list_sesions", {})
        assert caught.value.error.code == types.INVALID_PARAMS
        message = caught.value.error.message
        assert "Tool 'list_sesions' does not exist. Did you mean 'list_sessions'?" in message
        assert "Available tools: list_sessions" in message
        # Nothing near: no guess, just the list.
        with pytest.raises(MCPError) as far:
            await client.call_tool("drop_database", {})
        assert "Did you mean" not in far.value.error.message and "Available tools:" in far.value.error.message


@pytest.mark.anyio
@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_numbers_and_booleans_sent_as_text_are_read_as_such(emulator_url: str, mode: str) -> None:
    async with stdio_client_for("--base-url", emulator_url, mode=mode) as client:
        page = _structured(await client.call_tool("list_sessions", {"limit": "2", "include_subagents": "no"}))
        assert page["count"] == 2 and page["next_arguments"] == {"include_subagents": False, "limit": 2, "offset": 2}
        window = _structured(
            await client.call_tool(
                "export_session", {"session_id": DEMO_SESSION_ID, "limit": " 1 ", "include_reasoning": "false"}
            )
        )
        assert len(window["messages"]) == 1 and "reasoning" not in window["messages"][0]

        session = _structured(await client.call_tool("create_session", {"title": "lenient"}))
        pending = _structured(
            await client.call_tool("send_message", {"session_id": session["id"], "text": "run: make test"})
        )
        assert pending["status"] == "permission_pending", pending
        (permission,) = pending["permissions"]
        refused = await client.call_tool("answer_permission", {"permission_id": permission["id"], "grant": "maybe"})
        assert refused.is_error
        assert "grant" in text_of(refused) and "nothing was sent to Mix" in text_of(refused)
        granted = _structured(
            await client.call_tool("answer_permission", {"permission_id": permission["id"], "grant": "yes"})
        )
        assert granted["granted"] is True

        for bad in ({"limit": "two"}, {"limit": "2.5"}, {"include_subagents": 1}):
            result = await client.call_tool("list_sessions", bad)
            assert result.is_error and "nothing was sent to Mix" in text_of(result), bad
