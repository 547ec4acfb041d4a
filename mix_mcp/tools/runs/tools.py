"""The run tools: send_message, follow_run, answer_permission, answer_notification, cancel_run's answer.

Mix's ``sendMessage`` only says 202: the agent runs on, and reports on the session's event stream.
``send_message`` opens that stream first and waits for Mix to confirm it (so no event can slip by,
and a stream that never confirms costs nothing: the message has not left), sends the message once
(never retried after it may have left), and follows the run for a bounded wait. ``follow_run``
follows a run already sent, from an event id a result gave. One tool, one job: neither does the
other's work, and every unfinished result names the next call (``follow_run``) with its arguments.
"""

from __future__ import annotations

import json
from typing import Any, Final

from pydantic import TypeAdapter

from mix_mcp.mix.client import MixClient
from mix_mcp.mix.endpoints import DENY_PERMISSION, GRANT_PERMISSION, RESPOND_TO_NOTIFICATION, SEND_MESSAGE
from mix_mcp.mix.errors import ErrorHints, MixAPIError, MixMCPError
from mix_mcp.mix.models import MessageAccepted
from mix_mcp.tools.arguments import (
    AnswerNotificationArguments,
    AnswerPermissionArguments,
    FollowRunArguments,
    SendMessageArguments,
    ToolArguments,
)
from mix_mcp.tools.rendering import Shaped
from mix_mcp.tools.runs.follow import (
    CANCELLED,
    DENIED,
    GRANTED,
    CallContext,
    RunFollower,
    RunFollowError,
    RunnerResult,
    RunNotSentError,
    SessionBusyError,
    is_busy,
    resume,
    resumed_run,
    session_usage,
)
from mix_mcp.tools.runs.record import RunRecord
from mix_mcp.tools.runs.results import NotificationAnswer, PermissionAnswer, RunCancelled

ACCEPTED: Final = TypeAdapter(MessageAccepted)
__all__ = ["CANCELLED", "answer_notification", "answer_permission", "cancelled_result", "follow_run", "send_message"]


def message_body(args: SendMessageArguments) -> dict[str, Any]:
    """What Mix receives: the text, and each option only when the caller chose it (null means left out)."""
    body: dict[str, Any] = {"text": args.text}
    for name in ("plan_mode", "max_steps", "thinking_level"):
        if name in args.model_fields_set and getattr(args, name) is not None:
            body[name] = getattr(args, name)
    return body


async def send_message(client: MixClient, args: ToolArguments, call: CallContext) -> RunnerResult:
    """Send a message and follow its run for a bounded wait; see the module docstring."""
    assert isinstance(args, SendMessageArguments)
    resumed = resumed_run(call, args.session_id)
    if resumed is not None:
        return await resume(client, args.session_id, call, resumed, "send_message")
    record = RunRecord()
    try:
        record.baseline = await session_usage(client, args.session_id, "send_message")
    except MixMCPError as exc:
        if getattr(exc, "status", None) == 404:
            raise
        record.baseline = None
    follower = RunFollower(
        client, args.session_id, call, record, wait=args.max_wait_seconds, sent=False, operation="send_message"
    )
    events = follower.stream(None)
    try:
        await events.__aenter__()
    except MixMCPError as exc:
        raise RunNotSentError(args.session_id, exc) from None
    try:
        follower.last_event_id = events.last_event_id
        try:
            await client.send(
                SEND_MESSAGE,
                session_id=args.session_id,
                body=message_body(args),
                idempotent=False,
                operation="send_message",
                expect=ACCEPTED,
                stats=call.stats,
            )
        except MixAPIError as exc:
            if is_busy(exc):
                raise SessionBusyError(args.session_id, exc) from None
            raise
        follower.sent = True
        if not args.wait:
            record.phase = "sent"
            return await follower.result()
        return await follower.run(events)
    finally:
        await events.aclose()


async def follow_run(client: MixClient, args: ToolArguments, call: CallContext) -> RunnerResult:
    """Follow a run already sent, from just after ``after_event_id``, for a bounded wait. Sends nothing."""
    assert isinstance(args, FollowRunArguments)
    resumed = resumed_run(call, args.session_id)
    if resumed is not None:
        return await resume(client, args.session_id, call, resumed, "follow_run")
    follower = RunFollower(
        client, args.session_id, call, RunRecord(), wait=args.max_wait_seconds, sent=False, operation="follow_run"
    )
    events = follower.stream(args.after_event_id)
    try:
        await events.__aenter__()
    except MixMCPError as exc:
        if isinstance(exc, MixAPIError) and exc.status == 404:
            raise
        raise RunFollowError(args.session_id, args.after_event_id, exc, sent=False) from None
    try:
        return await follower.run(events)
    finally:
        await events.aclose()


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
        next_step=f"Permission {verb}; the run goes on. Call follow_run with the next_arguments.arguments of the "
        "result that reported the request to follow the run to its answer.",
    )
    return Shaped(answer.model_dump(mode="json"))


async def answer_notification(client: MixClient, args: ToolArguments, call: CallContext) -> RunnerResult:
    assert isinstance(args, AnswerNotificationArguments)
    kind = args.response_type or ("acknowledge" if args.value is None else "text")
    body: dict[str, Any] = {"type": kind}
    if args.value is not None:
        body["value"] = args.value
    await client.send(
        RESPOND_TO_NOTIFICATION,
        session_id=args.notification_id,
        body=body,
        idempotent=False,
        operation="answer_notification",
        stats=call.stats,
    )
    answer = NotificationAnswer(
        notification_id=args.notification_id,
        response_type=kind,
        value=args.value,
        next_step="Answer sent; the run goes on. Call follow_run with the next_arguments.arguments of the result "
        "that reported the question to follow the run to its answer.",
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


def _follow_hint(session_id_placeholder: str = "<session_id>") -> str:
    return f"follow_run with arguments {json.dumps({'session_id': session_id_placeholder})}"


SEND_HINTS: Final = ErrorHints(
    bad_request="Fix the arguments named in the message and call again (the message was not run).",
    maybe_applied="The message may have reached Mix before the failure: call list_messages (or "
    + _follow_hint()
    + ") and look for it before sending it again (a repeat would run the agent twice).",
)
FOLLOW_HINTS: Final = ErrorHints(not_found="Call list_sessions to see the ids that exist.")
PERMISSION_HINTS: Final = ErrorHints(
    not_found="The permission request is no longer pending (already answered, or its run ended): call "
    + _follow_hint()
    + " to see where the run stands.",
    maybe_applied="The answer may have reached Mix: follow the run with follow_run before answering again.",
)
NOTIFICATION_HINTS: Final = ErrorHints(
    not_found="The notification is no longer pending (already answered, timed out, or its run ended): call "
    + _follow_hint()
    + " to see where the run stands.",
    bad_request="Mix refused the answer: check response_type and value against the question (a 'choice' takes "
    "one of its choices as value) and call again.",
    maybe_applied="The answer may have reached Mix: follow the run with follow_run before answering again.",
)
