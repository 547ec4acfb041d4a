"""Argument-to-request mapping for every operation: method, path, query and body on the wire."""

from __future__ import annotations

import json
from typing import Any, Final

import httpx2
import pytest

from mix_mcp.serving.server import run_operation
from mix_mcp.tools.operations import OPERATIONS, OPERATIONS_BY_NAME
from tests.unit.fakes import SESSION, TRANSCRIPT, mix_client

SID = SESSION["id"]

ACKNOWLEDGE: Final = {"type": "acknowledge"}
TEXT: Final = {"type": "text", "value": "yes"}
# tool, arguments, expected method, raw path, query, JSON body (None: no body)
CASES: list[tuple[str, dict[str, Any], str, str, dict[str, str], Any]] = [
    ("list_sessions", {}, "GET", "/api/sessions", {}, None),
    ("list_sessions", {"include_subagents": True}, "GET", "/api/sessions", {"includeSubagents": "true"}, None),
    ("create_session", {"title": "T"}, "POST", "/api/sessions", {}, {"title": "T"}),
    (
        "create_session",
        {
            "title": "T",
            "prompt_mode": "append",
            "custom_system_prompt": "Be brief.",
            "callbacks": [{"tool_name": "*", "type": "send_message", "message_content": "run tests"}],
        },
        "POST",
        "/api/sessions",
        {},
        {
            "title": "T",
            "promptMode": "append",
            "customSystemPrompt": "Be brief.",
            "callbacks": [{"toolName": "*", "type": "send_message", "messageContent": "run tests"}],
        },
    ),
    (
        "create_session",
        {
            "title": "T",
            "browser_mode": "remote-cdp-websocket",
            "cdp_url": "wss://browser.example/session",
            "model_id": "gemini-3-flash-preview",
            "provider": "gemini",
        },
        "POST",
        "/api/sessions",
        {},
        {
            "title": "T",
            "browserMode": "remote-cdp-websocket",
            "cdpUrl": "wss://browser.example/session",
            "modelId": "gemini-3-flash-preview",
            "provider": "gemini",
        },
    ),
    ("get_session", {"session_id": SID}, "GET", f"/api/sessions/{SID}", {}, None),
    ("delete_session", {"session_id": SID}, "DELETE", f"/api/sessions/{SID}", {}, None),
    (
        "update_session_callbacks",
        {
            "session_id": SID,
            "callbacks": [
                {"tool_name": "Bash", "type": "bash_script", "bash_command": "make lint", "bash_timeout": 5000},
                {"tool_name": "Write", "type": "sub_agent", "sub_agent_prompt": "review", "exclude_from_context": True},
            ],
        },
        "PATCH",
        f"/api/sessions/{SID}/callbacks",
        {},
        {
            "callbacks": [
                {"toolName": "Bash", "type": "bash_script", "bashCommand": "make lint", "bashTimeout": 5000},
                {"toolName": "Write", "type": "sub_agent", "subAgentPrompt": "review", "excludeFromContext": True},
            ]
        },
    ),
    (
        "update_session_callbacks",
        {"session_id": SID, "callbacks": []},
        "PATCH",
        f"/api/sessions/{SID}/callbacks",
        {},
        {"callbacks": []},
    ),
    ("export_session", {"session_id": SID}, "GET", f"/api/sessions/{SID}/export", {}, None),
    (
        "fork_session",
        {"session_id": SID, "message_index": 0},
        "POST",
        f"/api/sessions/{SID}/fork",
        {},
        {"messageIndex": 0},
    ),
    (
        "fork_session",
        {"session_id": SID, "message_index": 3, "title": "Branch"},
        "POST",
        f"/api/sessions/{SID}/fork",
        {},
        {"messageIndex": 3, "title": "Branch"},
    ),
    (
        "rewind_session",
        {"session_id": SID, "message_id": "msg_2"},
        "POST",
        f"/api/sessions/{SID}/rewind",
        {},
        # Sent even when left out: Mix versions disagree on what an omitted cleanupMedia means.
        {"messageId": "msg_2", "cleanupMedia": False},
    ),
    (
        "rewind_session",
        {"session_id": SID, "message_id": "msg_2", "cleanup_media": True},
        "POST",
        f"/api/sessions/{SID}/rewind",
        {},
        {"messageId": "msg_2", "cleanupMedia": True},
    ),
    ("cancel_run", {"session_id": SID}, "POST", f"/api/sessions/{SID}/cancel", {}, None),
    ("list_messages", {"session_id": SID, "limit": 5}, "GET", f"/api/sessions/{SID}/messages", {}, None),
    ("answer_permission", {"permission_id": "p/1", "grant": True}, "POST", "/api/permissions/p%2F1/grant", {}, None),
    ("answer_permission", {"permission_id": "p1", "grant": False}, "POST", "/api/permissions/p1/deny", {}, None),
    (
        "answer_notification",
        {"notification_id": "n/1", "value": "b", "response_type": "choice"},
        "POST",
        "/api/notifications/n%2F1/respond",
        {},
        {"type": "choice", "value": "b"},
    ),
    (
        "answer_notification",
        {"notification_id": "n1"},
        "POST",
        "/api/notifications/n1/respond",
        {},
        {"type": "acknowledge"},
    ),
    (
        "answer_notification",
        {"notification_id": "n1", "value": "yes"},
        "POST",
        "/api/notifications/n1/respond",
        {},
        {"type": "text", "value": "yes"},
    ),
    ("list_session_files", {"session_id": SID}, "GET", f"/api/sessions/{SID}/files", {}, None),
    (
        "read_session_file",
        {"session_id": SID, "name": "shot 1.png", "thumb": "w100"},
        "GET",
        f"/api/sessions/{SID}/files/shot%201.png",
        {"thumb": "w100"},
        None,
    ),
    ("read_session_file", {"session_id": SID, "name": "a?b#"}, "GET", f"/api/sessions/{SID}/files/a%3Fb%23", {}, None),
    ("delete_session_file", {"session_id": SID, "name": "n.md"}, "DELETE", f"/api/sessions/{SID}/files/n.md", {}, None),
]
#: Answers for the tools whose result is not a session.
ANSWERS: dict[str, Any] = {
    "cancel_run": {"cancelled": True},
    "list_messages": [],
    "answer_permission": {"granted": True},
    "list_session_files": [{"name": "a.png", "size": 1, "modified": 0, "isDir": False, "url": "/a.png"}],
    "read_session_file": {"any": "json file"},
}


def test_every_operation_has_a_mapping_case() -> None:
    # send_message and follow_run are runs of several requests, followed over the event stream
    # (tests/e2e/test_agent_runs.py, tests/faults/test_hostile_runs.py); upload_session_file sends
    # multipart, not JSON (tests/unit/test_session_files.py).
    assert {case[0] for case in CASES} == {op.name for op in OPERATIONS} - {
        "send_message",
        "follow_run",
        "upload_session_file",
    }


@pytest.mark.anyio
@pytest.mark.parametrize(("tool", "arguments", "method", "path", "query", "body"), CASES)
async def test_arguments_become_the_contract_request(
    tool: str, arguments: dict[str, Any], method: str, path: str, query: dict[str, str], body: Any
) -> None:
    seen: list[httpx2.Request] = []
    op = OPERATIONS_BY_NAME[tool]

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        status = op.endpoint.success_status
        if status == 204:
            return httpx2.Response(204)
        if tool == "list_sessions":
            return httpx2.Response(200, json=[SESSION])
        if tool in ANSWERS:
            return httpx2.Response(status, json=ANSWERS[tool])
        return httpx2.Response(status, json=TRANSCRIPT if tool == "export_session" else SESSION)

    async with mix_client(handler) as client:
        result = await run_operation(client, op, arguments)
    assert not result.is_error, result.content
    assert len(seen) == 1
    request = seen[0]
    assert request.method == method
    assert request.url.raw_path.split(b"?")[0].decode() == path
    assert dict(request.url.params) == query
    if body is None:
        assert request.content == b""
    else:
        assert request.headers["content-type"] == "application/json"
        assert json.loads(request.content) == body


@pytest.mark.anyio
async def test_structured_content_is_always_an_object() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.method == "DELETE":
            return httpx2.Response(204)
        return httpx2.Response(200, json=[SESSION, SESSION])

    async with mix_client(handler) as client:
        listed = await run_operation(client, OPERATIONS_BY_NAME["list_sessions"], {})
        deleted = await run_operation(client, OPERATIONS_BY_NAME["delete_session"], {"session_id": SID})
    assert listed.structured_content == {
        "sessions": [SESSION, SESSION],
        "count": 2,
        "total": 2,
        "offset": 0,
        "truncated": False,
        "next_arguments": None,
    }
    assert deleted.structured_content == {"deleted": True, "session_id": SID}
    assert json.loads(deleted.content[0].text) == deleted.structured_content  # type: ignore[union-attr]
