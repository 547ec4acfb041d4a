"""Following one session's run for one tool call: events in, a result (or a question for the user) out.

``RunFollower`` reads the session's events into a ``RunRecord`` for a bounded wait (the server's
``run_wait`` unless the call asks for longer, always inside the call's deadline), then returns where
the run stands with the ``follow_run`` call that goes on from the last event read. A permission or a
question is put to the user by elicitation when the client can ask (the wait starts afresh once
they answered); otherwise the result says what waits, and for whom.

Failures are worded by what they mean for the message: before it left (``RunNotSentError``: nothing
ran, a retry is safe) or after (``RunFollowError``: it was sent, never send it again, here is how
to look). Every next call handed out is one the named tool accepts as it is.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

import anyio
import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.shared.exceptions import MCPError, NoBackChannelError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import TypeAdapter, ValidationError

from mix_mcp.mix.client import SESSION, CallStats, MixClient
from mix_mcp.mix.endpoints import (
    CANCEL_SESSION_PROCESSING,
    DENY_PERMISSION,
    GET_SESSION,
    GET_SESSION_MESSAGES,
    GRANT_PERMISSION,
    RESPOND_TO_NOTIFICATION,
)
from mix_mcp.mix.errors import ErrorHints, MixAPIError, MixMCPError
from mix_mcp.mix.events import SessionEvents, StreamError
from mix_mcp.mix.models import PermissionDenied, PermissionGranted, ProcessingCancelled
from mix_mcp.observe.logs import log_event
from mix_mcp.tools import permissions
from mix_mcp.tools.arguments import FollowRunArguments, ToolArguments
from mix_mcp.tools.rendering import Shaped
from mix_mcp.tools.runs import questions
from mix_mcp.tools.runs.progress import RunProgress, progress_sink
from mix_mcp.tools.runs.record import SHOWN_CHARS, RunRecord, shorten
from mix_mcp.tools.runs.results import (
    FINISHED,
    NextCall,
    RunError,
    RunNotification,
    RunPermission,
    RunResult,
    RunSubAgent,
    RunToolCall,
    RunUsage,
)

logger = logging.getLogger("mix_mcp.runs")

GRANTED: Final = TypeAdapter(PermissionGranted)
DENIED: Final = TypeAdapter(PermissionDenied)
CANCELLED: Final = TypeAdapter(ProcessingCancelled)

#: Time kept back from the call deadline to shape and send the result.
_DEADLINE_MARGIN: Final = 2.0
#: How long a cancel or an answer may take when the call itself is being cancelled.
_SHIELDED_SECONDS: Final = 10.0
#: Longest wait for Mix's stored messages (the tool outputs) once a run finished.
_OUTPUTS_SECONDS: Final = 5.0
#: Prefix of the request state a 2026-07-28 client echoes after answering a question.
_STATE_PREFIX: Final = "mix-mcp/run/v2:"
_MAX_STATE_CHARS: Final = 4_000_000
#: What Mix says when a message arrives while the session still runs the previous one.
_BUSY: Final = re.compile(r"already processing|still processing|is processing|busy|in progress", re.IGNORECASE)

QUESTION_STATUSES: Final = ("permission_pending", "question_pending")


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


# ------------------------------------------------------------------------------------ next calls


def follow_call(session_id: str, last_event_id: str | None) -> tuple[NextCall, str | None]:
    """The ``follow_run`` call that goes on from ``last_event_id``, and a note when it had to leave it out.

    The arguments are checked against ``follow_run``'s own model, so the call is always accepted.
    """
    arguments: dict[str, Any] = {"session_id": session_id}
    note = None
    if last_event_id is not None:
        try:
            FollowRunArguments.model_validate({"session_id": session_id, "after_event_id": last_event_id})
            arguments["after_event_id"] = last_event_id
        except ValidationError:
            note = "Mix's last event id cannot be sent back to it"
    else:
        note = "Mix gave no event id to resume from"
    if note is not None:
        note += (
            ", so after_event_id is left out: follow_run then reads the run from the moment it connects; the "
            "answer still arrives whole with Mix's 'complete' event, and list_messages shows what came before."
        )
    return NextCall(tool="follow_run", arguments=arguments), note


def as_text(call: NextCall) -> str:
    return f"{call.tool} with arguments {json.dumps(call.arguments, ensure_ascii=False)}"


def _cause(error: MixMCPError) -> str:
    if isinstance(error, StreamError):
        return str(error).rstrip(".")
    return error.explain(ErrorHints(not_found="The session does not exist (any more).")).rstrip(".")


class RunNotSentError(MixMCPError):
    """The stream could not be confirmed, so the message never left: nothing ran, a retry is safe."""

    def __init__(self, session_id: str, cause: MixMCPError) -> None:
        super().__init__(str(cause))
        self.session_id, self.cause = session_id, cause

    def describe(self, hints: ErrorHints) -> str:
        if isinstance(self.cause, MixAPIError) and (self.cause.status == 404 or self.cause.missing):
            return f"{self.cause.describe(hints)} The message was NOT sent."
        return (
            f"send_message failed before sending: {_cause(self.cause)}. The message was NOT sent to Mix (mix-mcp "
            "sends it only after Mix confirms the session's event stream), so nothing ran and calling "
            "send_message again is safe."
        )


class RunFollowError(MixMCPError):
    """Following a run failed. When this call sent the message, it was sent: never send it again."""

    def __init__(self, session_id: str, last_event_id: str | None, cause: MixMCPError, *, sent: bool) -> None:
        super().__init__(str(cause))
        self.session_id, self.last_event_id, self.cause, self.sent = session_id, last_event_id, cause, sent

    def describe(self, hints: ErrorHints) -> str:
        call, note = follow_call(self.session_id, self.last_event_id)
        look = (
            f"To see where the run stands, call {as_text(call)}"
            + (f" ({note})" if note else "")
            + f", or list_messages with arguments {json.dumps({'session_id': self.session_id})}"
        )
        if self.sent:
            return (
                "Your message WAS sent: Mix accepted it and the agent run goes on there. Do NOT send it again "
                f"(that would run the agent twice). Following the run then failed: {_cause(self.cause)}. "
                f"{look}; cancel_run stops the run."
            )
        return (
            f"Following the run of session {self.session_id!r} failed: {_cause(self.cause)}. Nothing was sent. {look}."
        )


class SessionBusyError(MixMCPError):
    """Mix refused a message because the session still runs an earlier one."""

    def __init__(self, session_id: str, cause: MixAPIError) -> None:
        super().__init__(str(cause))
        self.session_id, self.cause = session_id, cause

    def describe(self, hints: ErrorHints) -> str:
        ids = json.dumps({"session_id": self.session_id})
        return (
            f"Mix refused the message: session {self.session_id!r} is still processing an earlier message "
            f"(HTTP {self.cause.status} from {self.cause.method} {self.cause.path}: {self.cause.message!r}). "
            f"This message was NOT sent. Follow the run in progress with follow_run with arguments {ids} (or the "
            f"next_arguments of the result that started it), or stop it with cancel_run with arguments {ids}; "
            "then send this message again."
        )


def is_busy(error: MixAPIError) -> bool:
    return error.status in (400, 409, 423) and bool(_BUSY.search(error.message))


class RunStateError(MixMCPError):
    """A 2026-07-28 client came back with a request state this server cannot read."""

    def __init__(self, session_id: str) -> None:
        call, _ = follow_call(session_id, None)
        super().__init__(
            "The request state sent back with this call could not be read, so the question it answered is lost; "
            f"nothing was sent again. Call {as_text(call)} to see where the run stands."
        )

    def describe(self, hints: ErrorHints) -> str:
        return str(self)


# ---------------------------------------------------------------------------- requests to Mix


async def session_usage(client: MixClient, session_id: str, operation: str) -> dict[str, Any]:
    data = await client.send(GET_SESSION, session_id=session_id, idempotent=True, operation=operation, expect=SESSION)
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
        await client.send(
            endpoint, session_id=permission_id, idempotent=True, operation="answer_permission", expect=expect
        )


async def respond_in_mix(client: MixClient, notification_id: str, body: dict[str, Any]) -> None:
    with anyio.CancelScope(shield=True), anyio.fail_after(_SHIELDED_SECONDS + client.settings.call_timeout):
        await client.send(
            RESPOND_TO_NOTIFICATION,
            session_id=notification_id,
            body=body,
            idempotent=False,
            operation="answer_notification",
        )


async def stored_messages(client: MixClient, session_id: str) -> list[dict[str, Any]]:
    """Mix's stored messages of the session (where tool outputs are), or ``[]`` when they cannot be read."""
    try:
        with anyio.fail_after(_OUTPUTS_SECONDS):
            data = await client.send(
                GET_SESSION_MESSAGES, session_id=session_id, idempotent=True, operation="follow_run"
            )
    except (MixMCPError, TimeoutError) as exc:
        log_event(logger, logging.INFO, "run_outputs_unread", error=type(exc).__name__)
        return []
    return [m for m in data if isinstance(m, dict)] if isinstance(data, list) else []


# ----------------------------------------------------------------------------------- following


class RunFollower:
    """One call's following of one session's run."""

    def __init__(
        self,
        client: MixClient,
        session_id: str,
        call: CallContext,
        record: RunRecord,
        *,
        wait: float | None,
        sent: bool,
        operation: str,
    ) -> None:
        settings = client.settings
        self.client, self.session_id, self.call, self.record = client, session_id, call, record
        self.sent, self.operation = sent, operation
        self.progress = RunProgress(progress_sink(call.request))
        self.events: SessionEvents | None = None
        self.last_event_id: str | None = None
        now = time.monotonic()
        self.call_deadline = now + settings.call_timeout - min(_DEADLINE_MARGIN, settings.call_timeout / 4)
        self.wait = float(wait) if wait is not None else settings.run_wait
        self.wait_deadline = min(now + self.wait, self.call_deadline)

    def _left(self, deadline: float) -> float:
        return max(0.0, deadline - time.monotonic())

    def stream(self, after: str | None) -> SessionEvents:
        self.last_event_id = after
        self.events = SessionEvents(
            self.client,
            self.session_id,
            last_event_id=after,
            heartbeat_timeout=self.client.settings.read_timeout,
            confirm_timeout=max(0.5, self._left(self.wait_deadline)),
            operation=self.operation,
        )
        return self.events

    async def run(self, events: SessionEvents) -> RunnerResult:
        """Follow until the run is over, a question must go back to the client, or the wait is up."""
        try:
            while True:
                with anyio.move_on_after(self._left(self.wait_deadline)):
                    async for event in events:
                        self.record.apply(event)
                        self.last_event_id = events.last_event_id
                        await self.progress.update(self.record)
                        if self.record.status in FINISHED:
                            return await self.result()
                        if self.record.status in QUESTION_STATUSES:
                            break
                if self.record.status not in QUESTION_STATUSES:
                    return await self.result()
                asked = await self.ask()
                if asked is not None:
                    return asked
                self.wait_deadline = min(time.monotonic() + self.wait, self.call_deadline)
        except anyio.get_cancelled_exc_class():
            # Not our own wait (move_on_after keeps that inside): the client cancelled the call, or the
            # server is stopping. A run this call started would go on unwatched: it is cancelled, once.
            if self.sent:
                with anyio.CancelScope(shield=True), anyio.move_on_after(_SHIELDED_SECONDS):
                    await cancel_processing(self.client, self.session_id, reason="the call was cancelled")
            raise
        except MixMCPError as exc:
            raise RunFollowError(self.session_id, self.last_event_id, exc, sent=self.sent) from None

    # ------------------------------------------------------------------------------- questions

    async def ask(self) -> RunnerResult | None:
        """Put the pending permission or question to the user; ``None`` once answered, else the result."""
        permission, question = self.record.pending_permission, self.record.pending_question
        if not self.call.can_ask:
            return await self.result()
        if permission is not None:
            kind, key, request = (
                "permission",
                permissions.PERMISSION_KEY,
                permissions.form(self.session_id, permission["raw"]),
            )
        else:
            assert question is not None
            kind, key, request = "notification", questions.NOTIFICATION_KEY, questions.form(self.session_id, question)
        if self.call.modern:
            state = {
                "session_id": self.session_id,
                "after": self.last_event_id,
                "record": self.record.state(),
                "asked": kind,
                "sent": self.sent,
                "wait": self.wait,
            }
            return types.InputRequiredResult(
                input_requests={key: request},
                request_state=_STATE_PREFIX + json.dumps(state, separators=(",", ":")),
            )
        context = self.call.request
        assert context is not None and isinstance(request.params, types.ElicitRequestFormParams)
        answer: Any = None
        with anyio.move_on_after(self._ask_time(question if kind == "notification" else None)):
            try:
                answer = await context.session.elicit_form(
                    request.params.message, request.params.requested_schema, related_request_id=context.request_id
                )
            except (MCPError, NoBackChannelError, ValidationError) as exc:
                log_event(logger, logging.WARNING, "question_not_asked", kind=kind, error=type(exc).__name__)
        return await self.decide(kind, answer)

    def _ask_time(self, question: dict[str, Any] | None) -> float:
        left = self._left(self.call_deadline)
        timeout = question.get("timeout_seconds") if question is not None else None
        return min(left, float(timeout)) if isinstance(timeout, int) and timeout > 0 else left

    async def decide(self, kind: str, answer: Any) -> RunnerResult | None:
        """Carry out the user's answer in Mix; the result to return when they gave none."""
        if kind == "permission":
            pending = self.record.pending_permission
            granted = permissions.decision(answer)
            if pending is None or granted is None:
                return await self.result()  # dismissed: it stays pending, for answer_permission
            await answer_permission_in_mix(self.client, pending["id"], granted)
            self.record.answered(pending["id"], granted, "user")
            self.record.phase = "permission granted" if granted else "permission denied"
        else:
            question = self.record.pending_question
            body = questions.response(question, answer) if question is not None else None
            if question is None or body is None:
                return await self.result()  # no answer: it stays pending, for answer_notification
            await respond_in_mix(self.client, question["id"], body)
            self.record.question_answered(question["id"], "user")
            self.record.phase = "question answered"
        await self.progress.update(self.record)
        return None

    # --------------------------------------------------------------------------------- results

    async def result(self) -> Shaped:
        record = self.record
        finished = record.status in FINISHED
        if finished and record.status != "session_deleted":
            record.attach_outputs(await stored_messages(self.client, self.session_id))
        usage = await self.usage() if record.status == "completed" else None
        next_call, next_step = None, None
        if not finished:
            next_call, note = follow_call(self.session_id, self.last_event_id)
            next_step = self._waiting_step(next_call) + (f" {note}" if note else "")
        elif record.status == "failed":
            next_step = "The run failed (see errors); list_messages shows what it wrote before."
        elif record.status == "cancelled":
            next_step = "The run was cancelled; list_messages shows what it wrote before."
        elif record.status == "session_deleted":
            next_step = "The session was deleted while the run went on: its messages are gone with it."
        events = self.events
        structured = RunResult(
            session_id=self.session_id,
            status=record.status,  # type: ignore[arg-type]
            finished=finished,
            sent=self.sent,
            message_id=record.message_id,
            text=record.text,
            text_truncated=record.text_truncated,
            reasoning=record.reasoning,
            reasoning_duration_ms=record.reasoning_duration_ms,
            tool_calls=[
                RunToolCall(
                    **{
                        **call,
                        "input": shorten(call["input"], SHOWN_CHARS),
                        "output": shorten(call["output"], SHOWN_CHARS),
                    }
                )
                for call in record.tool_calls.values()
            ],
            sub_agents=[RunSubAgent(**agent) for agent in record.sub_agents.values()],
            permissions=[RunPermission(**{k: v for k, v in p.items() if k != "raw"}) for p in record.permissions],
            notifications=[RunNotification(**n) for n in record.notifications],
            errors=[RunError(**e) for e in record.errors],
            usage=usage,
            events=record.events,
            last_event_id=self.last_event_id,
            reconnects=events.reconnects if events is not None else 0,
            next_arguments=next_call,
            next_step=next_step,
        ).model_dump(mode="json")
        return Shaped(structured)

    def _waiting_step(self, call: NextCall) -> str:
        record = self.record
        follow = f"then call {call.tool} with next_arguments.arguments to follow the run to its answer."
        permission, question = record.pending_permission, record.pending_question
        if record.status == "permission_pending" and permission is not None:
            answer = json.dumps({"permission_id": permission["id"], "grant": True})
            return (
                f"The run waits for permission {permission['id']!r} ({permission['description']}). Ask the user; "
                f"then call answer_permission with arguments {answer} (grant false to deny); {follow}"
            )
        if record.status == "question_pending" and question is not None:
            arguments: dict[str, Any] = {"notification_id": question["id"], "response_type": question["response_type"]}
            if question["response_type"] != "acknowledge":
                arguments["value"] = "<the user's answer>"
            choices = f" Choices: {json.dumps(question['choices'])}." if question.get("choices") else ""
            timeout = question.get("timeout_seconds")
            within = f" Mix waits {timeout} s for the answer." if timeout else ""
            return (
                f"The agent asks the user a question (notification {question['id']!r}): {question['title']}: "
                f"{question['message']}.{choices}{within} Put it to the user and never answer for them; then call "
                f"answer_notification with arguments {json.dumps(arguments)}; {follow}"
            )
        return (
            f"The run goes on in Mix (this call waits at most {self.wait:g} s): call {call.tool} with "
            "next_arguments.arguments to follow it on; nothing is sent again."
        )

    async def usage(self) -> RunUsage | None:
        baseline = self.record.baseline
        if baseline is None:
            return None
        try:
            after = await session_usage(self.client, self.session_id, self.operation)
        except MixMCPError:
            return None
        return RunUsage(
            prompt_tokens=after["prompt_tokens"] - baseline["prompt_tokens"],
            completion_tokens=after["completion_tokens"] - baseline["completion_tokens"],
            cost=round(after["cost"] - baseline["cost"], 6),
        )


# --------------------------------------------------------------------------- coming back (2026-07-28)


@dataclass(frozen=True, slots=True)
class Resumed:
    """A run a 2026-07-28 client comes back to, with the user's answer to the question it was asked."""

    record: RunRecord
    after: str | None
    asked: str
    answer: Any
    sent: bool
    wait: float | None


def resumed_run(call: CallContext, session_id: str) -> Resumed | None:
    """The run this call comes back to (its request state is ours), or ``None`` for a fresh call."""
    params = call.params
    if params is None or not isinstance(params.request_state, str):
        return None
    if not params.request_state.startswith(_STATE_PREFIX):
        return None
    try:
        if len(params.request_state) > _MAX_STATE_CHARS:
            raise ValueError("request state too large")
        state = json.loads(params.request_state.removeprefix(_STATE_PREFIX))
        if state.get("session_id") != session_id:
            raise ValueError("another session's state")
        asked = state["asked"]
        key = permissions.PERMISSION_KEY if asked == "permission" else questions.NOTIFICATION_KEY
        wait = state.get("wait")
        return Resumed(
            record=RunRecord.from_state(state["record"]),
            after=state.get("after"),
            asked=asked,
            answer=(params.input_responses or {}).get(key),
            sent=state.get("sent") is True,
            wait=float(wait) if isinstance(wait, int | float) else None,
        )
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
        raise RunStateError(session_id) from None


async def resume(
    client: MixClient, session_id: str, call: CallContext, resumed: Resumed, operation: str
) -> RunnerResult:
    """Carry out the answer the client brought back, then follow on from where the question was asked."""
    follower = RunFollower(
        client, session_id, call, resumed.record, wait=resumed.wait, sent=resumed.sent, operation=operation
    )
    follower.last_event_id = resumed.after
    try:
        decided = await follower.decide(resumed.asked, resumed.answer)
    except MixMCPError as exc:
        raise RunFollowError(session_id, resumed.after, exc, sent=resumed.sent) from None
    if decided is not None:
        return decided
    events = follower.stream(resumed.after)
    try:
        await events.__aenter__()
    except MixMCPError as exc:
        raise RunFollowError(session_id, resumed.after, exc, sent=resumed.sent) from None
    try:
        return await follower.run(events)
    finally:
        await events.aclose()
