"""A run folded from the events Mix streams (the contract's ``SSEEventStream``), into plain data.

The record is plain data (dicts and lists), so that it can travel in a 2026-07-28 request state
and back. Each event kind has one rule:

* ``content`` adds to the answer, ``complete`` replaces it with Mix's final text (``content``,
  ``reasoning``, ``messageId``, ``reasoningDuration``) and ends the run;
* ``tool_use_start`` opens a tool call, ``tool_use_parameter_delta`` adds to its input,
  ``tool_use_parameter_streaming_complete`` sets the complete input, ``tool_execution_start`` and
  ``_complete`` (``success``, ``progress``) move its status; the output is not streamed: it is read
  from Mix's stored message once the run completed (``attach_outputs``);
* ``permission`` and ``notification`` (a question, or news that expects no answer) wait for the user;
* ``error`` with ``retryAfter`` is a retry Mix makes; without it the run failed (type ``cancelled``:
  it was cancelled);
* ``session_deleted`` ends the run: the session is gone;
* an event with ``parentToolCallId`` belongs to a sub-agent: it goes to that sub-agent's activity,
  never into the answer (permissions and questions excepted: whoever asks, the user answers).

Every list and text is bounded, whatever the run does.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Final

from mix_mcp.mix.events import StreamEvent

#: Bounds on what a run's record holds, whatever the run does.
MAX_ANSWER_CHARS: Final = 100_000
MAX_TOOL_CALLS: Final = 100
MAX_TOOL_INPUT_CHARS: Final = 64_000
MAX_ERRORS: Final = 20
MAX_PERMISSIONS: Final = 20
MAX_NOTIFICATIONS: Final = 20
MAX_SUB_AGENTS: Final = 20
MAX_SUB_AGENT_TOOLS: Final = 50
SUB_AGENT_TEXT_CHARS: Final = 2_000
#: Length of the inputs, outputs and reasoning shown in a result.
SHOWN_CHARS: Final = 2_000
SHORT_CHARS: Final = 300

#: Notifications that wait for the user's answer: a question, or any that asks for text or a choice.
_ANSWERED_TYPES: Final = ("text", "choice")


def shorten(value: Any, limit: int = SHORT_CHARS) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + f" … [{len(text) - limit:,} more characters]"


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def needs_answer(notification: dict[str, Any]) -> bool:
    """Whether a notification waits for the user (a question, or a text or choice answer)."""
    return notification.get("notificationType") == "question" or notification.get("responseType") in _ANSWERED_TYPES


@dataclass
class RunRecord:
    """A run folded from its events; plain data, so that it can travel in a request state and back."""

    text: str = ""
    text_truncated: bool = False
    message_id: str | None = None
    reasoning: str | None = None
    reasoning_duration_ms: int | None = None
    tool_calls: dict[str, dict[str, Any]] = field(default_factory=dict)
    sub_agents: dict[str, dict[str, Any]] = field(default_factory=dict)
    permissions: list[dict[str, Any]] = field(default_factory=list)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    status: str = "running"
    phase: str = "waiting for the agent"
    events: int = 0
    #: The session's tokens and cost before the message was sent, for the run's usage.
    baseline: dict[str, Any] | None = None

    def apply(self, event: StreamEvent) -> None:
        """Fold one event in (see the module docstring for the rule of each kind)."""
        self.events += 1
        data, kind = event.data, event.type
        if kind == "permission":
            self._permission(data, nested=event.nested)
        elif kind == "notification":
            self._notification(data, nested=event.nested)
        elif event.nested:
            self._sub_agent(kind, data)
        elif kind == "thinking":
            self.phase = "thinking"
        elif kind == "content":
            self.phase = "writing the answer"
            self._add_text(data.get("content"))
            self.message_id = self.message_id or _str(data.get("assistantMessageId"))
        elif kind.startswith("tool_"):
            self._tool(kind, data)
        elif kind == "error":
            self._error(data)
        elif kind == "complete":
            self._complete(data)
        elif kind == "session_deleted":
            self.status, self.phase = "session_deleted", "the session was deleted"
        elif kind == "user_message_created":
            self.phase = "message received"

    def _complete(self, data: dict[str, Any]) -> None:
        if data.get("done") is False:
            return  # a completion that says it is not done is not the end of the run
        final = data.get("content")
        if isinstance(final, str) and final:
            self.text, self.text_truncated = "", False
            self._add_text(final)
        self.message_id = _str(data.get("messageId")) or self.message_id
        self.reasoning = shorten(_str(data.get("reasoning")), SHOWN_CHARS) or self.reasoning
        self.reasoning_duration_ms = _int(data.get("reasoningDuration"))
        self.status, self.phase = "completed", "completed"

    def _add_text(self, part: Any) -> None:
        if not isinstance(part, str) or self.text_truncated:
            return
        room = MAX_ANSWER_CHARS - len(self.text)
        self.text += part[:room]
        self.text_truncated = len(part) > room

    def _call(self, call_id: str | None, name: str | None = None) -> dict[str, Any] | None:
        key = call_id or "?"
        call = self.tool_calls.get(key)
        if call is None:
            if len(self.tool_calls) >= MAX_TOOL_CALLS:
                return None
            call = self.tool_calls[key] = {
                "id": key,
                "name": "?",
                "status": "pending",
                "input": None,
                "progress": None,
                "output": None,
                "is_error": None,
            }
        if name:
            call["name"] = name
        return call

    def _tool(self, kind: str, data: dict[str, Any]) -> None:
        if kind in ("tool_use_start", "tool_use_parameter_streaming_complete"):
            call = self._call(_str(data.get("id")), _str(data.get("name")))
        else:
            call = self._call(_str(data.get("toolCallId")), _str(data.get("toolName")))
        if call is None:
            return
        if kind == "tool_use_start":
            self.phase = f"preparing tool {call['name']}"
        elif kind == "tool_use_parameter_delta":
            part = data.get("input")
            if isinstance(part, str):
                call["input"] = ((call["input"] or "") + part)[:MAX_TOOL_INPUT_CHARS]
        elif kind == "tool_use_parameter_streaming_complete":
            complete = data.get("input")
            if isinstance(complete, str):
                call["input"] = complete[:MAX_TOOL_INPUT_CHARS]
        elif kind == "tool_execution_start":
            call["status"] = "running"
            call["progress"] = shorten(_str(data.get("progress")))
            self.phase = f"running tool {call['name']}"
        elif kind == "tool_execution_complete":
            call["status"] = "succeeded" if data.get("success") is True else "failed"
            call["progress"] = shorten(_str(data.get("progress"))) or call["progress"]
            self.phase = "thinking"

    def _sub_agent(self, kind: str, data: dict[str, Any]) -> None:
        parent = str(data.get("parentToolCallId"))[:256]
        agent = self.sub_agents.get(parent)
        if agent is None:
            if len(self.sub_agents) >= MAX_SUB_AGENTS:
                return
            agent = self.sub_agents[parent] = {
                "parent_tool_call_id": parent,
                "events": 0,
                "tools": [],
                "text": "",
                "finished": False,
            }
        agent["events"] += 1
        self.phase = "a sub-agent is working"
        if kind == "tool_use_start" and len(agent["tools"]) < MAX_SUB_AGENT_TOOLS:
            agent["tools"].append(shorten(_str(data.get("name")) or "?", 100))
        elif kind == "content" and isinstance(data.get("content"), str):
            agent["text"] = (agent["text"] + data["content"])[:SUB_AGENT_TEXT_CHARS]
        elif kind == "complete" and data.get("done") is not False:
            agent["finished"] = True
            final = data.get("content")
            if isinstance(final, str) and final:
                agent["text"] = final[:SUB_AGENT_TEXT_CHARS]

    def _permission(self, data: dict[str, Any], *, nested: bool) -> None:
        params = data.get("params")
        entry = {
            "id": _str(data.get("id")) or "?",
            "tool_name": shorten(_str(data.get("toolName")) or "?", 100),
            "action": shorten(data.get("action")) or "?",
            "description": shorten(data.get("description"), 1000) or "",
            "path": shorten(data.get("path")),
            "command": shorten(params.get("command"), 1000) if isinstance(params, dict) else None,
            "answer": "pending",
            "answered_by": None,
            "sub_agent": nested,
            "raw": {k: data.get(k) for k in ("id", "toolName", "action", "description", "path", "params")},
        }
        if len(self.permissions) < MAX_PERMISSIONS:
            self.permissions.append(entry)
        self.status = "permission_pending"
        self.phase = f"waiting for permission to use {entry['tool_name']}"

    def _notification(self, data: dict[str, Any], *, nested: bool) -> None:
        choices = data.get("choices")
        waits = needs_answer(data)
        entry = {
            "id": _str(data.get("id")) or "?",
            "notification_type": shorten(_str(data.get("notificationType")) or "info", 50),
            "response_type": shorten(_str(data.get("responseType")) or "acknowledge", 50),
            "title": shorten(data.get("title"), 500) or "",
            "message": shorten(data.get("message"), 4000) or "",
            "choices": [shorten(c, 500) for c in choices[:50] if isinstance(c, str)]
            if isinstance(choices, list)
            else None,
            "timeout_seconds": _int(data.get("timeout")),
            "answer": "pending" if waits else "none needed",
            "answered_by": None,
            "sub_agent": nested,
        }
        if len(self.notifications) < MAX_NOTIFICATIONS:
            self.notifications.append(entry)
        elif waits:
            self.notifications[-1] = entry  # a question must never be lost to the bound
        if waits:
            self.status = "question_pending"
            self.phase = "waiting for the user's answer to a question"

    def _error(self, data: dict[str, Any]) -> None:
        retry_after = _int(data.get("retryAfter"))
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(
                {
                    "error": shorten(data.get("error"), 1000) or "unknown error",
                    "type": shorten(_str(data.get("type")), 100),
                    "retry_after_ms": retry_after,
                    "attempt": _int(data.get("attempt")),
                    "max_attempts": _int(data.get("maxAttempts")),
                }
            )
        if data.get("type") == "cancelled":
            self.status, self.phase = "cancelled", "cancelled"
        elif retry_after is not None:
            self.phase = f"Mix retries in {retry_after / 1000:g} s after an error"
        else:
            self.status, self.phase = "failed", "failed"

    # ------------------------------------------------------------------------------ questions

    @property
    def pending_permission(self) -> dict[str, Any] | None:
        return next((p for p in reversed(self.permissions) if p["answer"] == "pending"), None)

    @property
    def pending_question(self) -> dict[str, Any] | None:
        return next((n for n in reversed(self.notifications) if n["answer"] == "pending"), None)

    def _settle(self) -> None:
        if self.status in ("permission_pending", "question_pending"):
            if self.pending_permission is not None:
                self.status = "permission_pending"
            elif self.pending_question is not None:
                self.status = "question_pending"
            else:
                self.status = "running"

    def answered(self, permission_id: str, granted: bool, by: str | None) -> None:
        for entry in self.permissions:
            if entry["id"] == permission_id:
                entry["answer"], entry["answered_by"] = ("granted" if granted else "denied"), by
        self._settle()

    def question_answered(self, notification_id: str, by: str | None) -> None:
        for entry in self.notifications:
            if entry["id"] == notification_id:
                entry["answer"], entry["answered_by"] = "answered", by
        self._settle()

    # -------------------------------------------------------------------------------- outputs

    def attach_outputs(self, stored: list[dict[str, Any]]) -> None:
        """Put each tool call's output (and calls the stream did not show) from Mix's stored messages.

        The run's message is the one with the run's ``message_id``, else the last assistant message.
        """
        message = next((m for m in stored if self.message_id and m.get("id") == self.message_id), None)
        if message is None:
            message = next((m for m in reversed(stored) if m.get("role") == "assistant"), None)
        calls = message.get("toolCalls") if message is not None else None
        if not isinstance(calls, list):
            return
        for stored_call in calls:
            if not isinstance(stored_call, dict):
                continue
            call = self._call(_str(stored_call.get("id")), _str(stored_call.get("name")))
            if call is None:
                continue
            if call["input"] is None and isinstance(stored_call.get("input"), str):
                call["input"] = stored_call["input"][:MAX_TOOL_INPUT_CHARS]
            if isinstance(stored_call.get("result"), str):
                call["output"] = stored_call["result"][:MAX_TOOL_INPUT_CHARS]
            if isinstance(stored_call.get("isError"), bool):
                call["is_error"] = stored_call["isError"]
            if call["status"] in ("pending", "running") and stored_call.get("finished") is True:
                call["status"] = "failed" if stored_call.get("isError") is True else "succeeded"

    def state(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> RunRecord:
        return cls(**state)
