"""What is kept of a task: where its run stands in Mix, and what the client will be told.

The run itself (its messages and its event stream) lives in Mix; a task only keeps what Mix cannot
say: whether its message was sent (so that it is sent once, whoever resumes it), the id of the last
event read (where a resumed follower picks up), the status and phase shown to the client, the input
requests outstanding, and the final result. Plain JSON, so that any store can hold it.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from mix_mcp.serving.tasks.protocol import TERMINAL, TaskStatus

#: pending: not sent yet; sending: handed to Mix, outcome unknown yet; sent: Mix accepted it.
SendState = Literal["pending", "sending", "sent"]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class PendingInput(BaseModel):
    """An outstanding input request: a permission (granted or denied in Mix) or an agent's question (answered)."""

    kind: Literal["permission", "question"] = "permission"
    id: str
    #: The ``elicitation/create`` request the client shows, as it goes on the wire.
    request: dict[str, Any]
    #: The question as the run reported it (what kind of answer Mix expects), for a question.
    notification: dict[str, Any] | None = None


class TaskRecord(BaseModel):
    task_id: str
    tool: str
    #: The tool's arguments as validated; only what the run needs to be sent or followed.
    arguments: dict[str, Any]
    session_id: str
    #: The OAuth caller that made it (``sub``), when there is one: nobody else may see or steer it.
    owner: str | None = None
    send: SendState = "pending"
    after_event_id: str | None = None
    status: TaskStatus = "working"
    status_message: str = "starting the run"
    created_at: str = Field(default_factory=now_iso)
    last_updated_at: str = Field(default_factory=now_iso)
    #: Epoch seconds after which the record may be forgotten.
    expires_at: float
    ttl_ms: int
    poll_interval_ms: int
    pending: dict[str, PendingInput] = Field(default_factory=dict)
    #: Input request keys already answered: never asked again, never answered twice.
    answered: list[str] = Field(default_factory=list)
    #: The permissions answered through tasks/update, for the result (id -> granted).
    decisions: dict[str, bool] = Field(default_factory=dict)
    #: The questions answered through tasks/update (id -> whether Mix got an answer).
    replies: dict[str, bool] = Field(default_factory=dict)
    cancel_requested: bool = False
    #: The session's tokens and cost before the message was sent, for the run's usage.
    baseline: dict[str, Any] | None = None
    #: The run's result so far, folded over the follow slices (the structured content of a run result).
    partial: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def ttl_seconds(self) -> float:
        return max(0.01, self.expires_at - time.time())

    def touched(self, **changes: Any) -> TaskRecord:
        """A copy with ``changes`` and a fresh ``lastUpdatedAt``."""
        return self.model_copy(update={**changes, "last_updated_at": now_iso()})

    def wire(self, *, detailed: bool) -> dict[str, Any]:
        """The task as the client reads it: a CreateTaskResult's fields, or a tasks/get DetailedTask."""
        task: dict[str, Any] = {
            "taskId": self.task_id,
            "status": self.status,
            "statusMessage": self.status_message,
            "createdAt": self.created_at,
            "lastUpdatedAt": self.last_updated_at,
            "ttlMs": self.ttl_ms,
            "pollIntervalMs": self.poll_interval_ms,
        }
        if not detailed:
            return task
        if self.status == "input_required":
            task["inputRequests"] = {key: item.request for key, item in self.pending.items()}
        elif self.status == "completed" and self.result is not None:
            task["result"] = self.result
        elif self.status == "failed" and self.error is not None:
            task["error"] = self.error
        return task
