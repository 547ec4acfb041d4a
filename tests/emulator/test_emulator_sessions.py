"""Success paths of every endpoint: status, body shape (against the contract models) and seeded content."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import httpx2
import pytest

from mix_mcp.emulator import (
    CALLBACKS_SESSION_ID,
    DEMO_SESSION_ID,
    EMPTY_SESSION_ID,
    FORKED_SESSION_ID,
    MIGRATION_SESSION_ID,
    SEED_SESSION_IDS,
    SUBAGENT_SESSION_ID,
    SUBAGENT_TOOL_CALL_ID,
    BackgroundEmulator,
)
from mix_mcp.mix import endpoints
from mix_mcp.mix.models import SessionData

from ._support import assert_error, assert_no_nulls, export_body, session_body
from .conftest import DEMO_MESSAGE_COUNT


def _list(client: httpx2.Client, **params: str) -> list[dict[str, Any]]:
    response = client.get(endpoints.LIST_SESSIONS.path, params=params)
    assert response.status_code == endpoints.LIST_SESSIONS.success_status
    assert response.headers["content-type"].startswith("application/json")
    sessions: list[dict[str, Any]] = response.json()
    return sessions


def test_list_hides_subagents_unless_asked(client: httpx2.Client) -> None:
    default_ids = [s["id"] for s in _list(client)]
    false_ids = [s["id"] for s in _list(client, includeSubagents="false")]
    all_ids = [s["id"] for s in _list(client, includeSubagents="true")]
    assert SUBAGENT_SESSION_ID not in default_ids
    assert SUBAGENT_SESSION_ID not in false_ids
    assert SUBAGENT_SESSION_ID in all_ids
    assert set(all_ids) - set(default_ids) == {SUBAGENT_SESSION_ID}


def test_list_is_sorted_by_creation_and_validates(client: httpx2.Client) -> None:
    sessions = _list(client, includeSubagents="true")
    seeded = [s["id"] for s in sessions if s["id"] in SEED_SESSION_IDS]
    assert seeded == list(SEED_SESSION_IDS)
    stamps = [datetime.fromisoformat(str(s["createdAt"])) for s in sessions]
    assert stamps == sorted(stamps)
    for session in sessions:
        SessionData.model_validate(session)
        assert_no_nulls(session)


def test_get_main_session_counts_are_derived_from_messages(client: httpx2.Client) -> None:
    session = session_body(client.get(f"/api/sessions/{DEMO_SESSION_ID}"))
    export = export_body(client.get(f"/api/sessions/{DEMO_SESSION_ID}/export"))
    messages = export["messages"]
    assert session["sessionType"] == "main"
    assert session["title"] == "Fix flaky pagination test"
    assert session["userMessageCount"] == sum(m["role"] == "user" for m in messages) == 2
    assert session["assistantMessageCount"] == sum(m["role"] == "assistant" for m in messages) == 6
    assert session["toolCallCount"] == sum(len(m.get("toolCalls", [])) for m in messages) == 5
    assert session["firstUserMessage"] == messages[0]["content"]
    for key in ("parentSessionId", "parentToolCallId", "subagentType", "callbacks"):
        assert key not in session
    for key in ("userMessageCount", "assistantMessageCount", "toolCallCount", "promptTokens", "completionTokens"):
        assert export[key] == session[key]
    assert export["cost"] == pytest.approx(session["cost"])
    assert session["promptTokens"] > 0
    assert session["cost"] > 0


def test_subagent_and_forked_seeds_carry_their_parents(client: httpx2.Client) -> None:
    subagent = session_body(client.get(f"/api/sessions/{SUBAGENT_SESSION_ID}"))
    assert subagent["sessionType"] == "subagent"
    assert subagent["parentSessionId"] == MIGRATION_SESSION_ID
    assert subagent["parentToolCallId"] == SUBAGENT_TOOL_CALL_ID
    assert subagent["subagentType"] == "general-purpose"
    forked = session_body(client.get(f"/api/sessions/{FORKED_SESSION_ID}"))
    assert forked["sessionType"] == "forked"
    assert forked["parentSessionId"] == DEMO_SESSION_ID
    assert "parentToolCallId" not in forked
    assert "subagentType" not in forked


def test_seeded_task_call_points_at_the_subagent(client: httpx2.Client) -> None:
    export = export_body(client.get(f"/api/sessions/{MIGRATION_SESSION_ID}/export"))
    calls = [call for message in export["messages"] for call in message.get("toolCalls", [])]
    task = next(call for call in calls if call["id"] == SUBAGENT_TOOL_CALL_ID)
    assert task["name"] == "Task"
    assert [call["isError"] for call in calls].count(True) == 1


def test_seeded_callbacks_and_empty_session(client: httpx2.Client) -> None:
    with_callbacks = session_body(client.get(f"/api/sessions/{CALLBACKS_SESSION_ID}"))
    assert [(c["toolName"], c["type"]) for c in with_callbacks["callbacks"]] == [
        ("Edit", "bash_script"),
        ("Bash", "send_message"),
    ]
    empty = session_body(client.get(f"/api/sessions/{EMPTY_SESSION_ID}"))
    assert empty["userMessageCount"] == empty["assistantMessageCount"] == empty["toolCallCount"] == 0
    assert empty["cost"] == 0
    assert "firstUserMessage" not in empty


def test_export_shape_and_content_disposition(client: httpx2.Client) -> None:
    response = client.get(f"/api/sessions/{DEMO_SESSION_ID}/export")
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["content-disposition"] == (
        f"attachment; filename=session_{DEMO_SESSION_ID}_transcript.json"
    )
    export = export_body(response)
    assert export["id"] == DEMO_SESSION_ID
    assert export["createdAt"] == "2025-03-10T09:12:03.000Z"
    assert len(export["messages"]) == DEMO_MESSAGE_COUNT
    assert len({m["id"] for m in export["messages"]}) == DEMO_MESSAGE_COUNT
    assistant = next(m for m in export["messages"] if m["role"] == "assistant")
    for key in ("reasoning", "reasoningDuration", "model", "finishReason", "toolCalls"):
        assert key in assistant
    user = export["messages"][0]
    assert user["role"] == "user"
    assert "toolCalls" not in user
    assert "reasoning" not in user
    for message in export["messages"]:
        assert_no_nulls(message)
        for call in message.get("toolCalls", []):
            assert set(call) >= {"id", "name", "input", "inputJson", "type", "finished", "isError", "result"}
            assert json.loads(call["input"]) == call["inputJson"]


def test_create_minimal_session(client: httpx2.Client) -> None:
    response = client.post(endpoints.CREATE_SESSION.path, json={"title": "Write the changelog"})
    created = session_body(response, endpoints.CREATE_SESSION.success_status)
    assert uuid.UUID(created["id"]).version == 4
    assert created["title"] == "Write the changelog"
    assert created["sessionType"] == "main"
    assert created["userMessageCount"] == created["toolCallCount"] == created["promptTokens"] == 0
    assert datetime.fromisoformat(created["createdAt"]).tzinfo is not None
    for key in ("callbacks", "firstUserMessage", "parentSessionId", "parentToolCallId", "subagentType"):
        assert key not in created
    assert session_body(client.get(f"/api/sessions/{created['id']}")) == created
    assert created["id"] in [s["id"] for s in _list(client)]


def test_create_with_all_options_keeps_contract_callback_fields_only(client: httpx2.Client) -> None:
    callbacks = [
        {"toolName": "*", "type": "bash_script", "bashCommand": "echo $CALLBACK_TOOL_NAME", "bashTimeout": 1000},
        {"toolName": "Write", "type": "sub_agent", "subAgentPrompt": "Review the file", "includeFullHistory": True},
        {"toolName": "Bash", "type": "send_message", "messageContent": "Run tests", "name": None, "extra": 1},
    ]
    response = client.post(
        "/api/sessions",
        json={
            "title": "Options",
            "promptMode": "replace",
            "customSystemPrompt": "You are terse.",
            "sessionType": "main",
            "callbacks": callbacks,
        },
    )
    created = session_body(response, 201)
    assert created["callbacks"] == [
        callbacks[0],
        callbacks[1],
        {"toolName": "Bash", "type": "send_message", "messageContent": "Run tests"},
    ]


@pytest.mark.parametrize(
    ("mode", "prompt"),
    [
        ("append", "x" * 51_200),
        ("replace", "x" * 102_400),
        ("default", "x" * 300_000),
        ("append", "é" * 25_600),
    ],
    ids=["append-at-limit", "replace-at-limit", "default-ignores-size", "append-multibyte-at-limit"],
)
def test_create_accepts_prompts_within_limits(client: httpx2.Client, mode: str, prompt: str) -> None:
    response = client.post("/api/sessions", json={"title": "t", "promptMode": mode, "customSystemPrompt": prompt})
    assert session_body(response, 201)["title"] == "t"


def test_delete_removes_session_and_messages(
    client: httpx2.Client, emulator: BackgroundEmulator, demo_copy: str
) -> None:
    assert emulator.store.message_count(demo_copy) == DEMO_MESSAGE_COUNT
    response = client.delete(f"/api/sessions/{demo_copy}")
    assert response.status_code == endpoints.DELETE_SESSION.success_status
    assert response.content == b""
    assert emulator.store.message_count(demo_copy) == 0
    assert_error(client.get(f"/api/sessions/{demo_copy}"), 404, "not_found", f"Session not found: {demo_copy}")
    assert_error(client.delete(f"/api/sessions/{demo_copy}"), 404, "not_found")
    assert demo_copy not in [s["id"] for s in _list(client)]
    # The source of the fork is untouched.
    assert session_body(client.get(f"/api/sessions/{DEMO_SESSION_ID}"))["assistantMessageCount"] == 6


def test_update_callbacks_replaces_and_clears(client: httpx2.Client) -> None:
    created = session_body(client.post("/api/sessions", json={"title": "cb"}), 201)
    path = f"/api/sessions/{created['id']}/callbacks"
    first = [{"toolName": "Edit", "type": "bash_script", "bashCommand": "ruff format ."}]
    updated = session_body(
        client.patch(path, json={"callbacks": first}), endpoints.UPDATE_SESSION_CALLBACKS.success_status
    )
    assert updated["callbacks"] == first
    assert session_body(client.get(f"/api/sessions/{created['id']}"))["callbacks"] == first
    second = [{"toolName": "*", "type": "send_message", "messageContent": "Summarise what changed."}]
    assert session_body(client.patch(path, json={"callbacks": second}))["callbacks"] == second
    cleared = session_body(client.patch(path, json={"callbacks": []}))
    assert "callbacks" not in cleared
    assert "callbacks" not in session_body(client.get(f"/api/sessions/{created['id']}"))


def test_head_on_a_get_route_has_no_body(client: httpx2.Client) -> None:
    response = client.head(f"/api/sessions/{DEMO_SESSION_ID}")
    assert response.status_code == 200
    assert response.content == b""
