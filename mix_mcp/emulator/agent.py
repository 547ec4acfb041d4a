"""The emulator's scripted agent: Mix's agent-run endpoints, played without any model.

For each message it runs the same deterministic script, so that tests can assert every event:

1. stores the user message and announces it (``user_message_created``);
2. thinks aloud in a few ``thinking`` deltas;
3. runs a pretend tool: ``ReadText`` for an ordinary message, or, for a message ``run: <command>``,
   ``Bash``, after asking permission (``permission``) and waiting for a grant or a deny;
4. writes its answer in ``content`` deltas, stores it as an assistant message (with its tool call,
   reasoning, tokens and cost), and sends ``complete``.

Events of a session get increasing ids and are kept (a bounded log) so that a stream reopened with
``Last-Event-ID`` replays exactly what it missed. ``AgentSettings`` sets the pace (instant in tests)
and can cut a stream after N events, once, to exercise that resume. The routes here are
self-contained: ``app.create_app`` only appends them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from itertools import count
from typing import Any, Final
from urllib.parse import unquote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from mix_mcp.emulator.store import NewMessage, SessionNotFoundError, SessionStore, now_timestamp
from mix_mcp.emulator.validation import RequestError, parse_json_object
from mix_mcp.mix import endpoints

logger = logging.getLogger(__name__)

#: The prefix that makes the agent want to run a command (and so ask permission first).
RUN_PREFIX: Final = "run:"
#: Events kept per session for replay; older ones are gone, as in a Mix with a bounded replay buffer.
REPLAY_EVENTS: Final = 10_000
THINKING: Final = ("Reading the request. ", "Choosing a tool. ", "Planning the answer.")
MODEL: Final = "emulator-scripted-agent"
#: What a stream resumed with no run left to follow says (see ``ScriptedAgent._events``).
_NO_RUN: Final = (
    "No run in progress in this session to follow after event {after}: it ended, or Mix restarted since and "
    "its runs ended with it. list_messages shows what the session holds; send a new message to start a run."
)


@dataclass
class AgentSettings:
    """How the scripted agent behaves; tests hold the instance and may change it between runs."""

    #: Seconds between two events of a run (0: as fast as possible).
    step_delay: float = 0.02
    #: Seconds of silence after which a stream sends a heartbeat.
    heartbeat_interval: float = 15.0
    #: Seconds a permission request waits for an answer before the run gives up on it (as a deny).
    permission_timeout: float = 600.0
    #: Cut the next stream connection after it has sent this many events (connected excluded), once.
    drop_stream_after: int | None = None


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    type: str
    data: dict[str, Any]

    def encode(self) -> bytes:
        payload = json.dumps(self.data, separators=(",", ":"))
        return f"id: {self.id}\nevent: {self.type}\ndata: {payload}\n\n".encode()


@dataclass
class _Channel:
    """One session's event log and the signal that wakes its streams."""

    log: deque[Event] = field(default_factory=lambda: deque(maxlen=REPLAY_EVENTS))
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    run: asyncio.Task[None] | None = None


@dataclass
class _Permission:
    session_id: str
    answered: asyncio.Future[bool]


class ScriptedAgent:
    """The run state of every session, and the handlers of the agent-run routes."""

    def __init__(self, store: SessionStore, settings: AgentSettings | None = None) -> None:
        self.store = store
        self.settings = settings or AgentSettings()
        self._ids = count(1)
        self._channels: dict[str, _Channel] = {}
        self._permissions: dict[str, _Permission] = {}
        #: Calls of the cancel endpoint per session, for tests to count.
        self.cancel_calls: dict[str, int] = {}
        #: Stream connections opened per session, and the Last-Event-ID each one sent.
        self.stream_opens: list[tuple[str, str | None]] = []

    def running(self, session_id: str) -> bool:
        """Whether a run of the session is in progress (for tests that check a cancel took)."""
        channel = self._channels.get(session_id)
        return channel is not None and channel.run is not None and not channel.run.done()

    # ------------------------------------------------------------------------------------- events

    def _channel(self, session_id: str) -> _Channel:
        return self._channels.setdefault(session_id, _Channel())

    def _latest_id(self, session_id: str) -> int:
        channel = self._channels.get(session_id)
        return channel.log[-1].id if channel and channel.log else 0

    def _emit(self, session_id: str, kind: str, **data: Any) -> Event:
        channel = self._channel(session_id)
        event = Event(next(self._ids), kind, {"type": kind, **data})
        channel.log.append(event)
        channel.changed.set()
        channel.changed = asyncio.Event()
        return event

    async def _pause(self) -> None:
        await asyncio.sleep(self.settings.step_delay)

    # ---------------------------------------------------------------------------------------- run

    async def _run(self, session_id: str, text: str, plan_mode: bool) -> None:
        """The script; a cancel ends it with an ``error`` event of type 'cancelled'."""
        started = asyncio.get_running_loop().time()
        try:
            (user_id,) = await run_in_threadpool(
                self.store.add_messages, session_id, [NewMessage("user", text, now_timestamp())]
            )
            self._emit(session_id, "user_message_created", messageId=user_id, content=text)
            answer_id = "msg_" + uuid.uuid4().hex
            for part in THINKING:
                await self._pause()
                self._emit(session_id, "thinking", content=part, assistantMessageId=answer_id)
            call = await self._tool(session_id, text, answer_id)
            answer = self._answer(text, call, plan_mode)
            for word in answer.split(" "):
                await self._pause()
                self._emit(session_id, "content", content=word + " ", assistantMessageId=answer_id)
            reasoning = "".join(THINKING)
            duration = max(1, round((asyncio.get_running_loop().time() - started) * 1000))
            message = NewMessage(
                "assistant",
                answer,
                now_timestamp(),
                id=answer_id,
                reasoning=reasoning,
                reasoning_duration=duration,
                model=MODEL,
                finish_reason="stop",
                tool_calls=[call],
                prompt_tokens=10 + len(text) // 4,
                completion_tokens=5 + len(answer) // 4,
                cost=round((15 + len(text) // 4 + len(answer) // 4) * 0.00001, 6),
            )
            await run_in_threadpool(self.store.add_messages, session_id, [message])
            self._emit(
                session_id,
                "complete",
                done=True,
                messageId=answer_id,
                content=answer,
                reasoning=reasoning,
                reasoningDuration=duration,
            )
        except asyncio.CancelledError:
            self._emit(session_id, "error", error="Processing was cancelled", type="cancelled")
        except SessionNotFoundError:
            self._emit(session_id, "error", error="The session was deleted during the run", type="not_found")
        finally:
            for permission_id in [k for k, v in self._permissions.items() if v.session_id == session_id]:
                self._permissions.pop(permission_id)

    async def _tool(self, session_id: str, text: str, answer_id: str) -> dict[str, Any]:
        """Run the pretend tool (asking first for a command) and return it as a stored tool call."""
        call_id = "call_" + uuid.uuid4().hex[:16]
        if text.startswith(RUN_PREFIX):
            name, arguments = "Bash", {"command": text[len(RUN_PREFIX) :].strip()}
        else:
            name, arguments = "ReadText", {"path": "README.md"}
        tool_input = json.dumps(arguments)
        await self._pause()
        self._emit(
            session_id, "tool", id=call_id, name=name, input=tool_input, status="pending", assistantMessageId=answer_id
        )
        call: dict[str, Any] = {
            "id": call_id,
            "name": name,
            "input": tool_input,
            "inputJson": arguments,
            "type": "tool",
            "finished": True,
        }
        if name == "Bash" and not await self._ask(session_id, call_id, arguments["command"]):
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

    async def _ask(self, session_id: str, call_id: str, command: str) -> bool:
        permission_id = "perm_" + uuid.uuid4().hex[:16]
        answered: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._permissions[permission_id] = _Permission(session_id, answered)
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

    @staticmethod
    def _answer(text: str, call: dict[str, Any], plan_mode: bool) -> str:
        plan = "Plan only: " if plan_mode else ""
        if call["name"] == "Bash":
            command = call["inputJson"]["command"]
            if call["isError"]:
                return f"{plan}I did not run `{command}`: the permission was denied."
            return f"{plan}I ran `{command}` and it printed {call['result']}."
        return f"{plan}You said: {text.strip()}. I read README.md, which says hello."

    # ------------------------------------------------------------------------------------- routes

    async def send_message(self, request: Request) -> Response:
        session_id = unquote(request.path_params["id"])
        body = parse_json_object(await request.body())
        unknown = sorted(set(body) - {"text", "plan_mode"})
        if unknown:
            raise RequestError(400, "validation_error", f"unknown field(s): {', '.join(unknown)}")
        text, plan_mode = body.get("text"), body.get("plan_mode", False)
        if not isinstance(text, str) or not text.strip():
            raise RequestError(400, "validation_error", "text is required")
        if not isinstance(plan_mode, bool):
            raise RequestError(400, "validation_error", "plan_mode must be a boolean")
        if not await run_in_threadpool(self.store.has_session, session_id):
            raise SessionNotFoundError(session_id)
        channel = self._channel(session_id)
        if channel.run is not None and not channel.run.done():
            raise RequestError(400, "bad_request", "The session is already processing a message")
        channel.run = asyncio.create_task(self._run(session_id, text, plan_mode))
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
        run = self._channel(session_id).run
        running = run is not None and not run.done()
        if run is not None and running:
            run.cancel()
        return JSONResponse({"cancelled": running})

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

    async def stream(self, request: Request) -> Response:
        session_id = request.query_params.get("sessionId")
        if not session_id:
            raise RequestError(400, "bad_request", "sessionId query parameter is required")
        if not await run_in_threadpool(self.store.has_session, session_id):
            raise SessionNotFoundError(session_id)
        resume = request.headers.get("last-event-id")
        self.stream_opens.append((session_id, resume))
        resumed = resume is not None and resume.isdigit()
        after = int(resume) if resume is not None and resumed else self._latest_id(session_id)
        drop_after, self.settings.drop_stream_after = self.settings.drop_stream_after, None
        return StreamingResponse(
            self._events(session_id, after, drop_after, resumed=resumed),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    async def _events(
        self, session_id: str, after: int, drop_after: int | None, *, resumed: bool = False
    ) -> AsyncIterator[bytes]:
        """Replay what came after ``after``, then follow live; heartbeats in the silences.

        A stream resumed after an event when there is nothing to replay and no run in progress (the run
        ended, or the emulator restarted since and its runs with it) says so at once in an ``error``
        event, instead of leaving the follower to wait in silence for a run that will never write.
        """
        yield Event(after, "connected", {"type": "connected", "sessionId": session_id}).encode()
        sent = 0
        channel = self._channel(session_id)
        if resumed and not any(event.id > after for event in channel.log) and not self.running(session_id):
            yield Event(after, "error", {"type": "no_run", "error": _NO_RUN.format(after=after)}).encode()
        while True:
            fresh = [event for event in channel.log if event.id > after]
            for event in fresh:
                if drop_after is not None and sent >= drop_after:
                    return  # cut the connection mid-run, once: the client must resume with Last-Event-ID
                yield event.encode()
                after, sent = event.id, sent + 1
            if fresh:
                continue
            try:
                await asyncio.wait_for(channel.changed.wait(), self.settings.heartbeat_interval)
            except TimeoutError:
                yield Event(after, "heartbeat", {"type": "ping"}).encode()

    def routes(self) -> list[Route]:
        messages = {"POST": self.send_message, "GET": self.get_messages}

        async def on_messages(request: Request) -> Response:
            return await messages["GET" if request.method == "HEAD" else request.method](request)

        return [
            Route(endpoints.SEND_MESSAGE.path, on_messages, methods=["GET", "POST"]),
            Route(endpoints.CANCEL_SESSION_PROCESSING.path, self.cancel, methods=["POST"]),
            Route(endpoints.GRANT_PERMISSION.path, self.grant, methods=["POST"]),
            Route(endpoints.DENY_PERMISSION.path, self.deny, methods=["POST"]),
            Route(endpoints.STREAM_EVENTS.path, self.stream, methods=["GET"]),
        ]


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
