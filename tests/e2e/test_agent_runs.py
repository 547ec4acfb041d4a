"""Agent runs end to end: a real client, the real server (stdio or Streamable HTTP), the emulator's scripted agent.

The emulator runs in this process (``BackgroundEmulator``) so that tests can pace its agent, cut its
event stream once, and count the cancels it received; the MCP server is a separate process talking
real HTTP to it, the way an assistant runs it. Both protocol generations where the protocol matters:
legacy (elicitation is a server-to-client request) and 2026-07-28 (an ``InputRequiredResult`` the
client answers by calling again).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.session import ClientRequestContext

from mix_mcp.emulator import BackgroundEmulator
from mix_mcp.emulator.agent import DELTA_CHARS, QUESTION_TITLE, AgentSettings
from tests.support import PROTOCOL_MODES, SchemaChecker, running_server, stdio_client_for, text_of

TRANSPORTS = ["stdio", "http"]
HELLO_ANSWER = "You said: hello agent. I read README.md, which says hello."
READ_INPUT = json.dumps({"path": "README.md"})
#: Events of an ordinary run: user message, 3 thinking, tool_use_start, the input's deltas, streaming complete,
#: execution start and complete, one content event per word, complete.
HELLO_EVENTS = 1 + 3 + 1 + math.ceil(len(READ_INPUT) / DELTA_CHARS) + 1 + 2 + len(HELLO_ANSWER.split(" ")) + 1


@pytest.fixture(scope="module")
def emulator() -> Iterator[BackgroundEmulator]:
    with BackgroundEmulator(agent=AgentSettings(step_delay=0.01)) as running:
        yield running


@pytest.fixture(scope="module")
def feb_emulator() -> Iterator[BackgroundEmulator]:
    """A Mix of Feb 2026: agent questions, max_steps and thinking_level."""
    with BackgroundEmulator(mix_version="2026-02", agent=AgentSettings(step_delay=0.01)) as running:
        yield running


@pytest.fixture(autouse=True)
def fast_agent(emulator: BackgroundEmulator) -> None:
    emulator.agent.settings.step_delay = 0.01
    emulator.agent.settings.drop_stream_after = None


class Permissions:
    """An elicitation callback that answers permission questions with a fixed action, and records them."""

    def __init__(self, action: str, grant: bool = True) -> None:
        self.action, self.grant = action, grant
        self.questions: list[str] = []

    async def __call__(
        self, context: ClientRequestContext, params: types.ElicitRequestParams
    ) -> types.ElicitResult | types.ErrorData:
        assert isinstance(params, types.ElicitRequestFormParams)
        assert params.requested_schema["properties"]["grant"]["type"] == "boolean"
        self.questions.append(params.message)
        content = {"grant": self.grant} if self.action == "accept" else None
        return types.ElicitResult(action=self.action, content=content)  # type: ignore[arg-type]


@asynccontextmanager
async def connect(
    transport: str, emulator: BackgroundEmulator, mode: str, *flags: str, elicit: Permissions | Answers | None = None
) -> AsyncIterator[Client]:
    if transport == "stdio":
        client = stdio_client_for("--base-url", emulator.url, *flags, mode=mode)
        client.elicitation_callback = elicit
        async with client:
            yield client
        return
    with running_server("--transport", "http", "--base-url", emulator.url, *flags) as server:
        client = Client(server.url, mode=mode, read_timeout_seconds=60)
        client.elicitation_callback = elicit
        async with client:
            yield client


async def new_session(client: Client, title: str, **extra: str) -> str:
    created = await client.call_tool("create_session", {"title": title, **extra})
    assert created.structured_content is not None, text_of(created)
    session_id = created.structured_content["id"]
    assert isinstance(session_id, str)
    return session_id


async def eventually(predicate: Callable[[], bool], within: float = 30.0) -> bool:
    """Whether ``predicate`` holds within ``within`` seconds (checked every 50 ms, a bounded number of times)."""
    for _ in range(int(within / 0.05)):
        if predicate():
            return True
        await anyio.sleep(0.05)
    return predicate()


async def checked(client: Client, tool: str, arguments: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    checker = SchemaChecker(await client.list_tools())
    return checker.check(tool, await client.call_tool(tool, arguments, **kwargs))


@pytest.mark.anyio
@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_send_message_returns_the_answer_with_progress_and_export_shows_it(
    emulator: BackgroundEmulator, transport: str, mode: str
) -> None:
    reports: list[tuple[float, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        reports.append((progress, message))

    async with connect(transport, emulator, mode) as client:
        session_id = await new_session(client, f"Run {transport} {mode}")
        run = await checked(
            client, "send_message", {"session_id": session_id, "text": "hello agent"}, progress_callback=on_progress
        )
        assert run["status"] == "completed" and run["finished"] is True
        assert run["text"] == HELLO_ANSWER
        assert run["events"] == HELLO_EVENTS and run["reconnects"] == 0
        (call,) = run["tool_calls"]
        assert (call["name"], call["status"], call["input"]) == ("ReadText", "succeeded", READ_INPUT)
        assert call["output"] == "# Demo project\nHello.", "the output comes from Mix's stored message"
        assert run["sent"] is True and run["sub_agents"] == [] and run["notifications"] == []
        assert run["reasoning_duration_ms"] and run["reasoning_duration_ms"] > 0
        assert run["usage"]["prompt_tokens"] > 0 and run["usage"]["cost"] > 0
        assert run["next_arguments"] is None and run["permissions"] == [] and run["errors"] == []

        messages = [m for _, m in reports]
        for phase in ("thinking", "running tool ReadText", "writing the answer", "completed"):
            assert phase in messages
        assert len(reports) < run["events"], "content deltas are rate-limited, not one notification each"
        assert [v for v, _ in reports] == sorted(v for v, _ in reports)

        exported = await checked(client, "export_session", {"session_id": session_id})
        assert [(m["role"], m["content"]) for m in exported["messages"]] == [
            ("user", "hello agent"),
            ("assistant", HELLO_ANSWER),
        ]
        assert exported["messages"][1]["id"] == run["message_id"]
        listed = await checked(client, "list_messages", {"session_id": session_id, "roles": ["assistant"]})
        assert [m["assistantResponse"] for m in listed["messages"]] == [HELLO_ANSWER]
        assert listed["messages"][0]["index"] == 1


@pytest.mark.anyio
@pytest.mark.parametrize("mode", PROTOCOL_MODES)
@pytest.mark.parametrize(
    ("transport", "action", "grant"),
    [
        ("stdio", "accept", True),
        ("stdio", "decline", False),
        ("stdio", "accept", False),
        ("http", "accept", True),
        ("http", "decline", False),
    ],
    ids=["stdio-grant", "stdio-decline", "stdio-unticked", "http-grant", "http-decline"],
)
async def test_a_run_command_asks_the_user_and_does_what_they_said(
    emulator: BackgroundEmulator, transport: str, mode: str, action: str, grant: bool
) -> None:
    elicit = Permissions(action, grant)
    async with connect(transport, emulator, mode, elicit=elicit) as client:
        session_id = await new_session(client, f"Permission {action} {grant}")
        run = await checked(client, "send_message", {"session_id": session_id, "text": "run: ls -la"})
    assert run["status"] == "completed", run
    granted = action == "accept" and grant
    (question,) = elicit.questions
    assert session_id in question and "Bash" in question and "Command: ls -la" in question
    (permission,) = run["permissions"]
    assert permission["answer"] == ("granted" if granted else "denied") and permission["answered_by"] == "user"
    (call,) = run["tool_calls"]
    assert call["name"] == "Bash" and call["status"] == ("succeeded" if granted else "failed")
    if granted:
        assert run["text"] == "I ran `ls -la` and it printed (pretend output of ls -la)."
    else:
        assert run["text"] == "I did not run `ls -la`: the permission was denied."


@pytest.mark.anyio
@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_without_elicitation_the_permission_is_pending_until_answer_permission(
    emulator: BackgroundEmulator, mode: str
) -> None:
    async with connect("stdio", emulator, mode) as client:
        session_id = await new_session(client, "Pending permission")
        pending = await checked(client, "send_message", {"session_id": session_id, "text": "run: make test"})
        assert pending["status"] == "permission_pending" and pending["finished"] is False
        (permission,) = pending["permissions"]
        assert permission["answer"] == "pending" and permission["command"] == "make test"
        assert permission["id"] in pending["next_step"] and "answer_permission" in pending["next_step"]
        following = pending["next_arguments"]
        assert following["tool"] == "follow_run" and following["arguments"]["session_id"] == session_id
        assert "after_event_id" in following["arguments"]

        answered = await checked(client, "answer_permission", {"permission_id": permission["id"], "grant": True})
        assert answered["granted"] is True
        again = await client.call_tool("answer_permission", {"permission_id": permission["id"], "grant": True})
        assert again.is_error and "no longer pending" in text_of(again)

        done = await checked(client, "follow_run", following["arguments"])
        assert done["status"] == "completed" and done["sent"] is False
        assert done["text"] == "I ran `make test` and it printed (pretend output of make test)."
        exported = await checked(client, "export_session", {"session_id": session_id})
        assert [m["role"] for m in exported["messages"]] == ["user", "assistant"], "nothing was sent twice"


@pytest.mark.anyio
@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_a_cancelled_call_cancels_the_run_in_mix_once(
    emulator: BackgroundEmulator, transport: str, mode: str
) -> None:
    emulator.agent.settings.step_delay = 0.3
    started = anyio.Event()

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        if message == "thinking":
            started.set()

    async with connect(transport, emulator, mode) as client:
        session_id = await new_session(client, f"Cancelled {transport} {mode}")
        async with anyio.create_task_group() as group:

            async def call() -> None:
                await client.call_tool(
                    "send_message", {"session_id": session_id, "text": "a long task"}, progress_callback=on_progress
                )

            group.start_soon(call)
            with anyio.fail_after(30):
                await started.wait()
            group.cancel_scope.cancel()
        assert await eventually(lambda: emulator.agent.cancel_calls.get(session_id, 0) > 0)
        assert emulator.agent.cancel_calls.get(session_id) == 1
        assert await eventually(lambda: not emulator.agent.running(session_id))
        await anyio.sleep(1.0)
        assert emulator.agent.cancel_calls.get(session_id) == 1, "cancelled exactly once"
        listed = await checked(client, "list_messages", {"session_id": session_id})
        assert [m["role"] for m in listed["messages"]] == ["user"], "the run stopped before its answer"


@pytest.mark.anyio
async def test_cancel_run_reports_what_it_stopped_and_wait_false_returns_at_once(emulator: BackgroundEmulator) -> None:
    emulator.agent.settings.step_delay = 0.3
    async with connect("stdio", emulator, "auto") as client:
        session_id = await new_session(client, "Cancel tool")
        sent = await checked(client, "send_message", {"session_id": session_id, "text": "go", "wait": False})
        assert sent["status"] == "running" and sent["finished"] is False and sent["events"] == 0
        assert sent["next_arguments"] == {
            "tool": "follow_run",
            "arguments": {"session_id": session_id, "after_event_id": sent["last_event_id"]},
        }
        stopped = await checked(client, "cancel_run", {"session_id": session_id})
        assert stopped == {
            "session_id": session_id,
            "cancelled": True,
            "next_step": "The run was stopped; list_messages shows what it wrote before.",
        }
        followed = await checked(client, "follow_run", sent["next_arguments"]["arguments"])
        assert followed["status"] == "cancelled" and followed["finished"] is True
        idle = await checked(client, "cancel_run", {"session_id": session_id})
        assert idle["cancelled"] is False and "No run was in progress" in idle["next_step"]
    assert emulator.agent.cancel_calls[session_id] == 2


@pytest.mark.anyio
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_dropped_stream_resumes_from_last_event_id_without_loss_or_repeat(
    emulator: BackgroundEmulator, transport: str
) -> None:
    async with connect(transport, emulator, "auto") as client:
        session_id = await new_session(client, f"Dropped {transport}")
        emulator.agent.settings.drop_stream_after = 6
        run = await checked(client, "send_message", {"session_id": session_id, "text": "hello agent"})
    assert run["status"] == "completed" and run["reconnects"] == 1
    assert run["text"] == HELLO_ANSWER, "no content delta lost or repeated"
    assert run["events"] == HELLO_EVENTS
    opens = [resume for sid, resume in emulator.agent.stream_opens if sid == session_id]
    assert len(opens) == 2 and opens[0] is None and opens[1] is not None and opens[1].isdigit()


@pytest.mark.anyio
async def test_a_run_longer_than_the_wait_returns_unfinished_and_follow_run_resumes(
    emulator: BackgroundEmulator,
) -> None:
    emulator.agent.settings.step_delay = 0.25
    async with connect("stdio", emulator, "legacy") as client:
        session_id = await new_session(client, "Long run")
        first = await checked(
            client, "send_message", {"session_id": session_id, "text": "hello agent", "max_wait_seconds": 1}
        )
        assert first["status"] == "running" and first["finished"] is False
        assert 0 < first["events"] < HELLO_EVENTS
        assert "call follow_run with next_arguments.arguments" in first["next_step"]
        results = [first]
        for _ in range(10):
            following = results[-1]["next_arguments"]
            assert following["tool"] == "follow_run"
            results.append(await checked(client, "follow_run", following["arguments"]))
            if results[-1]["finished"]:
                break
    assert results[-1]["status"] == "completed"
    assert results[-1]["text"] == HELLO_ANSWER, "the complete event carries the whole answer"
    assert sum(r["events"] for r in results) == HELLO_EVENTS, "each follow reads every remaining event once"


@pytest.mark.anyio
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_by_default_a_call_returns_before_a_five_second_client_cuts_it(
    emulator: BackgroundEmulator, transport: str
) -> None:
    """openai-agents cuts a tool call after 5 s: the default run wait returns before, with follow_run."""
    emulator.agent.settings.step_delay = 0.5
    async with connect(transport, emulator, "auto") as client:
        session_id = await new_session(client, f"Default wait {transport}")
        started = time.monotonic()
        run = await checked(client, "send_message", {"session_id": session_id, "text": "hello agent"})
        elapsed = time.monotonic() - started
        assert run["status"] == "running" and run["next_arguments"]["tool"] == "follow_run"
        assert elapsed < 5, f"send_message took {elapsed:.1f} s with the default run wait"
        await checked(client, "cancel_run", {"session_id": session_id})


@pytest.mark.anyio
async def test_read_only_servers_publish_no_run_tools_and_bad_arguments_send_nothing(
    emulator: BackgroundEmulator,
) -> None:
    async with connect("stdio", emulator, "auto", "--read-only") as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert "list_messages" in names
        assert not names & {"send_message", "follow_run", "answer_permission", "answer_notification", "cancel_run"}
    async with connect("stdio", emulator, "auto") as client:
        session_id = await new_session(client, "Bad arguments")
        textless = await client.call_tool("send_message", {"session_id": session_id})
        assert textless.is_error and "text: required argument is missing" in text_of(textless)
        mixed = await client.call_tool("send_message", {"session_id": session_id, "text": "x", "after_event_id": "1"})
        assert mixed.is_error and "after_event_id: unknown argument" in text_of(mixed)
        missing = await client.call_tool("send_message", {"session_id": "no-such-session", "text": "x"})
        assert missing.is_error and "list_sessions" in text_of(missing)
        listed = await checked(client, "list_messages", {"session_id": session_id})
        assert listed["messages"] == []


@pytest.mark.anyio
async def test_confirm_destructive_keeps_a_grant_from_a_client_that_cannot_ask(emulator: BackgroundEmulator) -> None:
    """Under --confirm-destructive, answer_permission is confirmed by the user like delete_session: never blind."""
    async with connect("stdio", emulator, "auto", "--confirm-destructive") as client:
        session_id = await new_session(client, "Confirmed grant")
        pending = await checked(client, "send_message", {"session_id": session_id, "text": "run: deploy"})
        (permission,) = pending["permissions"]
        refused = await client.call_tool("answer_permission", {"permission_id": permission["id"], "grant": True})
        assert refused.is_error and "answer_permission was not run" in text_of(refused)
        assert "does not support MCP form elicitation" in text_of(refused)
        still = await checked(client, "follow_run", {**pending["next_arguments"]["arguments"], "max_wait_seconds": 1})
        assert still["status"] == "running" and still["events"] == 0, "the run still waits: nothing was granted"
        cancelled = await checked(client, "cancel_run", {"session_id": session_id})
        assert cancelled["cancelled"] is True


# ------------------------------------------------------------------------------------ Feb 2026 Mix


class Answers:
    """An elicitation callback that picks ``choice`` for every question and records the forms it got."""

    def __init__(self, choice: str) -> None:
        self.choice = choice
        self.forms: list[types.ElicitRequestFormParams] = []

    async def __call__(
        self, context: ClientRequestContext, params: types.ElicitRequestParams
    ) -> types.ElicitResult | types.ErrorData:
        assert isinstance(params, types.ElicitRequestFormParams)
        self.forms.append(params)
        return types.ElicitResult(action="accept", content={"answer": self.choice})


@pytest.mark.anyio
@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_an_ask_run_is_answered_by_elicitation(
    feb_emulator: BackgroundEmulator, transport: str, mode: str
) -> None:
    answers = Answers("blue")
    async with connect(transport, feb_emulator, mode, elicit=answers) as client:
        session_id = await new_session(client, f"Ask {transport} {mode}", browser_mode="local-browser-service")
        run = await checked(client, "send_message", {"session_id": session_id, "text": "ask: Which colour? red, blue"})
    assert run["status"] == "completed" and run["text"] == "You chose blue.", run
    (form,) = answers.forms
    assert form.requested_schema["properties"]["answer"]["enum"] == ["red", "blue"]
    assert "Which colour?" in form.message and QUESTION_TITLE in form.message
    (question,) = run["notifications"]
    assert question["answer"] == "answered" and question["answered_by"] == "user"
    assert question["choices"] == ["red", "blue"] and question["timeout_seconds"] == 300


@pytest.mark.anyio
@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_an_ask_run_waits_for_answer_notification_without_elicitation(
    feb_emulator: BackgroundEmulator, mode: str
) -> None:
    async with connect("stdio", feb_emulator, mode) as client:
        session_id = await new_session(client, f"Ask pending {mode}", browser_mode="local-browser-service")
        pending = await checked(
            client, "send_message", {"session_id": session_id, "text": "ask: Tabs or spaces? tabs, spaces"}
        )
        assert pending["status"] == "question_pending" and pending["finished"] is False
        (question,) = pending["notifications"]
        assert question["answer"] == "pending" and question["response_type"] == "choice"
        assert question["choices"] == ["tabs", "spaces"] and "answer_notification" in pending["next_step"]
        answered = await checked(
            client,
            "answer_notification",
            {"notification_id": question["id"], "value": "spaces", "response_type": "choice"},
        )
        assert answered["response_type"] == "choice" and answered["value"] == "spaces"
        done = await checked(client, "follow_run", pending["next_arguments"]["arguments"])
        assert done["status"] == "completed" and done["text"] == "You chose spaces."
        again = await client.call_tool("answer_notification", {"notification_id": question["id"], "value": "tabs"})
        assert again.is_error and "no longer pending" in text_of(again)


@pytest.mark.anyio
async def test_a_sub_agent_is_reported_apart_and_options_reach_mix(feb_emulator: BackgroundEmulator) -> None:
    async with connect("stdio", feb_emulator, "auto") as client:
        session_id = await new_session(client, "Sub-agent", browser_mode="local-browser-service")
        run = await checked(
            client,
            "send_message",
            {"session_id": session_id, "text": "task: tidy up", "max_steps": 5, "thinking_level": "off"},
        )
    assert run["status"] == "completed", run
    (call,) = run["tool_calls"]
    assert call["name"] == "Task" and json.loads(call["input"])["prompt"] == "tidy up"
    (agent,) = run["sub_agents"]
    assert agent["parent_tool_call_id"] == call["id"] and agent["finished"] is True
    assert "found nothing to change" in agent["text"]
    assert run["text"].startswith("The subagent reported:") and "Looking around" not in run["text"]
    assert run["reasoning"] is None, "thinking_level off reached Mix: no thinking"
