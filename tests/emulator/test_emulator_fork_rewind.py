"""Fork and rewind semantics: which messages are copied or kept, and what the new session reports."""

from __future__ import annotations

import uuid

import httpx2
import pytest

from mix_mcp.emulator import DEMO_SESSION_ID, EMPTY_SESSION_ID, MIGRATION_SESSION_ID
from mix_mcp.mix import endpoints

from ._support import assert_error, export_body, message_ids, session_body
from .conftest import DEMO_MESSAGE_COUNT


@pytest.mark.parametrize("index", [0, 3, DEMO_MESSAGE_COUNT - 1])
def test_fork_copies_messages_up_to_index(client: httpx2.Client, index: int) -> None:
    response = client.post(f"/api/sessions/{DEMO_SESSION_ID}/fork", json={"messageIndex": index, "title": "Branch"})
    fork = session_body(response, endpoints.FORK_SESSION.success_status)
    assert uuid.UUID(fork["id"]).version == 4
    assert fork["sessionType"] == "forked"
    assert fork["parentSessionId"] == DEMO_SESSION_ID
    assert fork["title"] == "Branch"
    source = export_body(client.get(f"/api/sessions/{DEMO_SESSION_ID}/export"))["messages"]
    copied = export_body(client.get(f"/api/sessions/{fork['id']}/export"))["messages"]
    assert len(copied) == index + 1
    strip = ("id",)
    assert [{k: v for k, v in m.items() if k not in strip} for m in copied] == [
        {k: v for k, v in m.items() if k not in strip} for m in source[: index + 1]
    ]
    assert not {m["id"] for m in copied} & {m["id"] for m in source}
    assert all(m["id"].startswith("msg_") for m in copied)
    assert fork["userMessageCount"] == sum(m["role"] == "user" for m in copied)
    assert fork["toolCallCount"] == sum(len(m.get("toolCalls", [])) for m in copied)
    assert fork["firstUserMessage"] == source[0]["content"]
    # The source keeps all its messages.
    assert len(source) == DEMO_MESSAGE_COUNT


def test_fork_title_defaults(client: httpx2.Client) -> None:
    response = client.post(f"/api/sessions/{MIGRATION_SESSION_ID}/fork", json={"messageIndex": 1})
    assert session_body(response, 201)["title"] == "Forked Session"


def test_fork_of_fork_points_at_its_direct_parent(client: httpx2.Client, demo_copy: str) -> None:
    response = client.post(f"/api/sessions/{demo_copy}/fork", json={"messageIndex": 2})
    assert session_body(response, 201)["parentSessionId"] == demo_copy


def test_rewind_keeps_messages_up_to_and_including_message_id(client: httpx2.Client, demo_copy: str) -> None:
    before = message_ids(client, demo_copy)
    response = client.post(f"/api/sessions/{demo_copy}/rewind", json={"messageId": before[5], "cleanupMedia": False})
    rewound = session_body(response, endpoints.REWIND_SESSION.success_status)
    assert rewound["id"] == demo_copy
    assert message_ids(client, demo_copy) == before[:6]
    messages = export_body(client.get(f"/api/sessions/{demo_copy}/export"))["messages"]
    assert rewound["assistantMessageCount"] == sum(m["role"] == "assistant" for m in messages)
    assert rewound["toolCallCount"] == sum(len(m.get("toolCalls", [])) for m in messages)
    # Rewinding to the last message changes nothing; the fork can then branch from the shorter transcript.
    again = session_body(client.post(f"/api/sessions/{demo_copy}/rewind", json={"messageId": before[5]}))
    assert again == rewound
    assert_error(
        client.post(f"/api/sessions/{demo_copy}/fork", json={"messageIndex": 6}),
        400,
        "validation_error",
        "messageIndex 6 is out of range: the session has 6 messages (valid: 0 to 5)",
    )


def test_rewind_to_first_message(client: httpx2.Client, demo_copy: str) -> None:
    first = message_ids(client, demo_copy)[0]
    rewound = session_body(client.post(f"/api/sessions/{demo_copy}/rewind", json={"messageId": first}))
    assert message_ids(client, demo_copy) == [first]
    assert rewound["userMessageCount"] == 1
    assert rewound["assistantMessageCount"] == 0


def test_rewind_rejects_message_of_another_session(client: httpx2.Client, demo_copy: str) -> None:
    foreign = message_ids(client, DEMO_SESSION_ID)[0]
    response = client.post(f"/api/sessions/{demo_copy}/rewind", json={"messageId": foreign})
    assert_error(response, 404, "not_found", f"Message not found in session: {foreign}")
    assert len(message_ids(client, demo_copy)) == DEMO_MESSAGE_COUNT


def test_fork_out_of_range(client: httpx2.Client) -> None:
    assert_error(
        client.post(f"/api/sessions/{DEMO_SESSION_ID}/fork", json={"messageIndex": DEMO_MESSAGE_COUNT}),
        400,
        "validation_error",
        f"messageIndex {DEMO_MESSAGE_COUNT} is out of range: the session has {DEMO_MESSAGE_COUNT} messages "
        f"(valid: 0 to {DEMO_MESSAGE_COUNT - 1})",
    )
    assert_error(
        client.post(f"/api/sessions/{EMPTY_SESSION_ID}/fork", json={"messageIndex": 0}),
        400,
        "validation_error",
        "messageIndex 0 is out of range: the session has no messages",
    )
