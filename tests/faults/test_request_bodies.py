"""No request carries a field the caller did not set: real Mix decodes bodies strictly.

Every tool is called through the real stdio server with its smallest valid arguments, and the bodies
the upstream received must hold exactly the required fields (plus ``cleanupMedia``, which rewind always
sends because Mix versions disagree on its default).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from mix_mcp.tools.operations import OPERATIONS
from tests.support import Answer, ScriptedUpstream, stdio_client_for, text_of
from tests.unit.fakes import SESSION

#: (smallest arguments, the only body fields Mix may receive, the only query parameters).
MINIMAL: dict[str, tuple[dict[str, Any], dict[str, Any] | None]] = {
    "list_sessions": ({}, None),
    "create_session": ({"title": "t"}, {"title": "t"}),
    "get_session": ({"session_id": "s"}, None),
    "delete_session": ({"session_id": "s"}, None),
    "update_session_callbacks": ({"session_id": "s", "callbacks": []}, {"callbacks": []}),
    "export_session": ({"session_id": "s"}, None),
    "fork_session": ({"session_id": "s", "message_index": 0}, {"messageIndex": 0}),
    "rewind_session": ({"session_id": "s", "message_id": "m"}, {"messageId": "m", "cleanupMedia": False}),
    "answer_permission": ({"permission_id": "p", "grant": True}, None),
    "cancel_run": ({"session_id": "s"}, None),
    "list_messages": ({"session_id": "s"}, None),
    "list_session_files": ({"session_id": "s"}, None),
    "read_session_file": ({"session_id": "s", "name": "f.txt"}, None),
    "delete_session_file": ({"session_id": "s", "name": "f.txt"}, None),
}
#: Tools checked elsewhere: send_message makes several requests (usage, event stream, the message), whose
#: bodies tests/faults/test_fuzz.py checks for every argument set it generates.
ELSEWHERE = {"send_message", "upload_session_file"}  # an upload is multipart: tests/unit/test_session_files.py
EXPORT = {"id": "s", "title": "t", "messages": []}


def _answer(tool: str) -> Answer:
    if tool == "list_sessions":
        return Answer.json(200, [SESSION])
    if tool == "delete_session":
        return Answer(204)
    if tool == "export_session":
        return Answer.json(200, EXPORT)
    if tool == "answer_permission":
        return Answer.json(200, {"granted": True})
    if tool == "cancel_run":
        return Answer.json(200, {"cancelled": False})
    if tool in ("list_messages", "list_session_files"):
        return Answer.json(200, [])
    if tool == "read_session_file":
        return Answer(200, b"hello", {"Content-Type": "text/plain"})
    if tool == "delete_session_file":
        return Answer(204)
    return Answer.json(201 if tool in ("create_session", "fork_session") else 200, SESSION)


def test_every_tool_has_a_minimal_case() -> None:
    assert set(MINIMAL) | ELSEWHERE == {op.name for op in OPERATIONS} and not set(MINIMAL) & ELSEWHERE


@pytest.mark.anyio
async def test_no_request_carries_an_unset_field() -> None:
    tools = list(MINIMAL)
    with ScriptedUpstream(*[_answer(tool) for tool in tools]) as upstream:
        async with stdio_client_for("--base-url", upstream.url, "--max-retries", "0", mode="auto") as client:
            for tool in tools:
                result = await client.call_tool(tool, MINIMAL[tool][0])
                assert not result.is_error, f"{tool}: {text_of(result)}"
        assert len(upstream.seen) == len(tools)
        for tool, seen in zip(tools, upstream.seen, strict=True):
            expected = MINIMAL[tool][1]
            assert "?" not in seen.path, f"{tool} sent query parameters nobody set: {seen.path}"
            if expected is None:
                assert seen.body == b"", f"{tool} sent a body: {seen.body!r}"
            else:
                assert json.loads(seen.body) == expected, f"{tool} sent {seen.body!r}"
