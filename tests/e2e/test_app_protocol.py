"""The session view (MCP App) on the wire: a real Client over Streamable HTTP, with and without the extension.

Hosts that render Apps read the ``ui://`` resource the two linked tools name; every other client must see
exactly what it saw before the view existed, apart from ``_meta``; ``--no-ui`` removes the view entirely.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from mcp import Client
from mcp.client import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from mcp.shared.exceptions import MCPError

from mix_mcp.emulator.seed import DEMO_SESSION_ID
from mix_mcp.serving.tasks.protocol import EXTENSION_ID as TASKS_EXTENSION
from mix_mcp.tools.app import APP_URI, LINKED_TOOLS, MAX_BYTES
from tests.e2e.app_host import ext_apps_schema
from tests.support import PROTOCOL_MODES, ServerProcess, running_server

pytestmark = pytest.mark.anyio

APPS = advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})


@pytest.fixture(scope="module")
def no_ui_server(emulator_url: str) -> Iterator[ServerProcess]:
    with running_server("--transport", "http", "--base-url", emulator_url, "--no-ui") as server:
        yield server


def _apps_client(url: str, mode: str) -> Client:
    return Client(url, mode=mode, extensions=[APPS], cache=None, read_timeout_seconds=60)


def _plain_client(url: str, mode: str) -> Client:
    return Client(url, mode=mode, cache=None, read_timeout_seconds=60)


def _without_meta(tool: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = tool.model_dump(by_alias=True, exclude_none=True)
    dumped.pop("_meta", None)
    return dumped


def _apps_declared(extensions: dict[str, Any] | None) -> bool:
    """Whether the Apps extension is declared (the tasks extension is declared apart from it, --no-ui or not)."""
    return bool(extensions) and EXTENSION_ID in (extensions or {})


@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_linked_tools_name_the_view_and_the_view_is_self_contained(http_server: ServerProcess, mode: str) -> None:
    async with _apps_client(http_server.url, mode) as client:
        # The SDK carries extension declarations on the 2026-07-28 protocol only; legacy hosts go by _meta.ui.
        declared = client.server_capabilities.extensions
        assert declared == ({EXTENSION_ID: {}, TASKS_EXTENSION: {}} if mode == "auto" else None)
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        for name, tool in tools.items():
            expected = {"ui": {"resourceUri": APP_URI}} if name in LINKED_TOOLS else None
            assert tool.meta == expected, name
        listed = [r for r in (await client.list_resources()).resources if r.uri == APP_URI]
        assert len(listed) == 1
        assert listed[0].mime_type == APP_MIME_TYPE
        read = await client.read_resource(APP_URI)
    (content,) = read.contents
    assert content.mime_type == APP_MIME_TYPE
    assert content.meta is not None
    assert content.meta["ui"]["csp"] == {"connectDomains": [], "resourceDomains": []}
    html = getattr(content, "text", "")
    assert listed[0].size == len(html.encode())
    assert len(html.encode()) < MAX_BYTES
    # Self-contained: the page's own CSP allows no origin, and nothing in it points at the network.
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert policy is not None
    assert "connect-src 'none'" in policy.group(1)
    assert "default-src 'none'" in policy.group(1)
    assert not re.search(r"\b(src|href)\s*=\s*[\"']?(https?:)?//", html)
    assert not re.search(r"\bfetch\(|XMLHttpRequest|WebSocket|EventSource|sendBeacon|innerHTML|outerHTML", html)
    # The server told the page which tools it may call (all of them here) and the questions it asks first.
    assert '"tools":["list_sessions","get_session","export_session","fork_session","rewind_session"' in html
    assert "Permanently delete the Mix session {session}" in html


@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_clients_without_apps_see_todays_results(
    http_server: ServerProcess, no_ui_server: ServerProcess, mode: str
) -> None:
    calls: list[tuple[str, dict[str, Any]]] = [
        ("list_sessions", {"include_subagents": True}),
        ("get_session", {"session_id": DEMO_SESSION_ID}),
        ("export_session", {"session_id": DEMO_SESSION_ID, "limit": 4}),
        ("get_session", {"session_id": "no-such-session"}),
    ]
    seen: dict[str, Any] = {}
    for label, url in (("ui", http_server.url), ("no-ui", no_ui_server.url)):
        async with _plain_client(url, mode) as client:
            tools = [_without_meta(tool) for tool in (await client.list_tools()).tools]
            metas = [tool.meta for tool in (await client.list_tools()).tools]
            resources = [r.uri for r in (await client.list_resources()).resources]
            results = [
                (await client.call_tool(name, args)).model_dump(by_alias=True, exclude_none=True)
                for name, args in calls
            ]
            extensions = client.server_capabilities.extensions
        seen[label] = (tools, metas, resources, results, extensions)
    ui, no_ui = seen["ui"], seen["no-ui"]
    assert ui[0] == no_ui[0]  # identical tool definitions apart from _meta
    assert all(meta is None for meta in no_ui[1])
    assert [r for r in ui[2] if r != APP_URI] == no_ui[2]
    assert APP_URI in ui[2]
    assert ui[3] == no_ui[3]  # identical tool results
    assert no_ui[3][3]["isError"] is True
    assert not _apps_declared(no_ui[4])


@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_no_ui_publishes_no_view(no_ui_server: ServerProcess, mode: str) -> None:
    async with _apps_client(no_ui_server.url, mode) as client:
        assert not _apps_declared(client.server_capabilities.extensions)
        assert all(tool.meta is None for tool in (await client.list_tools()).tools)
        with pytest.raises(MCPError):
            await client.read_resource(APP_URI)


async def test_the_view_metadata_follows_the_apps_schema(http_server: ServerProcess) -> None:
    """The tools' and the resource's ``_meta.ui`` match the schemas ``@modelcontextprotocol/ext-apps`` publishes."""
    tool_meta = Draft202012Validator(ext_apps_schema("McpUiToolMeta"))
    resource_meta = Draft202012Validator(ext_apps_schema("McpUiResourceMeta"))
    async with _apps_client(http_server.url, "auto") as client:
        tools = [tool for tool in (await client.list_tools()).tools if tool.meta]
        read = await client.read_resource(APP_URI)
    assert [tool.name for tool in tools] == list(LINKED_TOOLS)
    for tool in tools:
        assert tool.meta is not None
        tool_meta.validate(tool.meta["ui"])
    (content,) = read.contents
    assert content.meta is not None
    resource_meta.validate(content.meta["ui"])
