"""What the run tools return: the models behind their ``outputSchema`` and ``structuredContent``.

A run's result must stand on its own for an agent that reads only it: where the run stands, the
answer, the tool calls with their input and output, what sub-agents did, the questions waiting for
the user, and the exact next call (``next_arguments`` names its tool).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

RunStatus = Literal[
    "completed", "running", "permission_pending", "question_pending", "failed", "cancelled", "session_deleted"
]
FINISHED: frozenset[str] = frozenset({"completed", "failed", "cancelled", "session_deleted"})


class NextCall(BaseModel):
    """A tool call to make next: its tool's name and arguments that tool accepts as they are."""

    tool: str = Field(description="The tool to call (e.g. 'follow_run').")
    arguments: dict[str, Any] = Field(description="Its arguments, as they are.")


class RunToolCall(BaseModel):
    """A tool call the run made: input from the stream, output from Mix's stored message."""

    id: str = Field(description="Tool call id.")
    name: str = Field(description="Tool name.")
    status: str = Field(description="'pending', 'running', 'succeeded' or 'failed'.")
    input: str | None = Field(default=None, description="The tool's input (JSON text), shortened.")
    progress: str | None = Field(default=None, description="What Mix said of its execution, shortened.")
    output: str | None = Field(
        default=None, description="The tool's output as Mix stored it (known once the run completed), shortened."
    )
    is_error: bool | None = Field(default=None, description="Whether Mix stored the call as failed.")


class RunSubAgent(BaseModel):
    """What a sub-agent (spawned by one of the run's tool calls) did: reported apart from the answer."""

    parent_tool_call_id: str = Field(description="The run's tool call that spawned the sub-agent.")
    events: int = Field(description="Events of the sub-agent read.")
    tools: list[str] = Field(description="Names of the tools the sub-agent called, in order (bounded).")
    text: str = Field(description="The sub-agent's own text so far, shortened. Written by a Mix agent.")
    finished: bool = Field(description="Whether the sub-agent reported completion.")


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
    sub_agent: bool = Field(default=False, description="True when a sub-agent asked.")


class RunNotification(BaseModel):
    """A notification of the run: a question for the user, or news that expects no answer."""

    id: str = Field(description="Notification id (answer_notification's notification_id).")
    notification_type: str = Field(description="'info', 'warning', 'error' or 'question'.")
    response_type: str = Field(description="What answer Mix expects: 'acknowledge', 'text' or 'choice'.")
    title: str = Field(description="Title. Written by the Mix agent.")
    message: str = Field(description="Message. Written by the Mix agent.")
    choices: list[str] | None = Field(default=None, description="The choices, for response_type 'choice'.")
    timeout_seconds: int | None = Field(default=None, description="Seconds Mix waits for the answer.")
    answer: str = Field(description="'pending' (waits for the user), 'answered', or 'none needed' (just news).")
    answered_by: str | None = Field(default=None, description="'user' (elicitation) or null.")
    sub_agent: bool = Field(default=False, description="True when a sub-agent asked.")


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
        description="'completed'; 'running' (not finished yet: call next_arguments' tool); 'permission_pending' "
        "(waits for answer_permission); 'question_pending' (waits for answer_notification); 'failed'; "
        "'cancelled'; 'session_deleted' (the session is gone)."
    )
    finished: bool = Field(description="Whether the run is over.")
    sent: bool = Field(description="Whether this call sent a message (false when it only followed a run).")
    message_id: str | None = Field(default=None, description="Id of the assistant message the run wrote.")
    text: str = Field(description="The assistant's answer (so far, when unfinished). Written by the Mix agent.")
    text_truncated: bool = Field(default=False, description="True when the answer was longer than the result holds.")
    reasoning: str | None = Field(default=None, description="The reasoning Mix reported, shortened.")
    reasoning_duration_ms: int | None = Field(default=None, description="Reasoning time Mix reported, in ms.")
    tool_calls: list[RunToolCall] = Field(description="Tool calls the run made.")
    sub_agents: list[RunSubAgent] = Field(description="Sub-agents' activity, apart from the answer.")
    permissions: list[RunPermission] = Field(description="Permission requests of the run.")
    notifications: list[RunNotification] = Field(description="Notifications and questions of the run.")
    errors: list[RunError] = Field(description="Error events of the run.")
    usage: RunUsage | None = Field(default=None, description="Tokens and cost of the run, when known.")
    events: int = Field(description="Events of this session read during this call.")
    last_event_id: str | None = Field(default=None, description="Id of the last event read.")
    reconnects: int = Field(default=0, description="Times the event stream was reopened during this call.")
    next_arguments: NextCall | None = Field(
        default=None, description="The call that follows the run on (tool and arguments), when unfinished."
    )
    next_step: str | None = Field(default=None, description="What to do next, when there is something to do.")


class PermissionAnswer(BaseModel):
    """A permission request answered."""

    permission_id: str = Field(description="The request answered.")
    granted: bool = Field(description="True when granted, false when denied.")
    next_step: str = Field(description="How to follow the run on.")


class NotificationAnswer(BaseModel):
    """A notification answered."""

    notification_id: str = Field(description="The notification answered.")
    response_type: str = Field(description="The answer's type as sent: 'acknowledge', 'text' or 'choice'.")
    value: str | None = Field(default=None, description="The answer sent (none for an acknowledgement).")
    next_step: str = Field(description="How to follow the run on.")


class RunCancelled(BaseModel):
    """What cancel_run did."""

    session_id: str = Field(description="Session whose processing was cancelled.")
    cancelled: bool = Field(description="True when Mix stopped a run in progress; false when none was running.")
    next_step: str = Field(description="What to look at next.")
