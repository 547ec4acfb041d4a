"""Argument validation: every bad field is reported, and nothing is sent."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from mix_mcp.serving.server import run_operation
from mix_mcp.tools.operations import OPERATIONS_BY_NAME
from tests.unit.fakes import mix_client

BAD: list[tuple[str, dict[str, Any], list[str]]] = [
    ("create_session", {}, ["title: required argument is missing"]),
    ("create_session", {"title": ""}, ["title: String should have at least 1 character"]),
    ("create_session", {"title": "t", "prompt_mode": "shout"}, ["prompt_mode: Input should be 'default'"]),
    (
        "create_session",
        {"title": "t", "prompt_mode": "append", "custom_system_prompt": "é" * 26_000},
        ["over the 51,200-byte limit of prompt_mode 'append'"],
    ),
    ("create_session", {"title": "t", "custom_system_prompt": "x" * 102_401}, ["at most 102400 characters"]),
    ("create_session", {"title": "t", "session_type": "forked"}, ["session_type: unknown argument"]),
    ("create_session", {"title": "t", "subagent_type": "x"}, ["subagent_type: unknown argument"]),
    (
        "create_session",
        {"title": "t", "callbacks": [{"tool_name": "*", "type": "bash_script"}]},
        ["bash_command is required for bash_script callbacks"],
    ),
    (
        "update_session_callbacks",
        {"session_id": "s", "callbacks": [{"tool_name": "*", "type": "sub_agent"}]},
        ["sub_agent_prompt is required for sub_agent callbacks"],
    ),
    (
        "update_session_callbacks",
        {
            "session_id": "s",
            "callbacks": [
                {"tool_name": "*", "type": "send_message", "message_content": "hi", "exclude_from_context": True}
            ],
        },
        ["exclude_from_context is not allowed for send_message callbacks"],
    ),
    (
        "update_session_callbacks",
        {"session_id": "s", "callbacks": [{"tool_name": "*", "type": "send_message"}]},
        ["message_content is required for send_message callbacks"],
    ),
    ("update_session_callbacks", {"session_id": "s"}, ["callbacks: required argument is missing"]),
    (
        "update_session_callbacks",
        {"session_id": "s", "callbacks": [{"tool_name": "*", "type": "webhook"}]},
        ["callbacks.0.type: Input should be 'bash_script', 'sub_agent' or 'send_message'"],
    ),
    ("get_session", {}, ["session_id: required argument is missing"]),
    ("get_session", {"session_id": ""}, ["session_id: String should have at least 1 character"]),
    ("get_session", {"session_id": "a" * 257}, ["session_id: String should have at most 256 characters"]),
    ("get_session", {"session_id": "a\nb"}, ["session_id: must not contain control characters"]),
    ("get_session", {"session_id": ".."}, ["session_id: '..' is not a valid id"]),
    ("get_session", {"session_id": 42}, ["session_id: Input should be a valid string"]),
    (
        "fork_session",
        {"session_id": "s", "message_index": -1},
        ["message_index: Input should be greater than or equal to 0"],
    ),
    ("fork_session", {"session_id": "s"}, ["message_index: required argument is missing"]),
    ("fork_session", {"session_id": "s", "message_index": "two"}, ["message_index: Input should be a valid integer"]),
    ("rewind_session", {"session_id": "s"}, ["message_id: required argument is missing"]),
    ("rewind_session", {"session_id": "s", "message_id": "m", "cleanup_media": "maybe"}, ["cleanup_media"]),
    ("delete_session", {"session_id": "s", "force": True}, ["force: unknown argument"]),
    ("list_sessions", {"include_subagents": "sometimes"}, ["include_subagents"]),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("tool", "arguments", "expected"), BAD)
async def test_invalid_arguments_are_reported_before_any_request(
    tool: str, arguments: dict[str, Any], expected: list[str]
) -> None:
    sent: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        sent.append(request)
        return httpx2.Response(500)

    async with mix_client(handler) as client:
        result = await run_operation(client, OPERATIONS_BY_NAME[tool], arguments)
    assert result.is_error
    text = result.content[0].text  # type: ignore[union-attr]
    assert text.startswith(f"Invalid arguments for {tool} (nothing was sent to Mix)")
    for fragment in expected:
        assert fragment in text
    assert sent == []


@pytest.mark.anyio
async def test_every_bad_field_is_listed_at_once() -> None:
    async with mix_client(lambda r: httpx2.Response(500)) as client:
        result = await run_operation(
            client, OPERATIONS_BY_NAME["fork_session"], {"session_id": "", "message_index": -2, "colour": "red"}
        )
    text = result.content[0].text  # type: ignore[union-attr]
    assert "- session_id:" in text
    assert "- message_index:" in text
    assert "- colour: unknown argument" in text
