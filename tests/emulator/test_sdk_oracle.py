"""Mix's official SDK against ``mix-mcp emulator --mix-version 2026-02``: the emulator as a third party reads it.

The SDK (``mix-python-sdk``, generated from the Feb 2026 contract) calls every operation the emulator
serves and parses every answer with its own models; its own stream loops (``helpers.query`` and the
event stream it builds on) follow a plain run, a permission run and a question run to ``complete``.
Each JSON answer is also fetched raw and checked with the SDK's models directly, including for fields
the models do not know (which they would otherwise ignore), so a 2026-02 answer that stops validating
fails here, whoever changed it.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any, Final, cast

import httpx2
import pytest
from mix_python_sdk import Mix, errors, models
from mix_python_sdk.helpers import query
from mix_python_sdk.utils.eventstreaming import EventStreamAsync
from pydantic import BaseModel

from mix_mcp.emulator import (
    DEMO_SESSION_ID,
    FORKED_SESSION_ID,
    SUBAGENT_SESSION_ID,
    BackgroundEmulator,
    SessionStore,
    seed_demo_data,
)
from tests.support import running_emulator

from ._sdk import EVENT_MODELS, check_answer, check_event

BROWSER: Final = "local-browser-service"
FULL_TESTS = os.environ.get("MIX_MCP_FULL_TESTS") == "1"


@pytest.fixture(scope="module")
def mix_url() -> Iterator[str]:
    """A real ``mix-mcp emulator`` process playing the Feb 2026 Mix, its agent at full speed."""
    with running_emulator("--mix-version", "2026-02", "--agent-step-delay", "0") as url:
        yield url


@pytest.fixture
def mix(mix_url: str) -> Iterator[Mix]:
    """The SDK, without its retries (a refusal must show at once) and with a bounded timeout."""
    with Mix(server_url=mix_url, retry_config=None, timeout_ms=10_000) as sdk:
        yield sdk


@pytest.fixture
def raw(mix_url: str) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=mix_url, timeout=10.0) as http:
        yield http


def _json(response: httpx2.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def _new_session(mix: Mix, title: str) -> str:
    return mix.sessions.create(title=title, browser_mode=BROWSER).id


def test_sessions_as_the_sdk_reads_them(mix: Mix, raw: httpx2.Client) -> None:
    listed = mix.sessions.list(include_subagents=True)
    ids = [s.id for s in listed]
    assert DEMO_SESSION_ID in ids and SUBAGENT_SESSION_ID in ids
    assert FORKED_SESSION_ID not in ids, "a Mix without a fork route holds no forked session"
    assert {s.session_type for s in listed} == {"main", "subagent"}
    check_answer(models.SessionData, _json(raw.get("/api/sessions", params={"includeSubagents": "true"})))

    callbacks = [
        models.Callback(tool_name="*", type="send_message", message_content="Run the tests."),
        models.Callback(tool_name="Bash", type="bash_script", bash_command="make lint", exclude_from_context=True),
        models.Callback(tool_name="Write", type="sub_agent", sub_agent_prompt="Review the change."),
    ]
    created = mix.sessions.create(
        title="SDK oracle",
        browser_mode=BROWSER,
        prompt_mode="append",
        custom_system_prompt="Be brief.",
        callbacks=callbacks,
    )
    assert created.session_type == "main" and created.browser_mode == BROWSER
    assert [c.type for c in created.callbacks or []] == ["send_message", "bash_script", "sub_agent"]
    fetched = mix.sessions.get(id=created.id)
    assert fetched.id == created.id and fetched.title == "SDK oracle"
    check_answer(models.SessionData, _json(raw.get(f"/api/sessions/{created.id}")))

    # The SDK sends every callback with its defaults, excludeFromContext: false on send_message included.
    updated = mix.sessions.update_session_callbacks(id=created.id, callbacks=callbacks[:1])
    assert [c.message_content for c in updated.callbacks or []] == ["Run the tests."]
    cleared = mix.sessions.update_session_callbacks(id=created.id, callbacks=[])
    assert not cleared.callbacks

    exported = mix.sessions.export_session(id=DEMO_SESSION_ID).result
    assert exported.id == DEMO_SESSION_ID and exported.messages
    assert any(call.result for m in exported.messages for call in m.tool_calls or [])
    check_answer(models.ExportSession, _json(raw.get(f"/api/sessions/{DEMO_SESSION_ID}/export")))
    history = mix.messages.list_session(id=DEMO_SESSION_ID)
    assert [m.id for m in history] == [m.id for m in exported.messages]
    check_answer(models.BackendMessage, _json(raw.get(f"/api/sessions/{DEMO_SESSION_ID}/messages")))

    mix.sessions.delete(id=created.id)
    with pytest.raises(errors.ErrorResponse) as gone:
        mix.sessions.get(id=created.id)
    assert gone.value.data.error.type == "not_found" and gone.value.data.error.code == 404


def test_health_and_refusals_parse_as_the_sdk_expects(mix: Mix, raw: httpx2.Client) -> None:
    health = mix.system.get_health()
    assert health.status == "healthy" and "2026-02" in (health.version or "")
    check_answer(models.HealthCheckResponse, _json(raw.get("/health")))
    with pytest.raises(errors.ErrorResponse) as refused:
        mix.sessions.create(title="", browser_mode=BROWSER)
    assert refused.value.data.error.type == "validation_error"
    with pytest.raises(errors.ErrorResponse) as missing:
        mix.permissions.grant(id="perm_nope")
    assert missing.value.data.error.code == 404
    with pytest.raises(errors.ErrorResponse) as unknown:
        mix.notifications.respond_to_notification(id="notif_nope", type_="choice", value="yes")
    assert unknown.value.data.error.type == "not_found"


@asynccontextmanager
async def _async_mix(url: str) -> AsyncIterator[Mix]:
    async with Mix(server_url=url, retry_config=None, timeout_ms=10_000) as sdk:
        yield sdk


async def _replayed(mix: Mix, session_id: str, runs: int) -> list[Any]:
    """The session's whole log, read again through the SDK's event stream until its ``runs``-th top-level complete."""
    stream = await mix.streaming.stream_events_async(session_id=session_id, last_event_id="0")
    events: list[Any] = []
    async with cast("EventStreamAsync[Any]", stream.result) as event_stream:
        async for event in event_stream:
            events.append(event)
            if isinstance(event, models.SSECompleteEvent) and event.data.parent_tool_call_id is None:
                runs -= 1
                if runs == 0:
                    break
    return events


def _checked(events: list[Any]) -> list[str]:
    """Every event is one of the SDK's models, with no field it lacks and an id of its own; returns the kinds."""
    ids = [event.id for event in events]
    assert len(set(ids)) == len(ids), f"event ids repeat: {ids}"
    kinds: list[str] = []
    for event in events:
        assert isinstance(event, tuple(EVENT_MODELS.values())), type(event)
        dumped = cast("BaseModel", event).model_dump(by_alias=True, exclude_unset=True)
        check_event(dumped["id"], dumped["event"], dumped["data"])
        kinds.append(dumped["event"])
    return kinds


@pytest.mark.anyio
async def test_the_sdk_stream_loop_follows_a_plain_run_and_a_permission_run(mix_url: str) -> None:
    async with _async_mix(mix_url) as mix:
        session_id = (await mix.sessions.create_async(title="SDK runs", browser_mode=BROWSER)).id
        plain = [event.type async for event in query(mix, session_id, "hello")]
        assert plain[-1] == "complete" and "content" in plain
        assert {"tool_execution_start", "tool_execution_complete"} <= set(plain)

        seen: list[str] = []
        async for event in query(mix, session_id, "run: make test"):
            seen.append(event.type)
            if event.type == "permission":
                granted = await mix.permissions.grant_async(id=event.data.id)
                assert granted.granted is True
        assert seen[-1] == "complete" and "permission" in seen
        finished = [
            e for e in await _replayed(mix, session_id, 2) if isinstance(e, models.SSEToolExecutionCompleteEvent)
        ]
        assert [e.data.success for e in finished] == [True, True]

        messages = await mix.messages.list_session_async(id=session_id)
        calls = [call for m in messages for call in m.tool_calls or []]
        assert [(c.name, c.result) for c in calls] == [
            ("ReadText", "# Demo project\nHello."),
            ("Bash", "(pretend output of make test)"),
        ]
        kinds = _checked(await _replayed(mix, session_id, 2))
        assert kinds.count("complete") == 2 and kinds[0] == "connected"
        for kind in ("tool_use_start", "tool_use_parameter_delta", "tool_use_parameter_streaming_complete"):
            assert kind in kinds


@pytest.mark.anyio
async def test_the_sdk_stream_loop_follows_a_question_run(mix_url: str) -> None:
    async with _async_mix(mix_url) as mix:
        session_id = (await mix.sessions.create_async(title="SDK question", browser_mode=BROWSER)).id
        stream = await mix.streaming.stream_events_async(session_id=session_id)
        events: list[Any] = []
        async with cast("EventStreamAsync[Any]", stream.result) as event_stream:
            sent = await mix.messages.send_async(
                id=session_id, text="ask: Which database? postgres, sqlite", max_steps=3, thinking_level="medium"
            )
            assert sent.session_id == session_id and sent.status == "processing"
            async for event in event_stream:
                events.append(event)
                if isinstance(event, models.SSENotificationEvent):
                    assert event.data.notification_type == "question" and event.data.response_type == "choice"
                    assert event.data.choices == ["postgres", "sqlite"] and event.data.timeout > 0
                    await mix.notifications.respond_to_notification_async(
                        id=event.data.id, type_="choice", value="sqlite"
                    )
                if isinstance(event, models.SSECompleteEvent):
                    break
        kinds = _checked(events)
        assert kinds[0] == "connected" and "notification" in kinds
        assert events[-1].data.content == "You chose sqlite." and events[-1].data.done is True


def test_messages_cancel_deny_and_rewind_through_the_sdk(mix: Mix, raw: httpx2.Client) -> None:
    session_id = _new_session(mix, "SDK controls")
    sent = mix.messages.send(id=session_id, text="run: rm -rf build", plan_mode=False, thinking_level=None)
    assert sent.status == "processing"
    cancelled = mix.sessions.cancel_processing(id=session_id)
    assert cancelled.cancelled is True
    assert mix.sessions.cancel_processing(id=session_id).cancelled is False
    check_answer(models.CancelSessionProcessingResponse, _json(raw.post(f"/api/sessions/{session_id}/cancel")))

    mix.messages.send(id=session_id, text="run: ls", max_steps=1, thinking_level="off")
    permission_id = _permission_for(raw, session_id, "ls")
    assert isinstance(permission_id, str)
    assert mix.permissions.deny(id=permission_id).denied is True

    messages = _wait_for_answers(mix, session_id, 1)
    assert [m.role for m in messages] == ["user", "user", "assistant"], "a cancelled run stores no answer"
    assert messages[-1].tool_calls and messages[-1].tool_calls[0].result == "Permission denied by the user"
    first_user = messages[0].id
    rewound = mix.sessions.rewind_session(id=session_id, message_id=first_user, cleanup_media=False)
    assert rewound.user_message_count == 1 and rewound.assistant_message_count == 0
    check_answer(
        models.SessionData, _json(raw.post(f"/api/sessions/{session_id}/rewind", json={"messageId": first_user}))
    )


def _permission_for(raw: httpx2.Client, session_id: str, command: str) -> str:
    """The id of the permission the session's run asks for ``command`` (read from the start of its log)."""
    with raw.stream("GET", "/stream", params={"sessionId": session_id}, headers={"Last-Event-ID": "0"}) as stream:
        kind = ""
        for line in stream.iter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: ") and kind == "permission":
                data = json.loads(line.removeprefix("data: "))
                permission = check_event("0", kind, data)
                if data["params"]["command"] == command:
                    return str(permission.data.id)
    raise AssertionError(f"no permission asked for {command!r}")


def _wait_for_answers(mix: Mix, session_id: str, count: int) -> list[models.BackendMessage]:
    """The session's messages once ``count`` assistant answers are stored (bounded: 5 s)."""
    deadline = time.monotonic() + 5
    while True:
        messages = mix.messages.list_session(id=session_id)
        if sum(m.role == "assistant" for m in messages) >= count or time.monotonic() > deadline:
            return messages
        time.sleep(0.05)


def test_session_files_as_the_sdk_reads_them(mix: Mix, raw: httpx2.Client) -> None:
    """Strict under MIX_MCP_FULL_TESTS=1; otherwise skipped while this build has no files routes."""
    session_id = _new_session(mix, "SDK files")
    probe = raw.get(f"/api/sessions/{session_id}/files")
    if probe.status_code == 404 and not FULL_TESTS:
        pytest.skip("files routes not in this build")
    check_answer(models.FileInfo, _json(probe))
    uploaded = mix.files.upload_session_file(
        id=session_id, file=models.File(file_name="notes.txt", content=b"hello files", content_type="text/plain")
    )
    assert uploaded.name == "notes.txt" and uploaded.size == len(b"hello files") and not uploaded.is_dir
    listed = mix.files.list_session_files(id=session_id)
    assert "notes.txt" in [f.name for f in listed]
    check_answer(models.FileInfo, _json(raw.get(f"/api/sessions/{session_id}/files")))
    content = mix.files.get_session_file(id=session_id, filename="notes.txt")
    assert content.content == b"hello files"
    mix.files.delete_session_file(id=session_id, filename="notes.txt")
    assert "notes.txt" not in [f.name for f in mix.files.list_session_files(id=session_id)]


def test_a_fork_left_in_the_db_by_another_version_reads_as_a_main_session() -> None:
    """A store seeded as an older Mix (with its forked session) served as Feb 2026: no 'forked' reaches the SDK."""
    store = SessionStore(":memory:")
    try:
        seed_demo_data(store, forked=True)
        with (
            BackgroundEmulator(mix_version="2026-02", store=store) as emulator,
            Mix(server_url=emulator.url, retry_config=None, timeout_ms=10_000) as mix,
            httpx2.Client(base_url=emulator.url, timeout=10.0) as raw,
        ):
            fork = mix.sessions.get(id=FORKED_SESSION_ID)
            assert fork.session_type == "main" and fork.parent_session_id is None
            listed = mix.sessions.list()
            assert FORKED_SESSION_ID in [s.id for s in listed] and {s.session_type for s in listed} == {"main"}
            check_answer(models.SessionData, _json(raw.get("/api/sessions")))
    finally:
        store.close()
