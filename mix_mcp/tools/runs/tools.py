"""Agent runs: send_message, answer_permission and what turns a run's events into one answer.

Mix's ``sendMessage`` only says 202: the agent runs on, and reports on the session's event stream.
An orchestrating agent wants the answer, so ``send_message`` opens the stream first (so no event
can slip by), sends the message once (never retried after it may have left), and follows the run:
``RunRecord`` folds the events into the answer text, the tool calls, the reasoning time, the errors
Mix reported and the permission requests; ``RunProgress`` turns them into a few progress
notifications ("thinking", "running tool Bash", "writing the answer").

A run ends the call when it completes, fails or is cancelled; when the deadline comes first, the
call returns what it has, marked unfinished, with the arguments that follow on from the last event
read. A permission request is put to the user by elicitation when the client can ask, and is
otherwise returned as pending for ``answer_permission``. A client's ``notifications/cancelled``
cancels the run in Mix, once.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Final, Literal

import anyio
import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.shared.exceptions import MCPError, NoBackChannelError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from mix_mcp.mix.client import SESSION, CallStats, MixClient
from mix_mcp.mix.endpoints import (
    CANCEL_SESSION_PROCESSING,
    DENY_PERMISSION,
    GET_SESSION,
    GRANT_PERMISSION,
    SEND_MESSAGE,
)
from mix_mcp.mix.errors import ErrorHints, MixMCPError
from mix_mcp.mix.events import SessionEvents, StreamEvent
from mix_mcp.mix.models import MessageAccepted, PermissionDenied, PermissionGranted, ProcessingCancelled
from mix_mcp.observe.logs import log_event
from mix_mcp.tools import permissions
from mix_mcp.tools.arguments import AnswerPermissionArguments, SendMessageArguments, ToolArguments
from mix_mcp.tools.rendering import Shaped

logger = logging.getLogger("mix_mcp.runs")

ACCEPTED: Final = TypeAdapter(MessageAccepted)
GRANTED: Final = TypeAdapter(PermissionGranted)
DENIED: Final = TypeAdapter(PermissionDenied)
CANCELLED: Final = TypeAdapter(ProcessingCancelled)

#: Bounds on what a run's result holds, whatever the run does.
MAX_ANSWER_CHARS: Final = 100_000
MAX_TOOL_CALLS: Final = 100
MAX_ERRORS: Final = 20
MAX_PERMISSIONS: Final = 20
SHORT_CHARS: Final = 300
#: Time kept back from the call deadline to shape and send the result.
_DEADLINE_MARGIN: Final = 2.0
#: Seconds between two progress notifications of the same phase (phase changes are always reported).
PROGRESS_INTERVAL: Final = 1.0
#: How long a cancel or a permission answer may take when the call itself is being cancelled.
_SHIELDED_SECONDS: Final = 10.0
#: Prefix of the request state a 2026-07-28 client echoes after answering a permission question.
_STATE_PREFIX: Final = "mix-mcp/run/v1:"

RunStatus = Literal["completed", "running", "permission_pending", "failed", "cancelled"]


# ---------------------------------------------------------------------------------------- results


class RunToolCall(BaseModel):
    """A tool call the run made, as the events reported it."""

    id: str = Field(description="Tool call id.")
    name: str = Field(description="Tool name.")
    status: str = Field(description="'pending', 'running', 'succeeded', 'failed' or Mix's own word.")
    input: str | None = Field(default=None, description="The tool's input, shortened.")
    output: str | None = Field(default=None, description="What Mix said of its execution, shortened.")


class RunPermission(BaseModel):
    """A permission request of the run and what became of it."""

    id: str = Field(description="Permission request id (answer_permission's permission_id).")
    tool_name: str = Field(description="Tool that asked.")
    action: str = Field(description="Action requested.")
    description: str = Field(description="What the agent wants to do.")
    path: str | None = Field(default=None, description="File path concerned, if any.")
    command: str | None = Field(default=None, description="Command concerned, if any.")
    answer: str = Field(description="'pending', 'granted' or 'denied'.")
    answered_by: str | None = Field(default=None, description="'user' (elicitation) or null.")


class RunError(BaseModel):
    """An error event of the run (Mix reports retries of failed model calls this way)."""

    error: str = Field(description="Mix's error message.")
    type: str | None = Field(default=None, description="Mix's error type.")
    retry_after_ms: int | None = Field(default=None, description="Milliseconds before Mix retries, when it said.")
    attempt: int | None = Field(default=None, description="Attempt number, when Mix said.")
    max_attempts: int | None = Field(default=None, description="Attempts Mix makes at most, when it said.")


class RunUsage(BaseModel):
    """What the run cost: the session's totals after the run minus before it."""

    prompt_tokens: int = Field(description="Prompt tokens used by the run.")
    completion_tokens: int = Field(description="Completion tokens used by the run.")
    cost: float = Field(description="Cost of the run.")


class RunResult(BaseModel):
    """Where an agent run stands: its answer when it completed, else what it has so far and how to go on."""

    session_id: str = Field(description="Session of the run.")
    status: RunStatus = Field(
        description="'completed', 'running' (not finished yet: follow it with next_arguments), 'permission_pending' "
        "(waiting for answer_permission), 'failed' or 'cancelled'."
    )
    finished: bool = Field(description="Whether the run is over (completed, failed or cancelled).")
    message_id: str | None = Field(default=None, description="Id of the assistant message the run wrote.")
    text: str = Field(description="The assistant's answer (so far, when unfinished). Written by the Mix agent.")
    text_truncated: bool = Field(default=False, description="True when the answer was longer than the result holds.")
    reasoning_duration_ms: int | None = Field(default=None, description="Reasoning time Mix reported, in ms.")
    tool_calls: list[RunToolCall] = Field(description="Tool calls the run made.")
    permissions: list[RunPermission] = Field(description="Permission requests of the run.")
    errors: list[RunError] = Field(description="Error events of the run.")
    usage: RunUsage | None = Field(default=None, description="Tokens and cost of the run, when known.")
    events: int = Field(description="Events of this session read during this call.")
    last_event_id: str | None = Field(default=None, description="Id of the last event read.")
    reconnects: int = Field(default=0, description="Times the event stream was reopened during this call.")
    next_arguments: dict[str, Any] | None = Field(
        default=None, description="Arguments of the send_message call that follows the run on, when unfinished."
    )
    next_step: str | None = Field(default=None, description="What to do next, when there is something to do.")


class PermissionAnswer(BaseModel):
    """A permission request answered."""

    permission_id: str = Field(description="The request answered.")
    granted: bool = Field(description="True when granted, false when denied.")
    next_step: str = Field(description="How to follow the run on.")


class RunCancelled(BaseModel):
    """What cancel_run did."""

    session_id: str = Field(description="Session whose processing was cancelled.")
    cancelled: bool = Field(description="True when Mix stopped a run in progress; false when none was running.")
    next_step: str = Field(description="What to look at next.")


# ----------------------------------------------------------------------------------- the record


def _short(value: Any, limit: int = SHORT_CHARS) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + f" … [{len(text) - limit:,} more characters]"


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass
class RunRecord:
    """A run folded from its events; plain data, so that it can travel in a request state and back."""

    text: str = ""
    text_truncated: bool = False
    message_id: str | None = None
    reasoning_duration_ms: int | None = None
    tool_calls: dict[str, dict[str, Any]] = field(default_factory=dict)
    permissions: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    status: str = "running"
    phase: str = "waiting for the agent"
    events: int = 0
    #: The session's tokens and cost before the message was sent, for the run's usage.
    baseline: dict[str, Any] | None = None

    def apply(self, event: StreamEvent) -> None:
        """Fold one event in. Subagents' events (``parentToolCallId``) only move the phase."""
        self.events += 1
        data, kind = event.data, event.type
        if event.nested:
            if kind in ("tool", "tool_execution_start"):
                self.phase = "a subagent is working"
            return
        if kind == "thinking":
            self.phase = "thinking"
        elif kind == "content":
            self.phase = "writing the answer"
            self._add_text(data.get("content"))
            self.message_id = self.message_id or _str(data.get("assistantMessageId"))
        elif kind in ("tool", "tool_execution_start", "tool_execution_complete"):
            self._tool(kind, data)
        elif kind == "permission":
            self._permission(data)
        elif kind == "error":
            self._error(data)
        elif kind == "complete":
            final = data.get("content")
            if isinstance(final, str) and final:
                self.text, self.text_truncated = "", False
                self._add_text(final)
            self.message_id = _str(data.get("messageId")) or self.message_id
            self.reasoning_duration_ms = _int(data.get("reasoningDuration"))
            self.status, self.phase = "completed", "completed"

    def _add_text(self, part: Any) -> None:
        if not isinstance(part, str) or self.text_truncated:
            return
        room = MAX_ANSWER_CHARS - len(self.text)
        self.text += part[:room]
        self.text_truncated = len(part) > room

    def _tool(self, kind: str, data: dict[str, Any]) -> None:
        call_id = _str(data.get("id") if kind == "tool" else data.get("toolCallId")) or "?"
        call = self.tool_calls.get(call_id)
        if call is None:
            if len(self.tool_calls) >= MAX_TOOL_CALLS:
                return
            call = self.tool_calls[call_id] = {"id": call_id, "name": "?", "status": "pending"}
        name = _str(data.get("name") if kind == "tool" else data.get("toolName"))
        if name:
            call["name"] = name
        if kind == "tool":
            call["input"] = _short(data.get("input"))
            call["status"] = _str(data.get("status")) or call["status"]
        elif kind == "tool_execution_start":
            call["status"] = "running"
            self.phase = f"running tool {call['name']}"
        else:
            call["status"] = "succeeded" if data.get("success") is True else "failed"
            call["output"] = _short(data.get("progress"))
            self.phase = "thinking"

    def _permission(self, data: dict[str, Any]) -> None:
        params = data.get("params")
        entry = {
            "id": _str(data.get("id")) or "?",
            "tool_name": _str(data.get("toolName")) or "?",
            "action": _short(data.get("action")) or "?",
            "description": _short(data.get("description"), 1000) or "",
            "path": _short(data.get("path")),
            "command": _short(params.get("command"), 1000) if isinstance(params, dict) else None,
            "answer": "pending",
            "answered_by": None,
            "raw": {k: data.get(k) for k in ("id", "toolName", "action", "description", "path", "params")},
        }
        if len(self.permissions) < MAX_PERMISSIONS:
            self.permissions.append(entry)
        self.status = "permission_pending"
        self.phase = f"waiting for permission to use {entry['tool_name']}"

    def _error(self, data: dict[str, Any]) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(
                {
                    "error": _short(data.get("error"), 1000) or "unknown error",
                    "type": _str(data.get("type")),
                    "retry_after_ms": _int(data.get("retryAfter")),
                    "attempt": _int(data.get("attempt")),
                    "max_attempts": _int(data.get("maxAttempts")),
                }
            )
        retry_after = _int(data.get("retryAfter"))
        if data.get("type") == "cancelled":
            self.status, self.phase = "cancelled", "cancelled"
        elif retry_after is not None:
            self.phase = f"Mix retries in {retry_after / 1000:g} s after an error"
        else:
            self.status, self.phase = "failed", "failed"

    @property
    def pending_permission(self) -> dict[str, Any] | None:
        return next((p for p in reversed(self.permissions) if p["answer"] == "pending"), None)

    def answered(self, permission_id: str, granted: bool, by: str | None) -> None:
        for entry in self.permissions:
            if entry["id"] == permission_id:
                entry["answer"], entry["answered_by"] = ("granted" if granted else "denied"), by
        if self.status == "permission_pending":
            self.status = "running"

    def state(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> RunRecord:
        return cls(**state)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


# ------------------------------------------------------------------------------------ progress


ProgressSink = Callable[[float, str], Awaitable[None]]


@dataclass
class RunProgress:
    """Progress notifications from a run: every phase change, a repeat of the same phase once a second."""

    sink: ProgressSink | None
    _last_phase: str | None = None
    _last_time: float = -math.inf

    async def update(self, record: RunRecord) -> None:
        if self.sink is None:
            return
        now = time.monotonic()
        if record.phase == self._last_phase and now - self._last_time < PROGRESS_INTERVAL:
            return
        self._last_phase, self._last_time = record.phase, now
        try:
            await self.sink(float(record.events), record.phase)
        except Exception as exc:  # a client gone quiet must not end the run
            log_event(logger, logging.DEBUG, "progress_failed", error=type(exc).__name__)


def progress_sink(request: ServerRequestContext[Any] | None) -> ProgressSink | None:
    """Progress for this call when the client sent a progress token, else ``None``."""
    if request is None:
        return None
    meta = request.params.get("_meta") if request.params else None
    if not isinstance(meta, dict) or meta.get("progressToken") is None:
        return None

    async def sink(events: float, message: str) -> None:
        await request.session.report_progress(events, None, message)

    return sink


# --------------------------------------------------------------------------------------- calls


@dataclass(frozen=True, slots=True)
class CallContext:
    """What a tool that talks back to its caller needs besides the Mix client: the MCP request."""

    request: ServerRequestContext[Any] | None = None
    params: types.CallToolRequestParams | None = None
    stats: CallStats | None = None

    @property
    def modern(self) -> bool:
        return self.request is not None and self.request.protocol_version in MODERN_PROTOCOL_VERSIONS

    @property
    def can_ask(self) -> bool:
        return self.request is not None and permissions.can_elicit(self.request.session.client_capabilities)


RunnerResult = Shaped | types.InputRequiredResult
Runner = Callable[[MixClient, ToolArguments, CallContext], Awaitable[RunnerResult]]


class _Follow:
    """One call's following of one session's run."""

    def __init__(self, client: MixClient, args: SendMessageArguments, call: CallContext, record: RunRecord) -> None:
        self.client = client
        self.args = args
        self.call = call
        self.record = record
        self.progress = RunProgress(progress_sink(call.request))
        self.events: SessionEvents | None = None
        self.last_event_id: str | None = args.follow_from_event_id
        budget = client.settings.call_timeout - min(_DEADLINE_MARGIN, client.settings.call_timeout / 4)
        self.budget = min(float(args.max_wait_seconds or math.inf), budget)
        self.started = time.monotonic()

    def stream(self, after: str | None) -> SessionEvents:
        self.events = SessionEvents(
            self.client,
            self.args.session_id,
            last_event_id=after,
            heartbeat_timeout=self.client.settings.read_timeout,
            operation="send_message",
        )
        return self.events

    async def run(self, events: SessionEvents) -> RunnerResult:
        """Follow until the run is over, a question must go back to the client, or time is up."""
        try:
            with anyio.move_on_after(max(0.0, self.budget - (time.monotonic() - self.started))):
                async for event in events:
                    self.record.apply(event)
                    self.last_event_id = events.last_event_id
                    await self.progress.update(self.record)
                    if self.record.status in ("completed", "failed", "cancelled"):
                        return await self.result()
                    if self.record.status == "permission_pending":
                        asked = await self.ask()
                        if asked is not None:
                            return asked
            return await self.result()
        except anyio.get_cancelled_exc_class():
            # Not our own deadline (move_on_after keeps that inside): the client cancelled the call, or the
            # server is stopping. The run would go on unwatched, so it is cancelled in Mix, once.
            with anyio.CancelScope(shield=True), anyio.move_on_after(_SHIELDED_SECONDS):
                await cancel_processing(self.client, self.args.session_id, reason="the call was cancelled")
            raise

    async def ask(self) -> RunnerResult | None:
        """Put the pending permission to the user; ``None`` once answered (follow on), else the result to return."""
        pending = self.record.pending_permission
        assert pending is not None
        if not self.call.can_ask:
            return await self.result()
        if self.call.modern:
            state = {"session_id": self.args.session_id, "after": self.last_event_id, "record": self.record.state()}
            return types.InputRequiredResult(
                input_requests={permissions.PERMISSION_KEY: permissions.form(self.args.session_id, pending["raw"])},
                request_state=_STATE_PREFIX + json.dumps(state, separators=(",", ":")),
            )
        request = self.call.request
        assert request is not None
        try:
            answer = await request.session.elicit_form(
                permissions.question(self.args.session_id, pending["raw"]),
                permissions.PERMISSION_SCHEMA,
                related_request_id=request.request_id,
            )
        except (MCPError, NoBackChannelError, ValidationError) as exc:
            log_event(logger, logging.WARNING, "permission_not_asked", error=type(exc).__name__)
            return await self.result()
        return await self.decide(pending, permissions.decision(answer))

    async def decide(self, pending: dict[str, Any], granted: bool | None) -> RunnerResult | None:
        if granted is None:
            return await self.result()  # dismissed: it stays pending, for answer_permission
        await answer_permission_in_mix(self.client, pending["id"], granted)
        self.record.answered(pending["id"], granted, "user")
        self.record.phase = "permission granted" if granted else "permission denied"
        await self.progress.update(self.record)
        return None

    async def result(self) -> Shaped:
        record = self.record
        finished = record.status in ("completed", "failed", "cancelled")
        usage = await self.usage() if record.status == "completed" else None
        next_arguments = None
        next_step = None
        pending = record.pending_permission
        if not finished:
            next_arguments = {"session_id": self.args.session_id}
            if self.last_event_id is not None:
                next_arguments["follow_from_event_id"] = self.last_event_id
            if pending is not None:
                next_step = (
                    f"The run waits for permission {pending['id']!r} ({pending['description']}). Ask the user, then "
                    f"call answer_permission with permission_id={pending['id']!r} and grant true or false; then "
                    "call send_message with next_arguments to follow the run to its answer."
                )
            else:
                next_step = "The run goes on in Mix: call send_message with next_arguments to follow it on."
        elif record.status == "failed":
            next_step = "The run failed (see errors); list_messages shows what it wrote before."
        elif record.status == "cancelled":
            next_step = "The run was cancelled; list_messages shows what it wrote before."
        events = self.events
        structured = RunResult(
            session_id=self.args.session_id,
            status=record.status,  # type: ignore[arg-type]
            finished=finished,
            message_id=record.message_id,
            text=record.text,
            text_truncated=record.text_truncated,
            reasoning_duration_ms=record.reasoning_duration_ms,
            tool_calls=[RunToolCall(**call) for call in record.tool_calls.values()],
            permissions=[RunPermission(**{k: v for k, v in p.items() if k != "raw"}) for p in record.permissions],
            errors=[RunError(**e) for e in record.errors],
            usage=usage,
            events=record.events,
            last_event_id=self.last_event_id,
            reconnects=events.reconnects if events is not None else 0,
            next_arguments=next_arguments,
            next_step=next_step,
        ).model_dump(mode="json")
        return Shaped(structured)

    async def usage(self) -> RunUsage | None:
        baseline = self.record.baseline
        if baseline is None:
            return None
        try:
            after = await session_usage(self.client, self.args.session_id)
        except MixMCPError:
            return None
        return RunUsage(
            prompt_tokens=after["prompt_tokens"] - baseline["prompt_tokens"],
            completion_tokens=after["completion_tokens"] - baseline["completion_tokens"],
            cost=round(after["cost"] - baseline["cost"], 6),
        )


async def session_usage(client: MixClient, session_id: str) -> dict[str, Any]:
    data = await client.send(
        GET_SESSION, session_id=session_id, idempotent=True, operation="send_message", expect=SESSION
    )
    return {
        "prompt_tokens": data["promptTokens"],
        "completion_tokens": data["completionTokens"],
        "cost": data["cost"],
    }


async def cancel_processing(client: MixClient, session_id: str, *, reason: str) -> bool | None:
    """Ask Mix to stop the session's run; ``None`` when the cancel itself failed (logged, never raised)."""
    try:
        data = await client.send(
            CANCEL_SESSION_PROCESSING, session_id=session_id, idempotent=True, operation="cancel_run", expect=CANCELLED
        )
    except MixMCPError as exc:
        log_event(logger, logging.WARNING, "run_cancel_failed", reason=reason, error=type(exc).__name__)
        return None
    cancelled = data.get("cancelled") if isinstance(data, dict) else None
    log_event(logger, logging.INFO, "run_cancelled", reason=reason, cancelled=cancelled)
    return cancelled is True


async def answer_permission_in_mix(client: MixClient, permission_id: str, granted: bool) -> None:
    endpoint, expect = (GRANT_PERMISSION, GRANTED) if granted else (DENY_PERMISSION, DENIED)
    with anyio.CancelScope(shield=True), anyio.fail_after(_SHIELDED_SECONDS + client.settings.call_timeout):
        await client.send(endpoint, session_id=permission_id, idempotent=True, operation="answer_permission",
                          expect=expect)  # fmt: skip


def _resumed(call: CallContext, session_id: str) -> tuple[RunRecord, str | None, bool | None] | None:
    """The run a 2026-07-28 client comes back to after answering a permission question, or ``None``."""
    params = call.params
    if params is None or not isinstance(params.request_state, str):
        return None
    if not params.request_state.startswith(_STATE_PREFIX):
        return None
    state = json.loads(params.request_state.removeprefix(_STATE_PREFIX))
    if state.get("session_id") != session_id:
        return None
    answer = (params.input_responses or {}).get(permissions.PERMISSION_KEY)
    return RunRecord.from_state(state["record"]), state.get("after"), permissions.decision(answer)


async def send_message(client: MixClient, args: ToolArguments, call: CallContext) -> RunnerResult:
    """Send a message and follow its run (or follow a run already sent); see the module docstring."""
    assert isinstance(args, SendMessageArguments)
    resumed = _resumed(call, args.session_id)
    if resumed is not None:
        record, after, granted = resumed
        follow = _Follow(client, args, call, record)
        follow.last_event_id = after
        pending = record.pending_permission
        if pending is not None:
            decided = await follow.decide(pending, granted)
            if decided is not None:
                return decided
        async with follow.stream(after) as events:
            return await follow.run(events)
    if args.follow_from_event_id is not None:
        follow = _Follow(client, args, call, RunRecord())
        async with follow.stream(args.follow_from_event_id) as events:
            return await follow.run(events)
    return await _send_new(client, args, call)


async def _send_new(client: MixClient, args: SendMessageArguments, call: CallContext) -> RunnerResult:
    record = RunRecord()
    try:
        record.baseline = await session_usage(client, args.session_id)
    except MixMCPError as exc:
        if getattr(exc, "status", None) == 404:
            raise
        record.baseline = None
    follow = _Follow(client, args, call, record)
    async with follow.stream(None) as events:
        follow.last_event_id = events.connected_id
        body: dict[str, Any] = {"text": args.text}
        if "plan_mode" in args.model_fields_set:
            body["plan_mode"] = args.plan_mode
        await client.send(
            SEND_MESSAGE,
            session_id=args.session_id,
            body=body,
            idempotent=False,
            operation="send_message",
            expect=ACCEPTED,
            stats=call.stats,
        )
        if not args.wait:
            record.phase = "sent"
            return await follow.result()
        return await follow.run(events)


async def answer_permission(client: MixClient, args: ToolArguments, call: CallContext) -> RunnerResult:
    assert isinstance(args, AnswerPermissionArguments)
    endpoint, expect = (GRANT_PERMISSION, GRANTED) if args.grant else (DENY_PERMISSION, DENIED)
    await client.send(
        endpoint,
        session_id=args.permission_id,
        idempotent=False,
        operation="answer_permission",
        expect=expect,
        stats=call.stats,
    )
    verb = "granted" if args.grant else "denied"
    answer = PermissionAnswer(
        permission_id=args.permission_id,
        granted=args.grant,
        next_step=f"Permission {verb}; the run goes on. Call send_message with the next_arguments of the result "
        "that reported the request to follow the run to its answer.",
    )
    return Shaped(answer.model_dump(mode="json"))


def cancelled_result(data: Any, args: ToolArguments) -> Shaped:
    """cancel_run's answer: what Mix says it stopped."""
    session_id = getattr(args, "session_id", "")
    cancelled = isinstance(data, dict) and data.get("cancelled") is True
    step = (
        "The run was stopped; list_messages shows what it wrote before."
        if cancelled
        else "No run was in progress in this session; nothing was stopped."
    )
    return Shaped(RunCancelled(session_id=session_id, cancelled=cancelled, next_step=step).model_dump(mode="json"))


SEND_HINTS: Final = ErrorHints(
    bad_request="Fix the arguments named in the message; Mix refuses a message while the session is still "
    "processing one (cancel_run stops it, or follow it with send_message and follow_from_event_id).",
    maybe_applied="The message may have reached Mix before the failure: call list_messages and look for it "
    "before sending it again (a repeat would run the agent twice).",
)
PERMISSION_HINTS: Final = ErrorHints(
    not_found="The permission request is no longer pending (already answered, or its run ended): call "
    "send_message with follow_from_event_id to see where the run stands.",
    maybe_applied="The answer may have reached Mix: follow the run with send_message before answering again.",
)
