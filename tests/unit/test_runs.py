"""Folding a run's contract events into its result, the progress rate limit, the SSE decoder, the user's answers."""

from __future__ import annotations

from typing import Any

import mcp_types as types
import pytest

from mix_mcp.mix.events import MAX_EVENT_BYTES, SSEDecoder, StreamEvent, StreamFormatError
from mix_mcp.tools.permissions import decision, question
from mix_mcp.tools.runs import questions
from mix_mcp.tools.runs.follow import follow_call
from mix_mcp.tools.runs.progress import RunProgress
from mix_mcp.tools.runs.record import MAX_ANSWER_CHARS, RunRecord


def event(kind: str, **data: Any) -> StreamEvent:
    return StreamEvent(None, kind, data)


def test_a_run_folds_into_its_answer_tools_sub_agents_and_timing() -> None:
    record = RunRecord()
    for item in (
        event("user_message_created", messageId="u1", content="hi"),
        event("thinking", content="hm"),
        event("tool_use_start", id="t1", name="Bash", assistantMessageId="m1"),
        event("tool_use_parameter_delta", toolCallId="t1", input='{"comm'),
        event("tool_use_parameter_delta", toolCallId="t1", input='and":"ls"}'),
        event("tool_execution_start", toolName="Bash", toolCallId="t1", progress="Running"),
        event("tool_execution_complete", toolName="Bash", toolCallId="t1", success=True, progress="exit 0"),
        event("content", content="Hel", assistantMessageId="m1"),
        event("content", content="lo", assistantMessageId="m1"),
        event("tool_use_start", id="s1", name="Read", parentToolCallId="t9"),
        event("content", content="sub", parentToolCallId="t9"),
        event("complete", done=True, type="complete", parentToolCallId="t9"),
    ):
        record.apply(item)
    assert record.status == "running", "a sub-agent's complete does not end the run"
    assert record.text == "Hello" and record.message_id == "m1", "a sub-agent's text stays out of the answer"
    assert record.sub_agents["t9"] == {
        "parent_tool_call_id": "t9",
        "events": 3,
        "tools": ["Read"],
        "text": "sub",
        "finished": True,
    }
    assert record.tool_calls["t1"]["input"] == '{"command":"ls"}', "the input is assembled from the deltas"
    record.apply(
        event("complete", done=True, messageId="m1", content="Hello!", reasoning="because", reasoningDuration=42)
    )
    assert (record.status, record.text, record.reasoning, record.reasoning_duration_ms) == (
        "completed",
        "Hello!",
        "because",
        42,
    )
    record.attach_outputs(
        [
            {"id": "u1", "role": "user", "userInput": "hi"},
            {
                "id": "m1",
                "role": "assistant",
                "toolCalls": [
                    {"id": "t1", "name": "Bash", "input": "{}", "type": "tool", "finished": True, "result": "a b"},
                    {"id": "t2", "name": "Read", "input": '{"p":1}', "type": "tool", "finished": True, "result": "x"},
                ],
            },
        ]
    )
    assert record.tool_calls["t1"] == {
        "id": "t1",
        "name": "Bash",
        "status": "succeeded",
        "input": '{"command":"ls"}',
        "progress": "exit 0",
        "output": "a b",
        "is_error": None,
    }
    assert record.tool_calls["t2"]["output"] == "x", "a call the stream did not show comes from the stored message"
    assert RunRecord.from_state(record.state()) == record, "the record survives a request state round trip"


def test_the_complete_input_wins_and_session_deleted_ends_the_run() -> None:
    record = RunRecord()
    record.apply(event("tool_use_start", id="t1", name="Write"))
    record.apply(event("tool_use_parameter_delta", toolCallId="t1", input='{"pa'))
    record.apply(event("tool_use_parameter_streaming_complete", id="t1", name="Write", input='{"path":"a"}'))
    assert record.tool_calls["t1"]["input"] == '{"path":"a"}'
    record.apply(event("session_deleted", sessionId="s"))
    assert record.status == "session_deleted"


def test_a_question_waits_for_the_user_and_news_does_not() -> None:
    record = RunRecord()
    common = {"sessionId": "s", "title": "T", "message": "M", "timeout": 30, "createdAt": 1}
    record.apply(event("notification", id="n0", notificationType="info", responseType="acknowledge", **common))
    assert record.status == "running" and record.notifications[0]["answer"] == "none needed"
    record.apply(
        event("notification", id="n1", notificationType="question", responseType="choice", choices=["a", "b"], **common)
    )
    pending = record.pending_question
    assert record.status == "question_pending" and pending is not None and pending["choices"] == ["a", "b"]
    assert questions.schema(pending)["properties"]["answer"]["enum"] == ["a", "b"]
    chosen = types.ElicitResult(action="accept", content={"answer": "b"})
    assert questions.response(pending, chosen) == {"type": "choice", "value": "b"}
    assert questions.response(pending, types.ElicitResult(action="accept", content={"answer": "z"})) is None
    assert questions.response(pending, types.ElicitResult(action="decline")) is None, "never answered for the user"
    record.question_answered("n1", "user")
    assert record.status == "running" and record.pending_question is None


def test_next_calls_are_always_accepted_by_follow_run() -> None:
    good, note = follow_call("s", "41")
    assert good.model_dump() == {"tool": "follow_run", "arguments": {"session_id": "s", "after_event_id": "41"}}
    assert note is None
    for unusable in (None, "x" * 300, "has space"):
        call, note = follow_call("s", unusable)
        assert call.arguments == {"session_id": "s"} and note is not None and "left out" in note


def test_errors_with_retry_after_are_reported_and_the_run_goes_on() -> None:
    record = RunRecord()
    record.apply(event("error", error="rate limited", type="rate_limit", retryAfter=2000, attempt=1, maxAttempts=3))
    assert record.status == "running" and "retries in 2 s" in record.phase
    assert record.errors == [
        {"error": "rate limited", "type": "rate_limit", "retry_after_ms": 2000, "attempt": 1, "max_attempts": 3}
    ]
    record.apply(event("error", error="model unavailable"))
    assert record.status == "failed"
    cancelled = RunRecord()
    cancelled.apply(event("error", error="Processing was cancelled", type="cancelled"))
    assert cancelled.status == "cancelled"


def test_the_answer_is_bounded() -> None:
    record = RunRecord()
    for _ in range(3):
        record.apply(event("content", content="x" * (MAX_ANSWER_CHARS // 2)))
    assert len(record.text) == MAX_ANSWER_CHARS and record.text_truncated


def test_a_permission_event_is_pending_until_answered() -> None:
    record = RunRecord()
    record.apply(
        event(
            "permission",
            id="p1",
            sessionId="s",
            toolName="Bash",
            description="run rm",
            action="execute",
            params={"command": "rm -rf build"},
        )
    )
    pending = record.pending_permission
    assert record.status == "permission_pending" and pending is not None and pending["command"] == "rm -rf build"
    text = question("s", pending["raw"])
    assert "Tool: Bash" in text and "Command: rm -rf build" in text and "Description: run rm" in text
    record.answered("p1", False, "user")
    assert record.status == "running" and record.pending_permission is None
    assert record.permissions[0]["answer"] == "denied"


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (types.ElicitResult(action="accept", content={"grant": True}), True),
        (types.ElicitResult(action="accept", content={"grant": False}), False),
        (types.ElicitResult(action="accept", content={}), False),
        (types.ElicitResult(action="decline"), False),
        (types.ElicitResult(action="cancel"), None),
        ({"action": "accept", "content": {"grant": True}}, None),
        (None, None),
    ],
)
def test_only_an_explicit_yes_grants(answer: Any, expected: bool | None) -> None:
    assert decision(answer) is expected


@pytest.mark.anyio
async def test_progress_reports_each_phase_change_and_coalesces_repeats() -> None:
    sent: list[str] = []

    async def sink(_value: float, message: str) -> None:
        sent.append(message)

    progress = RunProgress(sink)
    record = RunRecord()
    for item in [event("thinking", content="a")] * 3 + [event("content", content="b")] * 50:
        record.apply(item)
        await progress.update(record)
    assert sent == ["thinking", "writing the answer"]


def test_the_decoder_follows_the_event_stream_rules() -> None:
    decoder = SSEDecoder()
    chunks = [
        b": comment\r\nid: 1\r",
        b'\nevent: content\ndata: {"a":',
        b" 1}\n\nretry: 1500\ndata: plain\n",
        b"data: two\r\r\n",
    ]
    events = [e for chunk in chunks for e in decoder.feed(chunk)]
    assert events == [
        StreamEvent("1", "content", {"a": 1}),
        StreamEvent("1", "message", {"raw": "plain\ntwo"}, own_id=False),
    ]
    assert decoder.retry == 1.5 and decoder.last_event_id == "1"
    assert decoder.feed(b"id: 2\n\n") == [] and decoder.last_event_id == "2", "an id alone moves the resume point"


def test_the_decoder_refuses_an_event_over_its_bound() -> None:
    decoder = SSEDecoder()
    lines = (b"data: " + b"x" * 1000 + b"\n") * (MAX_EVENT_BYTES // 1000 + 2)
    with pytest.raises(StreamFormatError, match="larger than"):
        decoder.feed(lines)
