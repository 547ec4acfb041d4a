"""The scripted agent's endpoints over plain HTTP: the 202, the event stream and its replay, refusals, messages."""

from __future__ import annotations

import json
from typing import Any

import httpx2

from mix_mcp.emulator import BackgroundEmulator
from mix_mcp.mix.models import BackendMessage, MessageAccepted

from ._support import assert_error, session_body


def _events(client: httpx2.Client, session_id: str, until: str, last_event_id: str | None = None) -> list[Any]:
    """Read the stream until an event of type ``until`` (bounded by the client's timeout)."""
    headers = {"Last-Event-ID": last_event_id} if last_event_id is not None else {}
    seen: list[Any] = []
    with client.stream("GET", "/stream", params={"sessionId": session_id}, headers=headers) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        block: dict[str, str] = {}
        for line in response.iter_lines():
            if line:
                name, _, value = line.partition(": ")
                block[name] = value
                continue
            seen.append((block["id"], block["event"], json.loads(block["data"])))
            if block["event"] == until:
                return seen
            block = {}
    return seen


def _new_session(client: httpx2.Client) -> str:
    session_id: str = session_body(client.post("/api/sessions", json={"title": "agent"}), 201)["id"]
    return session_id


def test_a_message_is_accepted_streamed_stored_and_replayed(client: httpx2.Client) -> None:
    session_id = _new_session(client)
    accepted = client.post(f"/api/sessions/{session_id}/messages", json={"text": "hi", "plan_mode": True})
    assert accepted.status_code == 202
    assert MessageAccepted.model_validate(accepted.json()).session_id == session_id
    events = _events(client, session_id, "complete", last_event_id="0")
    kinds = [kind for _, kind, _ in events]
    assert kinds[0] == "connected" and kinds[1] == "user_message_created" and kinds[-1] == "complete"
    assert {"thinking", "tool", "tool_execution_start", "tool_execution_complete", "content"} <= set(kinds)
    ids = [int(event_id) for event_id, kind, _ in events if kind != "connected"]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    answer = events[-1][2]["content"]
    assert (
        answer.startswith("Plan only: ")
        and "".join(d["content"] for _, k, d in events if k == "content").strip() == answer
    )

    replay = _events(client, session_id, "complete", last_event_id=str(ids[4]))
    assert [int(i) for i, k, _ in replay if k != "connected"] == ids[5:], "exactly the events after Last-Event-ID"

    stored = client.get(f"/api/sessions/{session_id}/messages")
    messages = [BackendMessage.model_validate(m) for m in stored.json()]
    assert [(m.role, m.user_input, m.assistant_response) for m in messages] == [
        ("user", "hi", None),
        ("assistant", "", answer),
    ]
    assert session_body(client.get(f"/api/sessions/{session_id}"))["assistantMessageCount"] == 1


def test_refusals_use_mix_envelopes(client: httpx2.Client, emulator: BackgroundEmulator) -> None:
    session_id = _new_session(client)
    assert_error(client.post(f"/api/sessions/{session_id}/messages", json={"text": ""}), 400, "validation_error")
    assert_error(
        client.post(f"/api/sessions/{session_id}/messages", json={"text": "x", "extra": 1}), 400, "validation_error"
    )
    assert_error(client.post("/api/sessions/nope/messages", json={"text": "x"}), 404, "not_found")
    assert_error(client.get("/stream"), 400, "bad_request")
    assert_error(client.get("/stream", params={"sessionId": "nope"}), 404, "not_found")
    assert_error(client.post("/api/permissions/nope/grant"), 404, "not_found", "Permission not found")
    assert client.post(f"/api/sessions/{session_id}/cancel").json() == {"cancelled": False}

    emulator.agent.settings.permission_timeout = 30
    assert client.post(f"/api/sessions/{session_id}/messages", json={"text": "run: ls"}).status_code == 202
    busy = client.post(f"/api/sessions/{session_id}/messages", json={"text": "again"})
    assert_error(busy, 400, "bad_request", "The session is already processing a message")
    events = _events(client, session_id, "permission", last_event_id="0")
    permission = events[-1][2]
    assert permission["toolName"] == "Bash" and permission["params"]["command"] == "ls"
    assert client.post(f"/api/permissions/{permission['id']}/deny").json() == {"denied": True}
    assert_error(client.post(f"/api/permissions/{permission['id']}/grant"), 404, "not_found")
    done = _events(client, session_id, "complete", last_event_id=events[-1][0])
    assert "permission was denied" in done[-1][2]["content"]
