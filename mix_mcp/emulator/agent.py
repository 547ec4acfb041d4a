"""The emulator's scripted agent: Mix's agent-run endpoints, played without any model.

Each message runs one deterministic script, streamed with exactly the events (and event fields) of the
``SSEEventStream`` of the Feb 2026 contract, so that tests can assert every one:

1. stores the user message and announces it (``user_message_created``);
2. thinks aloud in a few ``thinking`` deltas (none with ``thinking_level: "off"``);
3. then, by the message's first word:

   * ``run: <command>``: the ``Bash`` tool, after a ``permission`` request that waits for a grant or a deny;
   * ``ask: <question>? a, b, c``: a ``notification`` (a choice question, with a timeout) that waits for
     ``POST /api/notifications/{id}/respond``; only on a Mix version that offers questions;
   * ``task: <prompt>``: the ``Task`` tool, which spawns a subagent session (``session_created``) whose
     own events carry ``parentToolCallId``;
   * anything else: the ``ReadText`` tool.

   A tool call streams ``tool_use_start``, its input in ``tool_use_parameter_delta`` pieces,
   ``tool_use_parameter_streaming_complete`` (the whole input), then ``tool_execution_start`` and
   ``tool_execution_complete`` (``success``, ``progress``). The stream never carries a tool's output:
   as in Mix, it is stored in the assistant message (``toolCalls[].result``), where
   ``GET /api/sessions/{id}/messages`` and the export show it;
4. writes its answer in ``content`` deltas, stores it as an assistant message (tool calls, reasoning,
   tokens, cost) and sends ``complete``.

A cancel ends a run with an ``error`` event of type ``cancelled``; deleting a session in a run ends the
run and sends ``session_deleted`` to whoever follows it. ``AgentSettings`` sets the pace (instant in
tests), the timeouts, and can cut a stream after N events, once, to exercise a resume. The routes here
are self-contained: ``app.create_app`` only appends them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import unquote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from mix_mcp.emulator import quirks
from mix_mcp.emulator.events import EventHub
from mix_mcp.emulator.profiles import SEED, MixProfile
from mix_mcp.emulator.store import NewMessage, SessionNotFoundError, SessionStore, now_timestamp
from mix_mcp.emulator.validation import RequestError, parse_message, parse_notification_answer
from mix_mcp.mix import endpoints

logger = logging.getLogger(__name__)

#: The prefix that makes the agent want to run a command (and so ask permission first).
RUN_PREFIX: Final = "run:"
#: The prefix that makes the agent ask the user a choice question (a ``notification``).
ASK_PREFIX: Final = "ask:"
#: The prefix that makes the agent hand the work to a subagent (the ``Task`` tool).
TASK_PREFIX: Final = "task:"
THINKING: Final = ("Reading the request. ", "Choosing a tool. ", "Planning the answer.")
MODEL: Final = "emulator-scripted-agent"
#: Choices of an ``ask:`` question that lists none after its question mark.
DEFAULT_CHOICES: Final = ("yes", "no")
QUESTION_TITLE: Final = "The agent has a question"
#: Characters of a tool's JSON input per ``tool_use_parameter_delta``.
DELTA_CHARS: Final = 8


@dataclass
class AgentSettings:
    """How the scripted agent behaves; tests hold the instance and may change it between runs."""

    #: Seconds between two events of a run (0: as fast as possible).
    step_delay: float = 0.02
    #: Seconds of silence after which a stream sends a heartbeat.
    heartbeat_interval: float = 15.0
    #: Seconds a permission request waits for an answer before the run gives up on it (as a deny).
    permission_timeout: float = 600.0
    #: Whole seconds a question waits for an answer (the ``timeout`` of its ``notification``).
    question_timeout: int = 300
    #: Cut the next stream connection after it has sent this many events (connected excluded), once.
    drop_stream_after: int | None = None


@dataclass
class _Pending:
    """A permission or a question of a run, waiting for its answer."""

    session_id: str
    answered: asyncio.Future[Any]
    choices: tuple[str, ...] = ()
    response_type: str = ""


@dataclass
class _RunState:
    task: asyncio.Task[None] | None = None
    #: Set when the session is deleted: the run ends without an ``error`` event.
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class _Message:
    text: str
    plan_mode: bool
    thinking: bool


class ScriptedAgent:
    """The run state of every session, and the handlers of the agent-run routes."""

    def __init__(self, store: SessionStore, settings: AgentSettings | None = None, profile: MixProfile = SEED) -> None:
        self.store = store
        self.settings = settings or AgentSettings()
        self.profile = profile
        self.hub = EventHub()
        self._runs: dict[str, _RunState] = {}
        self._permissions: dict[str, _Pending] = {}
        self._questions: dict[str, _Pending] = {}
        #: Calls of the cancel endpoint per session, for tests to count.
        self.cancel_calls: dict[str, int] = {}
        #: Stream connections opened per session, and the Last-Event-ID each one sent.
        self.stream_opens: list[tuple[str, str | None]] = []

    def running(self, session_id: str) -> bool:
        """Whether a run of the session is in progress (for tests that check a cancel took)."""
        state = self._runs.get(session_id)
        return state is not None and state.task is not None and not state.task.done()

    def _emit(self, session_id: str, kind: str, **data: Any) -> None:
        self.hub.emit(session_id, kind, data)

    async def _pause(self) -> None:
        await asyncio.sleep(self.settings.step_delay)

    # ---------------------------------------------------------------------------------------- run

    async def _run(self, session_id: str, message: _Message) -> None:
        """The script; a cancel ends it with an ``error`` event of type 'cancelled'."""
        started = asyncio.get_running_loop().time()
        state = self._runs[session_id]
        try:
            text = message.text
            (user_id,) = await run_in_threadpool(
                self.store.add_messages, session_id, [NewMessage("user", text, now_timestamp())]
            )
            self._emit(session_id, "user_message_created", messageId=user_id, content=text)
            answer_id = "msg_" + uuid.uuid4().hex
            if message.thinking:
                for part in THINKING:
                    await self._pause()
                    self._emit(session_id, "thinking", content=part, assistantMessageId=answer_id)
            calls: list[dict[str, Any]] = []
            if text.startswith(ASK_PREFIX) and self.profile.questions:
                answer = await self._question(session_id, text[len(ASK_PREFIX) :].strip())
            elif text.startswith(TASK_PREFIX):
                call = await self._task(session_id, text[len(TASK_PREFIX) :].strip(), answer_id)
                calls.append(call)
                answer = f"The subagent reported: {call['result']}"
            else:
                call = await self._tool(session_id, text, answer_id)
                calls.append(call)
                answer = _tool_answer(text, call)
            if message.plan_mode:
                answer = "Plan only: " + answer
            await self._write(session_id, answer_id, answer)
            reasoning = "".join(THINKING) if message.thinking else None
            duration = max(1, round((asyncio.get_running_loop().time() - started) * 1000))
            stored = NewMessage(
                "assistant",
                answer,
                now_timestamp(),
                id=answer_id,
                reasoning=reasoning,
                reasoning_duration=duration if reasoning else None,
                model=MODEL,
                finish_reason="stop",
                tool_calls=calls or None,
                prompt_tokens=10 + len(text) // 4,
                completion_tokens=5 + len(answer) // 4,
                cost=round((15 + len(text) // 4 + len(answer) // 4) * 0.00001, 6),
            )
            await run_in_threadpool(self.store.add_messages, session_id, [stored])
            done: dict[str, Any] = {"done": True, "messageId": answer_id, "content": answer}
            if reasoning:
                done |= {"reasoning": reasoning, "reasoningDuration": duration}
            self._emit(session_id, "complete", **done)
        except asyncio.CancelledError:
            if not state.deleted:
                self._emit(session_id, "error", error="Processing was cancelled", type="cancelled")
        except SessionNotFoundError:
            if not state.deleted:
                self._emit(session_id, "error", error="The session was deleted during the run", type="not_found")
        finally:
            for pending in (self._permissions, self._questions):
                for key in [k for k, v in pending.items() if v.session_id == session_id]:
                    pending.pop(key)

    async def _write(self, session_id: str, answer_id: str, answer: str, **nested: str) -> None:
        for word in answer.split(" "):
            await self._pause()
            self._emit(session_id, "content", content=word + " ", assistantMessageId=answer_id, **nested)

    async def _announce_tool(self, session_id: str, answer_id: str, name: str, arguments: dict[str, Any]) -> str:
        """Stream a tool call's declaration and its input in pieces; returns the call's id."""
        call_id = "toolu_" + uuid.uuid4().hex[:24]
        tool_input = json.dumps(arguments)
        await self._pause()
        self._emit(session_id, "tool_use_start", id=call_id, name=name, assistantMessageId=answer_id)
        for start in range(0, len(tool_input), DELTA_CHARS):
            await self._pause()
            self._emit(
                session_id,
                "tool_use_parameter_delta",
                toolCallId=call_id,
                input=tool_input[start : start + DELTA_CHARS],
                assistantMessageId=answer_id,
            )
        await self._pause()
        self._emit(
            session_id,
            "tool_use_parameter_streaming_complete",
            id=call_id,
            name=name,
            input=tool_input,
            assistantMessageId=answer_id,
        )
        return call_id

    async def _tool(self, session_id: str, text: str, answer_id: str) -> dict[str, Any]:
        """Run the pretend tool (asking first for a command) and return it as a stored tool call."""
        if text.startswith(RUN_PREFIX):
            name, arguments = "Bash", {"command": text[len(RUN_PREFIX) :].strip()}
        else:
            name, arguments = "ReadText", {"path": "README.md"}
        call_id = await self._announce_tool(session_id, answer_id, name, arguments)
        call = _stored_call(call_id, name, arguments)
        if name == "Bash" and not await self._permission(session_id, call_id, arguments["command"]):
            self._emit(session_id, "tool_execution_complete", toolName=name, toolCallId=call_id, success=False,
                       progress="Permission denied")  # fmt: skip
            return {**call, "isError": True, "result": "Permission denied by the user"}
        await self._pause()
        self._emit(session_id, "tool_execution_start", toolName=name, toolCallId=call_id, progress=f"Running {name}")
        await self._pause()
        result = f"(pretend output of {arguments['command']})" if name == "Bash" else "# Demo project\nHello."
        self._emit(session_id, "tool_execution_complete", toolName=name, toolCallId=call_id, success=True,
                   progress="Done")  # fmt: skip
        return {**call, "isError": False, "result": result}

    async def _task(self, session_id: str, prompt: str, answer_id: str) -> dict[str, Any]:
        """The ``Task`` tool: a subagent session whose events carry the call's id as ``parentToolCallId``."""
        prompt = prompt or "Look around the project."
        arguments = {"description": prompt[:40], "prompt": prompt, "subagent_type": "general-purpose"}
        call_id = await self._announce_tool(session_id, answer_id, "Task", arguments)
        await self._pause()
        self._emit(
            session_id, "tool_execution_start", toolName="Task", toolCallId=call_id, progress="Starting a subagent"
        )
        created = await run_in_threadpool(
            lambda: self.store.create_session(
                title=arguments["description"],
                session_type="subagent",
                parent_session_id=session_id,
                parent_tool_call_id=call_id,
                subagent_type="general-purpose",
            )
        )
        sub_id = str(created["id"])
        self._emit(session_id, "session_created", sessionId=sub_id, title=created["title"], createdAt=int(time.time()))
        (sub_user,) = await run_in_threadpool(
            self.store.add_messages, sub_id, [NewMessage("user", prompt, now_timestamp())]
        )
        nested = {"parentToolCallId": call_id}
        self._emit(session_id, "user_message_created", messageId=sub_user, content=prompt, **nested)
        sub_answer_id = "msg_" + uuid.uuid4().hex
        await self._pause()
        self._emit(session_id, "thinking", content="Looking around. ", assistantMessageId=sub_answer_id, **nested)
        result = f"I looked into {prompt!r} and found nothing to change."
        await self._write(session_id, sub_answer_id, result, **nested)
        await run_in_threadpool(
            self.store.add_messages,
            sub_id,
            [NewMessage("assistant", result, now_timestamp(), id=sub_answer_id, model=MODEL, finish_reason="stop")],
        )
        self._emit(session_id, "complete", done=True, messageId=sub_answer_id, content=result, **nested)
        await self._pause()
        self._emit(session_id, "tool_execution_complete", toolName="Task", toolCallId=call_id, success=True,
                   progress="Subagent finished")  # fmt: skip
        return {**_stored_call(call_id, "Task", arguments), "isError": False, "result": result}

    async def _permission(self, session_id: str, call_id: str, command: str) -> bool:
        permission_id = "perm_" + uuid.uuid4().hex[:16]
        answered: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._permissions[permission_id] = _Pending(session_id, answered)
        await self._pause()
        self._emit(
            session_id,
            "permission",
            id=permission_id,
            sessionId=session_id,
            toolName="Bash",
            description=f"The agent wants to run a shell command: {command}",
            action="execute",
            params={"command": command, "toolCallId": call_id},
        )
        try:
            return await asyncio.wait_for(answered, self.settings.permission_timeout)
        except TimeoutError:
            return False
        finally:
            self._permissions.pop(permission_id, None)

    async def _question(self, session_id: str, text: str) -> str:
        """Ask a choice question and wait for its answer; an unanswered one times out and the run goes on.

        The contract gives the question a ``timeout`` in seconds and says nothing of what the agent does
        then; this agent says that no answer came and goes on without one. After the timeout the
        notification is gone: answering it is a 404, as for one already answered.
        """
        question, choices = _split_question(text)
        notification_id = "notif_" + uuid.uuid4().hex[:16]
        answered: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._questions[notification_id] = _Pending(session_id, answered, choices, "choice")
        timeout = max(1, int(self.settings.question_timeout))
        await self._pause()
        self._emit(
            session_id,
            "notification",
            id=notification_id,
            sessionId=session_id,
            notificationType="question",
            title=QUESTION_TITLE,
            message=question,
            responseType="choice",
            choices=list(choices),
            timeout=timeout,
            createdAt=int(time.time()),
        )
        try:
            chosen = await asyncio.wait_for(answered, timeout)
        except TimeoutError:
            return f"No answer came within {timeout} s, so I went on without one."
        finally:
            self._questions.pop(notification_id, None)
        return f"You chose {chosen}."

    # ------------------------------------------------------------------------------------- routes

    async def send_message(self, request: Request) -> Response:
        session_id = unquote(request.path_params["id"])
        body = quirks.decode_body(self.profile, endpoints.SEND_MESSAGE.operation_id, await request.body())
        parsed = parse_message(body, self.profile.body_fields[endpoints.SEND_MESSAGE.operation_id])
        if not await run_in_threadpool(self.store.has_session, session_id):
            raise SessionNotFoundError(session_id)
        state = self._runs.setdefault(session_id, _RunState())
        if state.task is not None and not state.task.done():
            raise RequestError(400, "bad_request", "The session is already processing a message")
        message = _Message(parsed.text, parsed.plan_mode, thinking=parsed.thinking_level != "off")
        state.deleted = False
        state.task = asyncio.create_task(self._run(session_id, message))
        return JSONResponse(
            {"status": "processing", "sessionId": session_id}, status_code=endpoints.SEND_MESSAGE.success_status
        )

    async def get_messages(self, request: Request) -> Response:
        session_id = unquote(request.path_params["id"])
        document = json.loads(await run_in_threadpool(self.store.export_session, session_id))
        return JSONResponse([_backend_message(session_id, m) for m in document["messages"]])

    async def cancel(self, request: Request) -> Response:
        session_id = unquote(request.path_params["id"])
        if not await run_in_threadpool(self.store.has_session, session_id):
            raise SessionNotFoundError(session_id)
        self.cancel_calls[session_id] = self.cancel_calls.get(session_id, 0) + 1
        state = self._runs.get(session_id)
        running = state is not None and state.task is not None and not state.task.done()
        if state is not None and state.task is not None and running:
            state.task.cancel()
        return JSONResponse({"cancelled": running})

    async def session_deleted(self, session_id: str) -> None:
        """Called once a session is deleted: end its run quietly, tell its streams, forget it."""
        state = self._runs.pop(session_id, None)
        if state is not None and state.task is not None and not state.task.done():
            state.deleted = True
            state.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(asyncio.shield(state.task), 5.0)
        self._emit(session_id, "session_deleted", sessionId=session_id)
        self.hub.close(session_id)

    async def grant(self, request: Request) -> Response:
        return self._answer_permission(request, True, "granted")

    async def deny(self, request: Request) -> Response:
        return self._answer_permission(request, False, "denied")

    def _answer_permission(self, request: Request, granted: bool, key: str) -> Response:
        permission = self._permissions.pop(unquote(request.path_params["id"]), None)
        if permission is None or permission.answered.done():
            raise RequestError(404, "not_found", "Permission not found")
        permission.answered.set_result(granted)
        return JSONResponse({key: True})

    async def respond(self, request: Request) -> Response:
        """``POST /api/notifications/{id}/respond``: 204, or 404 for an unknown, answered or expired one."""
        notification_id = unquote(request.path_params["id"])
        body = quirks.decode_body(self.profile, endpoints.RESPOND_TO_NOTIFICATION.operation_id, await request.body())
        pending = self._questions.get(notification_id)
        if pending is None or pending.answered.done():
            raise RequestError(404, "not_found", "Notification not found or already responded")
        value = parse_notification_answer(body, pending.response_type, pending.choices)
        self._questions.pop(notification_id, None)
        pending.answered.set_result(value)
        return Response(status_code=endpoints.RESPOND_TO_NOTIFICATION.success_status)

    async def stream(self, request: Request) -> Response:
        session_id = request.query_params.get("sessionId")
        if not session_id:
            raise RequestError(400, "bad_request", "sessionId query parameter is required")
        if not await run_in_threadpool(self.store.has_session, session_id):
            raise SessionNotFoundError(session_id)
        resume = request.headers.get("last-event-id")
        self.stream_opens.append((session_id, resume))
        after = self.hub.resume_point(session_id, resume)
        drop_after, self.settings.drop_stream_after = self.settings.drop_stream_after, None
        return StreamingResponse(
            self.hub.follow(
                session_id, after, heartbeat_interval=self.settings.heartbeat_interval, drop_after=drop_after
            ),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    def routes(self) -> list[Route]:
        messages = {"POST": self.send_message, "GET": self.get_messages}

        async def on_messages(request: Request) -> Response:
            return await messages["GET" if request.method == "HEAD" else request.method](request)

        routes = [
            Route(endpoints.SEND_MESSAGE.path, on_messages, methods=["GET", "POST"]),
            Route(endpoints.CANCEL_SESSION_PROCESSING.path, self.cancel, methods=["POST"]),
            Route(endpoints.GRANT_PERMISSION.path, self.grant, methods=["POST"]),
            Route(endpoints.DENY_PERMISSION.path, self.deny, methods=["POST"]),
            Route(endpoints.STREAM_EVENTS.path, self.stream, methods=["GET"]),
        ]
        if self.profile.questions:
            routes.append(Route(endpoints.RESPOND_TO_NOTIFICATION.path, self.respond, methods=["POST"]))
        return routes


def _stored_call(call_id: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """A tool call as Mix stores it in the assistant message (its result is added when it finished)."""
    return {"id": call_id, "name": name, "input": json.dumps(arguments), "inputJson": arguments, "type": "tool",
            "finished": True}  # fmt: skip


def _tool_answer(text: str, call: dict[str, Any]) -> str:
    if call["name"] == "Bash":
        command = call["inputJson"]["command"]
        if call["isError"]:
            return f"I did not run `{command}`: the permission was denied."
        return f"I ran `{command}` and it printed {call['result']}."
    return f"You said: {text.strip()}. I read README.md, which says hello."


def _split_question(text: str) -> tuple[str, tuple[str, ...]]:
    """``"Which colour? red, green"`` -> the question and its choices (``DEFAULT_CHOICES`` when none follow)."""
    question, mark, rest = text.rpartition("?")
    if mark:
        choices = tuple(dict.fromkeys(c.strip() for c in rest.split(",") if c.strip()))
        if choices:
            return question.strip() + "?", choices
        return text.strip(), DEFAULT_CHOICES
    return (text.strip() or "Shall I go on?"), DEFAULT_CHOICES


def _backend_message(session_id: str, message: dict[str, Any]) -> dict[str, Any]:
    """An exported message in ``getSessionMessages`` form (``userInput`` / ``assistantResponse``)."""
    role = message["role"]
    shaped: dict[str, Any] = {
        "id": message["id"],
        "sessionId": session_id,
        "role": role,
        "userInput": message["content"] if role == "user" else "",
    }
    if role != "user":
        shaped["assistantResponse"] = message["content"]
    for key in ("reasoning", "reasoningDuration"):
        if message.get(key) is not None:
            shaped[key] = message[key]
    calls = message.get("toolCalls")
    if calls:
        shaped["toolCalls"] = [{k: v for k, v in call.items() if k != "inputJson"} for call in calls]
    return shaped
