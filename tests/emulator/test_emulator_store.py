"""The store and seeds without HTTP: seeding rules, derived numbers, lookup failures."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest

from mix_mcp.emulator import SEED_SESSION_IDS, SessionStore, seed_demo_data, seed_large_session
from mix_mcp.emulator.store import (
    MessageIndexError,
    MessageNotFoundError,
    NewMessage,
    SessionNotFoundError,
    format_timestamp,
)
from mix_mcp.mix.models import ExportSession, SessionData


@pytest.fixture
def store() -> Iterator[SessionStore]:
    opened = SessionStore()
    try:
        yield opened
    finally:
        opened.close()


def test_seed_only_into_an_empty_store(store: SessionStore) -> None:
    assert store.is_empty()
    assert seed_demo_data(store) is True
    assert seed_demo_data(store) is False
    listed = store.list_sessions(include_subagents=True)
    assert [s["id"] for s in listed] == list(SEED_SESSION_IDS)
    for session in listed:
        SessionData.model_validate(session)


def test_seeds_are_deterministic() -> None:
    first, second = SessionStore(), SessionStore()
    try:
        seed_demo_data(first)
        seed_demo_data(second)
        for session_id in SEED_SESSION_IDS:
            assert first.export_session(session_id) == second.export_session(session_id)
            assert first.get_session(session_id) == second.get_session(session_id)
    finally:
        first.close()
        second.close()


def test_large_session_sizes(store: SessionStore) -> None:
    session_id = seed_large_session(store, messages=11, content_bytes=300)
    export = ExportSession.model_validate_json(store.export_session(session_id))
    assert len(export.messages) == 11
    assert all(len(m.content.encode()) == 300 for m in export.messages)
    assert [m.role for m in export.messages[:3]] == ["user", "assistant", "user"]
    session = store.get_session(session_id)
    assert session["userMessageCount"] == 6
    assert session["assistantMessageCount"] == 5
    assert session["toolCallCount"] == 5
    assert session["promptTokens"] == 5_000
    with pytest.raises(ValueError, match=">= 0"):
        seed_large_session(store, messages=-1)


def test_cost_sum_is_rounded(store: SessionStore) -> None:
    session_id = store.create_session(title="costs")["id"]
    stamp = format_timestamp(datetime.now(UTC))
    store.add_messages(
        session_id,
        [NewMessage(role="assistant", content="a", created_at=stamp, cost=0.1) for _ in range(3)],
    )
    assert store.get_session(session_id)["cost"] == 0.3


def test_lookup_failures(store: SessionStore) -> None:
    seed_demo_data(store)
    with pytest.raises(SessionNotFoundError, match="Session not found: nope"):
        store.get_session("nope")
    with pytest.raises(SessionNotFoundError):
        store.add_messages("nope", [])
    with pytest.raises(SessionNotFoundError):
        store.export_session("nope")
    with pytest.raises(MessageNotFoundError, match="Message not found in session: msg_nope"):
        store.rewind_session(SEED_SESSION_IDS[0], message_id="msg_nope")
    with pytest.raises(MessageIndexError) as too_far:
        store.fork_session(SEED_SESSION_IDS[0], message_index=500, title="x")
    assert too_far.value.count == store.message_count(SEED_SESSION_IDS[0])


def test_timestamps_are_utc_with_z_and_fixed_width() -> None:
    moment = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    assert format_timestamp(moment) == "2025-01-02T01:04:05.000Z"
