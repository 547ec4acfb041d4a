"""Issue 20 (and issue 19's run follower) at the tool level: a real MCP client, the real server over stdio,
and the hostile fake Mix on loopback.

What each test pins: a failure before the message left says it was NOT sent and that a retry is safe
(and no message POST happened); a failure after it left says it WAS sent, gives the exact follow_run
and list_messages calls, and nothing is posted twice; every next call handed out is accepted by the
tool it names; a busy session reads as such; the contract's events give the tool calls their input,
Mix's stored message their output; questions reach the user or wait for answer_notification.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.session import ClientRequestContext

from mix_mcp.mix.stream_limits import MAX_EVENT_ID_CHARS, MAX_LINE_BYTES
from tests.faults.hostile_mix import SID, Events, Flood, HostileMix, Trickle, connected, hostile_mix, sse
from tests.faults.upstream import Action, Exchange, FaultUpstream, Stall
from tests.support import PROTOCOL_MODES, SchemaChecker, stdio_client_for, text_of

CONTENT = b'event: content\ndata: {"type":"content","content":"flood"}\n\n'
FAST = ("--timeout", "20", "--read-timeout", "2", "--run-wait", "2")


@asynccontextmanager
async def served(upstream: FaultUpstream, *flags: str, mode: str = "auto", elicit: Any = None) -> AsyncIterator[Client]:
    client = stdio_client_for("--base-url", upstream.url, *FAST, *flags, mode=mode)
    client.elicitation_callback = elicit
    async with client:
        yield client


def posts(upstream: FaultUpstream) -> list[Any]:
    return [r.json() for r in upstream.since(0) if r.method == "POST" and r.path == f"/api/sessions/{SID}/messages"]


async def send(client: Client, **arguments: Any) -> types.CallToolResult:
    return await client.call_tool("send_message", {"session_id": SID, "text": "go", **arguments})


# ------------------------------------------------------------------------- before the message left


@pytest.mark.anyio
async def test_a_flood_without_connected_fails_fast_and_nothing_is_sent() -> None:
    with hostile_mix(Flood(CONTENT)) as (upstream, _mix):
        async with served(upstream) as client:
            started = time.monotonic()
            result = await send(client)
            elapsed = time.monotonic() - started
        text = text_of(result)
        assert result.is_error and "NOT sent" in text and "again is safe" in text, text
        assert "WAS sent" not in text and "may still be going on" not in text
        assert posts(upstream) == []
    assert elapsed < 10, f"send_message took {elapsed:.1f} s against a flood (--timeout 20)"


@pytest.mark.anyio
@pytest.mark.parametrize(
    "stream",
    [Trickle(b": alive\n", interval=0.2), Events(b"", hold=30)],
    ids=["comments-without-connected", "headers-then-nothing"],
)
async def test_a_stream_that_never_confirms_says_the_message_was_not_sent(stream: Action) -> None:
    with hostile_mix(stream) as (upstream, _mix):
        async with served(upstream) as client:
            started = time.monotonic()
            result = await send(client)
            elapsed = time.monotonic() - started
        text = text_of(result)
        assert result.is_error and "NOT sent" in text and "again is safe" in text, text
        assert posts(upstream) == []
    assert elapsed < 8, "bounded by the run wait (2 s) and the read timeout, not by --timeout 20"


# -------------------------------------------------------------------------- after the message left


def long_line() -> Action:
    return Events(sse(connected("1")) + b"data: " + b"x" * (MAX_LINE_BYTES + 10) + b"\n\n", hold=5)


@pytest.mark.anyio
@pytest.mark.parametrize(
    "make_stream",
    [
        long_line,
        lambda: Flood(b"x", prefix=sse(connected("1"))),  # a line that never ends
        lambda: Flood(b"data: " + b"y" * 1000 + b"\n", prefix=sse(connected("1"))),  # an event without end
        lambda: Events(sse(connected("1"), ("2", "heartbeat", {}))),  # heartbeat, close, again and again
    ],
    ids=["long-line", "endless-line", "endless-event", "heartbeat-then-close"],
)
async def test_a_stream_broken_after_sending_says_it_was_sent_and_how_to_look(make_stream: Any) -> None:
    with hostile_mix(make_stream()) as (upstream, _mix):
        async with served(upstream, "--run-wait", "15") as client:
            result = await send(client)
        text = text_of(result)
        assert result.is_error and "WAS sent" in text and "Do NOT send it again" in text, text
        assert f'follow_run with arguments {{"session_id": "{SID}"' in text and "list_messages" in text
        assert len(posts(upstream)) == 1, "sent exactly once"
        opened = sum(1 for r in upstream.since(0) if r.path == "/stream")
        assert opened <= 1 + 5, "reopenings are bounded; heartbeats do not reset the count"


@pytest.mark.anyio
async def test_next_arguments_are_always_accepted_by_follow_run() -> None:
    long_id = "z" * (MAX_EVENT_ID_CHARS + 10)
    scenarios = [
        (sse(connected(long_id), (long_id, "thinking", {"content": "x"})), {"session_id": SID}),
        (sse(connected(None), (None, "thinking", {"content": "x"})), {"session_id": SID}),
        (sse(connected("5"), ("6", "thinking", {"content": "x"})), {"session_id": SID, "after_event_id": "6"}),
    ]
    with hostile_mix() as (upstream, mix):
        async with served(upstream, "--run-wait", "1") as client:
            checker = SchemaChecker(await client.list_tools())
            for body, expected in scenarios:
                mix.streams = [Events(body, hold=30), Events(sse(connected("7")), hold=30)]
                result = checker.check("send_message", await send(client))
                following = result["next_arguments"]
                assert result["status"] == "running" and following == {"tool": "follow_run", "arguments": expected}
                again = await client.call_tool(following["tool"], following["arguments"])
                assert not again.is_error, text_of(again)
                assert checker.check("follow_run", again)["next_arguments"]["tool"] == "follow_run"


# ------------------------------------------------------------------------------- what runs report


@pytest.mark.anyio
async def test_a_busy_session_says_so_and_names_follow_run_and_cancel_run() -> None:
    with hostile_mix(Events(sse(connected("1")), hold=30), busy=True) as (upstream, _mix):
        async with served(upstream) as client:
            result = await send(client)
    text = text_of(result)
    assert result.is_error and "still processing" in text, text
    assert "follow_run" in text and "cancel_run" in text and "Invalid arguments" not in text


STORED = [
    {"id": "u1", "sessionId": SID, "role": "user", "userInput": "go"},
    {
        "id": "m1",
        "sessionId": SID,
        "role": "assistant",
        "userInput": "",
        "assistantResponse": "Done.",
        "toolCalls": [
            {
                "id": "t1",
                "name": "Bash",
                "input": '{"command":"ls"}',
                "type": "tool_use",
                "finished": True,
                "result": "README.md\nsrc",
            },
        ],
    },
]
RUN = sse(
    connected("1"),
    ("2", "user_message_created", {"messageId": "u1", "content": "go"}),
    ("3", "tool_use_start", {"id": "t1", "name": "Bash", "assistantMessageId": "m1"}),
    ("4", "tool_use_parameter_delta", {"toolCallId": "t1", "input": '{"command":'}),
    ("5", "tool_use_parameter_delta", {"toolCallId": "t1", "input": '"ls"}'}),
    ("6", "tool_use_parameter_streaming_complete", {"id": "t1", "name": "Bash", "input": '{"command":"ls"}'}),
    ("7", "tool_execution_start", {"toolCallId": "t1", "toolName": "Bash", "progress": "Running Bash"}),
    ("8", "tool_execution_complete", {"toolCallId": "t1", "toolName": "Bash", "progress": "done", "success": True}),
    ("9", "tool_use_start", {"id": "s1", "name": "Read", "parentToolCallId": "t1"}),
    ("10", "content", {"content": "sub-agent text", "parentToolCallId": "t1"}),
    ("11", "content", {"content": "Do", "assistantMessageId": "m1"}),
    (None, "content", {"content": "ne.", "assistantMessageId": "m1"}),  # no id: kept, not a duplicate
    (None, "complete", {"done": True, "content": "Done.", "messageId": "m1", "reasoning": "r", "type": "complete"}),
)


@pytest.mark.anyio
async def test_a_run_gives_tool_input_from_the_stream_and_output_from_the_stored_message() -> None:
    # 1 MiB of comment lines first: a linear parser reads them in well under the wait.
    body = RUN.replace(b"\n\n", b"\n\n" + b": c\n" * 262_144, 1)
    with hostile_mix(Events(body, hold=30), stored=STORED) as (upstream, _mix):
        async with served(upstream, "--run-wait", "15") as client:
            checker = SchemaChecker(await client.list_tools())
            run = checker.check("send_message", await send(client, max_steps=3, thinking_level="off"))
            plain = checker.check("send_message", await send(client, max_steps=None, thinking_level=None))
    assert run["status"] == "completed" and run["text"] == "Done." and run["sent"] is True
    [call] = run["tool_calls"]
    assert call == {
        "id": "t1",
        "name": "Bash",
        "status": "succeeded",
        "input": '{"command":"ls"}',
        "progress": "done",
        "output": "README.md\nsrc",
        "is_error": None,
    }
    assert run["sub_agents"] == [
        {"parent_tool_call_id": "t1", "events": 2, "tools": ["Read"], "text": "sub-agent text", "finished": False}
    ]
    assert plain["status"] == "completed"
    assert posts(upstream) == [
        {"text": "go", "max_steps": 3, "thinking_level": "off"},
        {"text": "go"},
    ], "max_steps and thinking_level are sent when given, never otherwise"


def question(responses_type: str = "choice") -> bytes:
    data = {
        "id": "n1",
        "sessionId": SID,
        "notificationType": "question",
        "title": "Pick one",
        "message": "Which colour?",
        "responseType": responses_type,
        "choices": ["red", "blue"],
        "timeout": 60,
        "createdAt": 1,
    }
    return sse(connected("1"), ("2", "notification", data))


REST = sse(("3", "content", {"content": "Blue it is."}), ("4", "complete", {"done": True, "content": "Blue it is."}))


@dataclass
class AfterAnswer(Action):
    """Sends ``first``; once the fake Mix recorded an answer to a notification, sends ``then`` (legacy flow)."""

    mix: HostileMix
    first: bytes
    then: bytes

    async def apply(self, exchange: Exchange) -> bool:
        await Events(self.first).open(exchange)
        for _ in range(300):
            if self.mix.responses:
                exchange.writer.write(self.then)
                await exchange.writer.drain()
                return await Stall(30).apply(exchange)
            await anyio.sleep(0.05)
        return False


@pytest.mark.anyio
async def test_without_elicitation_a_question_returns_at_once_for_answer_notification() -> None:
    with hostile_mix(Events(question(), hold=30)) as (upstream, mix):
        async with served(upstream, "--run-wait", "15") as client:
            started = time.monotonic()
            pending = SchemaChecker(await client.list_tools()).check("send_message", await send(client))
            assert time.monotonic() - started < 10, "returns at the question, not at the end of the wait"
            assert pending["status"] == "question_pending"
            [asked] = pending["notifications"]
            assert (asked["id"], asked["choices"], asked["timeout_seconds"]) == ("n1", ["red", "blue"], 60)
            assert "answer_notification" in pending["next_step"] and "never answer for them" in pending["next_step"]
            assert mix.responses == [], "never answered on the user's behalf"
            answered = await client.call_tool(
                "answer_notification", {"notification_id": "n1", "value": "blue", "response_type": "choice"}
            )
            assert not answered.is_error, text_of(answered)
    assert mix.responses == [("n1", {"type": "choice", "value": "blue"})]


@pytest.mark.anyio
@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_a_question_is_put_to_the_user_by_elicitation(mode: str) -> None:
    asked: list[types.ElicitRequestFormParams] = []

    async def elicit(
        _context: ClientRequestContext, params: types.ElicitRequestParams
    ) -> types.ElicitResult | types.ErrorData:
        assert isinstance(params, types.ElicitRequestFormParams)
        asked.append(params)
        return types.ElicitResult(action="accept", content={"answer": "blue"})

    with hostile_mix() as (upstream, mix):
        mix.streams = [AfterAnswer(mix, question(), REST), Events(sse(connected("2")) + REST, hold=30)]
        async with served(upstream, "--run-wait", "15", mode=mode, elicit=elicit) as client:
            run = SchemaChecker(await client.list_tools()).check("send_message", await send(client))
    assert run["status"] == "completed" and run["text"] == "Blue it is.", run
    assert asked and asked[0].requested_schema["properties"]["answer"]["enum"] == ["red", "blue"]
    assert "Which colour?" in asked[0].message
    assert mix.responses == [("n1", {"type": "choice", "value": "blue"})]
    assert run["notifications"][0]["answered_by"] == "user"
    assert json.dumps(run).count("Blue it is.") == 1
