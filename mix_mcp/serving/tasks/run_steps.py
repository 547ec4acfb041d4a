"""The one place where tasks meet the run tools: send a message once, follow its run a slice at a time.

A task drives its run through the same tool calls a client would make, so that its result is the
result of the plain call: ``send_message`` with ``wait`` false sends the message (once) and says
where the session's event stream stood; ``follow_run`` follows the run for up to a call's deadline
and says where it stopped. Between slices the task records that
event id, which is what lets another process resume the run without losing or repeating an event.

Two things a plain call does are not wanted here, and this module is where they are turned off:

* the follower puts a permission request or a question to the user by elicitation when the client
  can ask; here the "client" declares no elicitation, so the call returns it as pending and the task
  asks through ``inputRequests`` instead;
* a follower that is cancelled cancels the run in Mix, since nobody would watch it any more; a
  task's follower is cancelled when its process stops, and then another process resumes the run,
  so its client refuses to cancel runs (only ``tasks/cancel`` does, with the ordinary client).

The follower's progress reports are how the task hears the run's phase ("thinking", "running tool
Bash"): the call's request is a small stand-in whose progress goes to the task.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol, cast

import mcp_types as types
from mcp.server.context import ServerRequestContext

from mix_mcp.mix.client import MixClient
from mix_mcp.mix.endpoints import CANCEL_SESSION_PROCESSING
from mix_mcp.mix.errors import MixMCPError
from mix_mcp.tools import permissions
from mix_mcp.tools.arguments import MAX_WAIT_SECONDS
from mix_mcp.tools.operations import OPERATIONS_BY_NAME, Operation
from mix_mcp.tools.rendering import compact_json
from mix_mcp.tools.runs import questions
from mix_mcp.tools.runs.follow import (
    CallContext,
    answer_permission_in_mix,
    cancel_processing,
    respond_in_mix,
    session_usage,
)
from mix_mcp.tools.runs.results import FINISHED

#: The tools that run as tasks: one sends and follows, the other follows a run already sent.
TASK_TOOLS: Final = frozenset({"send_message", "follow_run"})
_SEND: Final = "send_message"
_FOLLOW: Final = "follow_run"
#: Lists of a run result whose items have an id, merged item by item over the slices.
_BY_ID: Final = {"tool_calls": "id", "permissions": "id", "notifications": "id", "sub_agents": "parent_tool_call_id"}
#: Bounds, as the run tools keep them.
_MAX_ERRORS: Final = 20

PhaseSink = Callable[[str], Awaitable[None]]


class ToolRunner(Protocol):
    """``serving.server.run_tool``: the whole life of one tool call (handed in, to keep imports one-way)."""

    async def __call__(
        self, client: MixClient, op: Operation, arguments: Mapping[str, Any] | None, *, call: CallContext | None = ...
    ) -> types.CallToolResult | types.InputRequiredResult: ...


@dataclass(frozen=True)
class Step:
    """What one call gave: its result, and where the run stands after it."""

    result: types.CallToolResult
    #: The run's status ('completed', 'running', 'permission_pending', 'failed', 'cancelled'), or None
    #: when the call itself failed (its result is the error).
    status: str | None
    last_event_id: str | None

    @property
    def structured(self) -> dict[str, Any]:
        return self.result.structured_content or {}

    @property
    def finished(self) -> bool:
        """The run is over: completed, failed, cancelled, or its session deleted."""
        return self.status in FINISHED

    @property
    def pending_permissions(self) -> list[dict[str, Any]]:
        return [p for p in self.structured.get("permissions", []) if p.get("answer") == "pending"]

    @property
    def pending_questions(self) -> list[dict[str, Any]]:
        return [n for n in self.structured.get("notifications", []) if n.get("answer") == "pending"]


def is_task_call(op: Operation, arguments: Mapping[str, Any]) -> bool:
    """A run to drive: ``send_message`` (unless ``wait`` is false: it answers at once anyway) or ``follow_run``."""
    return op.name in TASK_TOOLS and arguments.get("wait") is not False


#: What a task keeps of the call's arguments: the message and how to send it, or where to follow from.
_KEPT: Final = ("session_id", "text", "plan_mode", "max_steps", "thinking_level", "after_event_id")


def run_arguments(arguments: Mapping[str, Any]) -> dict[str, Any]:
    return {k: arguments[k] for k in _KEPT if arguments.get(k) is not None}


class _PhaseListener:
    """Stands in for the MCP request of a plain call: asks for progress, declares no elicitation."""

    def __init__(self, sink: PhaseSink) -> None:
        self._sink = sink
        self.params: dict[str, Any] = {"_meta": {"progressToken": "task"}}
        self.session = self
        self.client_capabilities: types.ClientCapabilities | None = None
        self.protocol_version = "task"
        self.request_id = None

    async def report_progress(self, _progress: float, _total: float | None, message: str | None) -> None:
        if message:
            await self._sink(message)


class _NoCancelClient:
    """The Mix client for a task's follower: everything passes through, except cancelling the run."""

    def __init__(self, client: MixClient) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    async def send(self, endpoint: Any, **kwargs: Any) -> Any:
        if endpoint is CANCEL_SESSION_PROCESSING:
            raise _NotCancelled("a task's follower leaves the run to whoever resumes it")
        return await self._client.send(endpoint, **kwargs)


class _NotCancelled(MixMCPError):
    """Refused on purpose: logged by the follower as a cancel that did not happen, and nothing else."""


class RunSteps:
    def __init__(self, run_tool: ToolRunner) -> None:
        self._run_tool = run_tool

    async def _call(self, client: MixClient, tool: str, arguments: dict[str, Any], sink: PhaseSink | None) -> Step:
        listener = _PhaseListener(sink) if sink is not None else None
        request = cast("ServerRequestContext[Any] | None", listener)
        result = await self._run_tool(
            cast("MixClient", _NoCancelClient(client)),
            OPERATIONS_BY_NAME[tool],
            arguments,
            call=CallContext(request),
        )
        if not isinstance(result, types.CallToolResult):  # never: this stand-in declares no elicitation
            raise TypeError("the run follower asked a question of a task")
        structured = result.structured_content or {}
        status = structured.get("status") if not result.is_error else None
        last = structured.get("last_event_id")
        return Step(result, status if isinstance(status, str) else None, last if isinstance(last, str) else None)

    async def send(self, client: MixClient, arguments: dict[str, Any]) -> Step:
        """Send the message (Mix gets it once: a send is never retried after it may have left)."""
        body: dict[str, Any] = {k: v for k, v in arguments.items() if k != "after_event_id"}
        return await self._call(client, _SEND, {**body, "wait": False}, None)

    async def follow(self, client: MixClient, session_id: str, after: str | None, sink: PhaseSink) -> Step:
        """Follow the run from just after event ``after`` (from now when None), for up to one call's deadline."""
        arguments: dict[str, Any] = {"session_id": session_id, "max_wait_seconds": MAX_WAIT_SECONDS}
        if after is not None:
            arguments["after_event_id"] = after
        return await self._call(client, _FOLLOW, arguments, sink)


async def usage_of(client: MixClient, session_id: str) -> dict[str, Any] | None:
    try:
        return await session_usage(client, session_id, "send_message")
    except MixMCPError:
        return None


async def answer_permission(client: MixClient, permission_id: str, granted: bool) -> None:
    await answer_permission_in_mix(client, permission_id, granted)


async def answer_question(client: MixClient, notification_id: str, body: dict[str, Any]) -> None:
    await respond_in_mix(client, notification_id, body)


async def cancel_run(client: MixClient, session_id: str) -> bool | None:
    return await cancel_processing(client, session_id, reason="tasks/cancel")


def permission_request(session_id: str, permission: Mapping[str, Any]) -> dict[str, Any]:
    """The ``elicitation/create`` request that asks the user about a pending permission, as the wire has it."""
    raw = {
        "id": permission.get("id"),
        "toolName": permission.get("tool_name"),
        "action": permission.get("action"),
        "description": permission.get("description"),
        "path": permission.get("path"),
        "params": {"command": permission["command"]} if permission.get("command") else None,
    }
    return permissions.form(session_id, raw).model_dump(by_alias=True, mode="json", exclude_none=True)


def question_request(session_id: str, notification: Mapping[str, Any]) -> dict[str, Any]:
    """The ``elicitation/create`` request that puts an agent's question to the user, as the wire has it."""
    return questions.form(session_id, dict(notification)).model_dump(by_alias=True, mode="json", exclude_none=True)


def _elicit_result(answer: Any) -> types.ElicitResult | None:
    try:
        return types.ElicitResult.model_validate(answer)
    except ValueError:
        return None


def decision(answer: Any) -> bool:
    """Granted only on an accepted form with 'Allow' ticked; anything else denies (the run must go on)."""
    return permissions.decision(_elicit_result(answer)) is True


def question_answer(notification: Mapping[str, Any], answer: Any) -> dict[str, Any] | None:
    """The body Mix takes as the answer to a question, or ``None`` when the user gave none."""
    return questions.response(dict(notification), _elicit_result(answer))


def merge(
    before: dict[str, Any] | None,
    after: dict[str, Any],
    decisions: Mapping[str, bool],
    answered: Mapping[str, bool] | None = None,
) -> dict[str, Any]:
    """The run's result over every slice followed so far (each slice reports only the events it read).

    ``decisions`` are the permissions granted (True) or denied through the task, ``answered`` the
    questions (True when Mix got an answer).
    """
    if before is None:
        merged = dict(after)
    else:
        merged = dict(after)
        text_before, text_after = before.get("text", ""), after.get("text", "")
        # A 'complete' event carries the whole answer; otherwise a slice has only the text it read.
        merged["text"] = text_after if text_after.startswith(text_before) else text_before + text_after
        merged["text_truncated"] = bool(before.get("text_truncated")) or bool(after.get("text_truncated"))
        for key, id_key in _BY_ID.items():
            by_id = {item.get(id_key): item for item in before.get(key, [])}
            for item in after.get(key, []):  # a later slice may know less of an item (e.g. not its input)
                known = {k: v for k, v in item.items() if v is not None}
                by_id[item.get(id_key)] = {**by_id.get(item.get(id_key), {}), **known}
            merged[key] = list(by_id.values())
        merged["sent"] = bool(before.get("sent")) or bool(after.get("sent"))
        merged["errors"] = (before.get("errors", []) + after.get("errors", []))[:_MAX_ERRORS]
        merged["events"] = before.get("events", 0) + after.get("events", 0)
        merged["reconnects"] = before.get("reconnects", 0) + after.get("reconnects", 0)
        for key in ("message_id", "reasoning_duration_ms"):
            merged[key] = after.get(key) or before.get(key)
    merged["permissions"] = [
        {**p, "answer": "granted" if decisions[p["id"]] else "denied", "answered_by": "user"}
        if p.get("id") in decisions
        else p
        for p in merged.get("permissions", [])
    ]
    if answered:
        merged["notifications"] = [
            {**n, "answer": "answered" if answered[n["id"]] else n.get("answer"), "answered_by": "user"}
            if n.get("id") in answered
            else n
            for n in merged.get("notifications", [])
        ]
    return merged


def final_result(step: Step, merged: dict[str, Any], usage: dict[str, Any] | None) -> dict[str, Any]:
    """The task's result: the run's merged result, shaped as the plain call's ``CallToolResult``."""
    if usage is not None and merged.get("usage") is None:
        merged = {**merged, "usage": usage}
    result = types.CallToolResult(
        content=[types.TextContent(text=compact_json(merged))],
        structured_content=merged,
        _meta=step.result.meta,
    )
    return result.model_dump(by_alias=True, mode="json", exclude_none=True)


def plain_result(step: Step) -> dict[str, Any]:
    return step.result.model_dump(by_alias=True, mode="json", exclude_none=True)


def usage_between(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, Any] | None:
    if before is None or after is None:
        return None
    return {
        "prompt_tokens": after["prompt_tokens"] - before["prompt_tokens"],
        "completion_tokens": after["completion_tokens"] - before["completion_tokens"],
        "cost": round(after["cost"] - before["cost"], 6),
    }
