"""Each Mix version behind every transport: a tool Mix lacks leaves tools/list, for every client of the process.

The servers run on the built-in emulator playing the Feb 2026 Mix (no fork route). Over SSE and Streamable
HTTP, under both protocol generations, fork_session answers once that this Mix does not offer it and the
client hears tools/list_changed; a second client of the same server never sees the tool. A stateless
server has no stream to notify on, but stops listing it all the same.
"""

from __future__ import annotations

import pytest
from mcp import Client
from mcp.client.sse import sse_client

from tests.e2e.workflow import ToolListChanges, run_full_workflow
from tests.support import PROTOCOL_MODES, running_server, stdio_client_for, text_of

FEB = ("--emulator", "--mix-version", "2026-02")


def _client(transport: str, url: str, mode: str, changes: ToolListChanges) -> Client:
    target = sse_client(url) if transport == "sse" else url
    return Client(target, mode=mode, read_timeout_seconds=60, message_handler=changes)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", PROTOCOL_MODES)
@pytest.mark.parametrize("transport", ["http", "sse"])
async def test_a_missing_operation_leaves_the_tool_list_over_the_network(transport: str, mode: str) -> None:
    changes = ToolListChanges()
    with running_server("--transport", transport, *FEB) as server:
        async with _client(transport, server.url, mode, changes) as client:
            await run_full_workflow(client, f"{transport} {mode} 2026-02", mix_version="2026-02", changes=changes)
        # The withdrawal is the process's, not one session's: a new client never sees the tool.
        async with _client(transport, server.url, mode, ToolListChanges()) as other:
            names = {tool.name for tool in (await other.list_tools()).tools}
    assert "fork_session" not in names and "rewind_session" in names


@pytest.mark.anyio
async def test_a_stateless_server_stops_listing_the_missing_tool() -> None:
    with running_server("--transport", "http", "--stateless", *FEB) as server:
        async with Client(server.url, mode="auto", read_timeout_seconds=60) as client:
            assert "fork_session" in {tool.name for tool in (await client.list_tools()).tools}
            refused = await client.call_tool("fork_session", {"session_id": "s", "message_index": 0})
            assert refused.is_error and "This Mix server does not offer fork_session" in text_of(refused)
        async with Client(server.url, mode="auto", read_timeout_seconds=60) as client:
            assert "fork_session" not in {tool.name for tool in (await client.list_tools()).tools}


@pytest.mark.anyio
@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_a_base_url_pointing_at_mix_mcp_itself_is_named_as_the_problem(mode: str) -> None:
    with running_server("--transport", "http", "--emulator") as mcp_server:
        async with stdio_client_for("--base-url", mcp_server.url, mode=mode) as client:
            result = await client.call_tool("get_session", {"session_id": "abc"})
    assert result.is_error
    text = text_of(result)
    assert "Mix answered 404 for every route: is MIX_BASE_URL the Mix root? `mix-mcp doctor` checks it" in text
    assert "GET /mcp/api/sessions/abc answered 404" in text
    assert "Call list_sessions" not in text


@pytest.mark.anyio
@pytest.mark.parametrize("transport", ["sse", "http"])
async def test_every_connected_handshake_client_hears_of_the_withdrawal(transport: str) -> None:
    caller, bystander = ToolListChanges(), ToolListChanges()
    with running_server("--transport", transport, *FEB) as server:
        async with (
            _client(transport, server.url, "legacy", caller) as first,
            _client(transport, server.url, "legacy", bystander) as second,
        ):
            await second.list_tools()
            refused = await first.call_tool("fork_session", {"session_id": "s", "message_index": 0})
            assert refused.is_error and "does not offer fork_session" in text_of(refused)
            await caller.wait()
            await bystander.wait()
            assert "fork_session" not in {tool.name for tool in (await second.list_tools()).tools}
    assert caller.count == 1 and bystander.count == 1
