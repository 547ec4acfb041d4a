"""The scripted agent's endpoints over plain HTTP: the 202, the contract's events, replay, refusals, stored output.

Every event read here is also checked against Mix's SDK (``tests.emulator._sdk``): parsed by its own
``SSEEventStream`` model, and with no data field that model does not know.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx2
import pytest

from mix_mcp.emulator import BackgroundEmulator
from mix_mcp.emulator.agent import AgentSettings
from mix_mcp.mix.models import BackendMessage, MessageAccepted

from ._sdk import check_event
from ._support import assert_error, session_body

Event = tuple[str, str, dict[str, Any]]
#: Tool-call events of a ReadText call, in order (its input ``{"path": "README.md"}`` is 20 characters: 3 deltas).
READ_TEXT_EVENTS = [
    "tool_use_start",
    "tool_use_parameter_delta",
    "tool_use_parameter_delta",
    "tool_use_parameter_delta",
    "tool_use_parameter_streaming_complete",
    "tool_execution_start",
    "tool_execution_complete",
]


def read_events(
    client: httpx2.Client,
    session_id: str,
    until: str,
    last_event_id: str | None = None,
    *,
    on_event: Callable[[Event], None] | None = None,
) -> list[Event]:
    """Read the stream until an event of type ``until`` or its end (bounded by the client's timeout).

    ``on_event`` runs after each event, with the stream still open.
    """
    headers = {"Last-Event-ID": last_event_id} if last_event_id is not None else {}
    seen: list[Event] = []
    with client.stream("GET", "/stream", params={"sessionId": session_id}, headers=headers) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        block: dict[str, str] = {}
        for line in response.iter_lines():
            if line:
                name, _, value = line.partition(": ")
                block[name] = value
                continue
            event = (block["id"], block["event"], json.loads(block["data"]))
            check_event(*event)
            seen.append(event)
            if event[1] == until:
                return seen
            if on_event is not None:
                on_event(event)
            block = {}
    return seen


def new_session(client: httpx2.Client, **extra: str) -> str:
    session_id: str = session_body(client.post("/api/sessions", json={"title": "agent", **extra}), 201)["id"]
    return session_id


def kinds_of(events: list[Event]) -> list[str]:
    return [kind for _, kind, _ in events]


@pytest.fixture(scope="module")
def feb() -> Iterator[httpx2.Client]:
    """An emulator playing the Feb 2026 Mix (questions, max_steps, thinking_level), with a fast agent."""
    settings = AgentSettings(step_delay=0, question_timeout=1)
    with (
        BackgroundEmulator(mix_version="2026-02", agent=settings) as running,
        httpx2.Client(base_url=running.url, timeout=10.0) as http,
    ):
        yield http


def test_a_message_is_accepted_streamed_stored_and_replayed(client: httpx2.Client) -> None:
    session_id = new_session(client)
    accepted = client.post(f"/api/sessions/{session_id}/messages", json={"text": "hi", "plan_mode": True})
    assert accepted.status_code == 202
    assert MessageAccepted.model_validate(accepted.json()).session_id == session_id
    events = read_events(client, session_id, "complete", last_event_id="0")
    kinds = kinds_of(events)
    assert kinds[:2] == ["connected", "user_message_created"] and kinds[-1] == "complete"
    assert kinds[2:5] == ["thinking"] * 3
    assert kinds[5:12] == READ_TEXT_EVENTS
    assert set(kinds[12:-1]) == {"content"}
    ids = [int(event_id) for event_id, _, _ in events]
    assert len(set(ids)) == len(ids), "every event has an id of its own, connected included"
    run_ids = ids[1:]
    assert run_ids == sorted(run_ids)

    by_kind = {kind: data for _, kind, data in events}
    pieces = "".join(d["input"] for _, k, d in events if k == "tool_use_parameter_delta")
    whole = by_kind["tool_use_parameter_streaming_complete"]["input"]
    assert json.loads(pieces) == {"path": "README.md"} == json.loads(whole)
    call_id = by_kind["tool_use_start"]["id"]
    assert {d.get("toolCallId", d.get("id")) for _, k, d in events if k.startswith("tool_")} == {call_id}
    assert by_kind["tool_execution_complete"]["success"] is True
    done = by_kind["complete"]
    answer = done["content"]
    assert done["done"] is True and done["reasoning"] and done["messageId"].startswith("msg_")
    assert answer.startswith("Plan only: ")
    assert "".join(d["content"] for _, k, d in events if k == "content").strip() == answer

    replay = read_events(client, session_id, "complete", last_event_id=str(run_ids[4]))
    assert [int(i) for i, k, _ in replay if k != "connected"] == run_ids[5:], "exactly the events after Last-Event-ID"

    stored = client.get(f"/api/sessions/{session_id}/messages")
    messages = [BackendMessage.model_validate(m) for m in stored.json()]
    assert [(m.role, m.user_input, m.assistant_response) for m in messages] == [
        ("user", "hi", None),
        ("assistant", "", answer),
    ]
    assert messages[1].id == done["messageId"]
    (call,) = stored.json()[1]["toolCalls"]
    assert call["id"] == call_id and call["name"] == "ReadText" and call["result"] == "# Demo project\nHello."
    exported = client.get(f"/api/sessions/{session_id}/export").json()["messages"][1]["toolCalls"][0]
    assert exported["result"] == call["result"] and exported["inputJson"] == {"path": "README.md"}
    assert session_body(client.get(f"/api/sessions/{session_id}"))["assistantMessageCount"] == 1


def test_refusals_use_mix_envelopes(client: httpx2.Client, emulator: BackgroundEmulator) -> None:
    session_id = new_session(client)
    assert_error(client.post(f"/api/sessions/{session_id}/messages", json={"text": ""}), 400, "validation_error")
    assert_error(
        client.post(f"/api/sessions/{session_id}/messages", json={"text": "x", "extra": 1}), 400, "validation_error"
    )
    assert_error(
        client.post(f"/api/sessions/{session_id}/messages", json={"text": "x", "max_steps": 3}),
        400,
        "validation_error",
        "unknown field(s): max_steps",
    )
    assert_error(client.post("/api/sessions/nope/messages", json={"text": "x"}), 404, "not_found")
    assert_error(client.get("/stream"), 400, "bad_request")
    assert_error(client.get("/stream", params={"sessionId": "nope"}), 404, "not_found")
    assert_error(client.post("/api/permissions/nope/grant"), 404, "not_found", "Permission not found")
    assert_error(client.post("/api/notifications/nope/respond", json={"type": "choice"}), 404, "not_found")
    assert client.post(f"/api/sessions/{session_id}/cancel").json() == {"cancelled": False}

    emulator.agent.settings.permission_timeout = 30
    assert client.post(f"/api/sessions/{session_id}/messages", json={"text": "run: ls"}).status_code == 202
    busy = client.post(f"/api/sessions/{session_id}/messages", json={"text": "again"})
    assert_error(busy, 400, "bad_request", "The session is already processing a message")
    events = read_events(client, session_id, "permission", last_event_id="0")
    permission = events[-1][2]
    assert permission["toolName"] == "Bash" and permission["params"]["command"] == "ls"
    assert permission["sessionId"] == session_id
    assert client.post(f"/api/permissions/{permission['id']}/deny").json() == {"denied": True}
    assert_error(client.post(f"/api/permissions/{permission['id']}/grant"), 404, "not_found")
    done = read_events(client, session_id, "complete", last_event_id=events[-1][0])
    assert "permission was denied" in done[-1][2]["content"]
    failed = next(d for _, k, d in done if k == "tool_execution_complete")
    assert failed["success"] is False and failed["progress"] == "Permission denied"
    (call,) = client.get(f"/api/sessions/{session_id}/messages").json()[-1]["toolCalls"]
    assert call["isError"] is True and call["result"] == "Permission denied by the user"


def test_a_granted_command_stores_its_output(client: httpx2.Client) -> None:
    session_id = new_session(client)
    assert client.post(f"/api/sessions/{session_id}/messages", json={"text": "run: make test"}).status_code == 202
    events = read_events(client, session_id, "permission", last_event_id="0")
    assert kinds_of(events)[-2] == "tool_use_parameter_streaming_complete", "permission comes once the input is known"
    assert client.post(f"/api/permissions/{events[-1][2]['id']}/grant").json() == {"granted": True}
    done = read_events(client, session_id, "complete", last_event_id=events[-1][0])
    assert kinds_of(done)[1:3] == ["tool_execution_start", "tool_execution_complete"]
    (call,) = client.get(f"/api/sessions/{session_id}/messages").json()[-1]["toolCalls"]
    assert call["name"] == "Bash" and json.loads(call["input"]) == {"command": "make test"}
    assert call["result"] == "(pretend output of make test)" and call["isError"] is False
    assert call["result"] in done[-1][2]["content"]


def test_a_question_waits_for_its_answer(feb: httpx2.Client) -> None:
    session_id = new_session(feb, browserMode="local-browser-service")
    sent = feb.post(f"/api/sessions/{session_id}/messages", json={"text": "ask: Which colour? red, green, blue"})
    assert sent.status_code == 202
    events = read_events(feb, session_id, "notification", last_event_id="0")
    question = events[-1][2]
    assert question["notificationType"] == "question" and question["responseType"] == "choice"
    assert question["message"] == "Which colour?" and question["choices"] == ["red", "green", "blue"]
    assert question["timeout"] == 1 and question["sessionId"] == session_id and question["createdAt"] > 0
    respond = f"/api/notifications/{question['id']}/respond"
    assert_error(feb.post(respond, json={"type": "choice", "value": "pink"}), 400, "validation_error")
    assert_error(feb.post(respond, json={"type": "text", "value": "red"}), 400, "validation_error")
    assert_error(feb.post(respond, json={"type": "choice", "extra": 1}), 400, "bad_request")
    answered = feb.post(respond, json={"type": "choice", "value": "green"})
    assert answered.status_code == 204 and answered.content == b""
    assert_error(feb.post(respond, json={"type": "choice", "value": "green"}), 404, "not_found")
    done = read_events(feb, session_id, "complete", last_event_id=events[-1][0])
    assert done[-1][2]["content"] == "You chose green."
    assert "toolCalls" not in feb.get(f"/api/sessions/{session_id}/messages").json()[-1]


def test_an_unanswered_question_times_out_and_the_run_goes_on(feb: httpx2.Client) -> None:
    session_id = new_session(feb, browserMode="local-browser-service")
    feb.post(f"/api/sessions/{session_id}/messages", json={"text": "ask: Deploy now?"})
    events = read_events(feb, session_id, "complete", last_event_id="0")
    question = next(d for _, k, d in events if k == "notification")
    assert question["choices"] == ["yes", "no"]
    assert events[-1][2]["content"] == "No answer came within 1 s, so I went on without one."
    expired = feb.post(f"/api/notifications/{question['id']}/respond", json={"type": "choice", "value": "yes"})
    assert_error(expired, 404, "not_found", "Notification not found or already responded")


def test_max_steps_and_thinking_level_on_feb_2026(feb: httpx2.Client) -> None:
    session_id = new_session(feb, browserMode="local-browser-service")
    body = {"text": "hello", "plan_mode": False, "max_steps": 5, "thinking_level": "off"}
    assert feb.post(f"/api/sessions/{session_id}/messages", json=body).status_code == 202
    events = read_events(feb, session_id, "complete", last_event_id="0")
    assert "thinking" not in kinds_of(events) and "reasoning" not in events[-1][2]
    for bad, field in (({"max_steps": 0}, "max_steps"), ({"thinking_level": "high"}, "thinking_level")):
        refused = feb.post(f"/api/sessions/{session_id}/messages", json={"text": "x", **bad})
        assert field in assert_error(refused, 400, "validation_error")
    null_level = feb.post(f"/api/sessions/{session_id}/messages", json={"text": "again", "thinking_level": None})
    assert null_level.status_code == 202
    assert "thinking" in kinds_of(read_events(feb, session_id, "complete", last_event_id=events[-1][0]))


def test_ask_is_an_ordinary_message_where_mix_has_no_questions(client: httpx2.Client) -> None:
    session_id = new_session(client)
    client.post(f"/api/sessions/{session_id}/messages", json={"text": "ask: Which colour?"})
    events = read_events(client, session_id, "complete", last_event_id="0")
    assert "notification" not in kinds_of(events) and "tool_use_start" in kinds_of(events)


def test_a_task_spawns_a_subagent_whose_events_name_their_parent_call(feb: httpx2.Client) -> None:
    """On its own emulator: the subagent session it leaves would change the shared one's list."""
    session_id = new_session(feb, browserMode="local-browser-service")
    feb.post(f"/api/sessions/{session_id}/messages", json={"text": "task: find the config readers"})
    events = read_events(feb, session_id, "complete", last_event_id="0")
    call_id = next(d["id"] for _, k, d in events if k == "tool_use_start")
    created = next(d for _, k, d in events if k == "session_created")
    nested = [k for _, k, d in events if d.get("parentToolCallId") == call_id]
    assert nested[0] == "user_message_created" and nested[-1] == "complete" and "content" in nested
    assert events[-1][2].get("parentToolCallId") == call_id, "the subagent completes first"
    done = read_events(feb, session_id, "complete", last_event_id=events[-1][0])
    assert "parentToolCallId" not in done[-1][2] and done[-1][2]["content"].startswith("The subagent reported: ")
    sub = session_body(feb.get(f"/api/sessions/{created['sessionId']}"))
    assert sub["sessionType"] == "subagent" and sub["parentSessionId"] == session_id
    assert sub["parentToolCallId"] == call_id and sub["assistantMessageCount"] == 1
    (call,) = feb.get(f"/api/sessions/{session_id}/messages").json()[-1]["toolCalls"]
    assert call["name"] == "Task" and call["result"] in done[-1][2]["content"]


def test_deleting_a_followed_session_ends_its_run_and_stream(
    client: httpx2.Client, emulator: BackgroundEmulator
) -> None:
    session_id = new_session(client)
    emulator.agent.settings.permission_timeout = 30
    client.post(f"/api/sessions/{session_id}/messages", json={"text": "run: sleep 100"})
    deleted: list[int] = []

    def delete_on_permission(event: Event) -> None:
        if event[1] == "permission":
            with httpx2.Client(base_url=emulator.url, timeout=10.0) as other:
                deleted.append(other.delete(f"/api/sessions/{session_id}").status_code)

    events = read_events(client, session_id, "never", last_event_id="0", on_event=delete_on_permission)
    assert deleted == [204]
    assert kinds_of(events)[-2:] == ["permission", "session_deleted"], "no error after the deletion; the stream ends"
    assert events[-1][2] == {"type": "session_deleted", "sessionId": session_id}
    assert not emulator.agent.running(session_id)
    assert_error(client.post(f"/api/permissions/{events[-2][2]['id']}/grant"), 404, "not_found")
    assert_error(client.get("/stream", params={"sessionId": session_id}), 404, "not_found")


def test_markers_have_ids_of_their_own_and_resuming_from_one_loses_nothing(
    client: httpx2.Client, emulator: BackgroundEmulator
) -> None:
    session_id = new_session(client)
    before = read_events(client, session_id, "connected")
    emulator.agent.settings.heartbeat_interval = 0.05
    emulator.agent.settings.step_delay = 0.12
    try:
        client.post(f"/api/sessions/{session_id}/messages", json={"text": "hello"})
        live = read_events(client, session_id, "complete", last_event_id=before[0][0])
    finally:
        emulator.agent.settings.heartbeat_interval = 15.0
        emulator.agent.settings.step_delay = 0.02
    heartbeats = [(i, d) for i, k, d in live if k == "heartbeat"]
    assert heartbeats and all(d == {"type": "ping"} for _, d in heartbeats)
    ids = [int(i) for i, _, _ in live]
    assert len(set(ids)) == len(ids), "heartbeats and connected take fresh ids, never the last event's"
    assert ids[1:] == sorted(ids[1:]) and int(before[0][0]) < min(ids)
    run = [(i, k) for i, k, _ in live if k not in ("connected", "heartbeat")]
    # Resuming from the first connected marker, or from any heartbeat, replays exactly what came after it.
    again = read_events(client, session_id, "complete", last_event_id=before[0][0])
    assert [(i, k) for i, k, _ in again if k not in ("connected", "heartbeat")] == run
    position = next(n for n, (i, _, _) in enumerate(live) if i == heartbeats[0][0])
    expected = [(i, k) for i, k, _ in live[position:] if k not in ("connected", "heartbeat")]
    resumed = read_events(client, session_id, "complete", last_event_id=heartbeats[0][0])
    assert [(i, k) for i, k, _ in resumed if k not in ("connected", "heartbeat")] == expected
