"""Argument validation: every bad field is reported, and nothing is sent."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from mix_mcp.serving.server import run_operation
from mix_mcp.tools.arguments import (
    AnswerNotificationArguments,
    ExportSessionArguments,
    FollowRunArguments,
    SendMessageArguments,
)
from mix_mcp.tools.operations import OPERATIONS_BY_NAME
from tests.unit.fakes import SESSION, mix_client

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


LENIENT: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = [
    # (tool, arguments a lenient or strict client sends, the JSON body Mix receives)
    (
        "create_session",
        {"title": "t", "prompt_mode": None, "custom_system_prompt": None, "callbacks": None},
        {"title": "t"},
    ),
    (
        "create_session",
        {
            "title": "t",
            "callbacks": [
                {
                    "tool_name": "*",
                    "type": "send_message",
                    "message_content": "hi",
                    "name": None,
                    "bash_command": "",
                    "bash_timeout": None,
                    "exclude_from_context": False,
                    "sub_agent_prompt": "",
                }
            ],
        },
        {"title": "t", "callbacks": [{"toolName": "*", "type": "send_message", "messageContent": "hi"}]},
    ),
    ("fork_session", {"session_id": "s", "message_index": 1, "title": None}, {"messageIndex": 1}),
    ("fork_session", {"session_id": "s", "message_index": 1, "title": ""}, {"messageIndex": 1}),
    (
        "rewind_session",
        {"session_id": "s", "message_id": "m", "cleanup_media": None},
        {"messageId": "m", "cleanupMedia": False},
    ),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("tool", "arguments", "body"), LENIENT)
async def test_null_and_forbidden_emptiness_mean_left_out_and_never_reach_mix(
    tool: str, arguments: dict[str, Any], body: dict[str, Any] | None
) -> None:
    sent: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        sent.append(request)
        return httpx2.Response(200, json=SESSION)

    async with mix_client(handler) as client:
        result = await run_operation(client, OPERATIONS_BY_NAME[tool], arguments)
    assert not result.is_error, result.content
    assert len(sent) == 1 and json.loads(sent[0].content) == body


def test_defaults_sent_back_count_as_not_chosen() -> None:
    args = ExportSessionArguments.model_validate(
        {"session_id": "s", "offset": 0, "after_message_id": "m", "max_chars": 50_000, "unbounded": True}
    )
    assert not args.chose("offset") and not args.chose("max_chars") and args.chose("unbounded")
    assert args.budget is None
    with pytest.raises(ValueError, match="either max_chars or unbounded"):
        ExportSessionArguments.model_validate({"session_id": "s", "max_chars": 9_000, "unbounded": True})
    assert ExportSessionArguments.model_validate({"session_id": "s", "roles": []}).roles is None


def test_strict_mode_calls_of_the_run_tools_are_accepted_and_nulls_are_left_out() -> None:
    strict = {
        "session_id": "s",
        "text": "hi",
        "plan_mode": False,
        "max_steps": None,
        "thinking_level": None,
        "wait": True,
        "max_wait_seconds": None,
    }
    args = SendMessageArguments.model_validate(strict)
    assert args.text == "hi" and not args.chose("plan_mode")
    assert args.model_fields_set.isdisjoint({"max_steps", "thinking_level", "max_wait_seconds"})
    with pytest.raises(ValueError, match="text"):
        SendMessageArguments.model_validate({"session_id": "s"})
    with pytest.raises(ValueError, match="thinking_level"):
        SendMessageArguments.model_validate({**strict, "thinking_level": "lots"})
    follow = FollowRunArguments.model_validate({"session_id": "s", "after_event_id": None, "max_wait_seconds": None})
    assert follow.after_event_id is None
    with pytest.raises(ValueError, match="value is required"):
        AnswerNotificationArguments.model_validate({"notification_id": "n", "response_type": "choice"})
