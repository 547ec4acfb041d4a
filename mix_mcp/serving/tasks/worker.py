"""Drives one task: sends its message once, follows its run slice by slice, and records every step.

A worker runs only while its process holds the task's lease, and renews it as it goes. Each step
is written to the store before the next one starts: the message is marked "sending" before it goes
to Mix and "sent" (with the stream position) once Mix took it; after each slice the id of the last
event read is written. So a worker that resumes a task another process left behind knows exactly
what to do: follow on from that event, or, if the other process stopped in the instant between
handing the message to Mix and hearing back, say that it cannot know whether Mix got it (it is never
sent a second time).
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any, Final

import anyio

from mix_mcp.mix.client import MixClient
from mix_mcp.observe.logs import log_event
from mix_mcp.serving.tasks import run_steps
from mix_mcp.serving.tasks.record import PendingInput, TaskRecord
from mix_mcp.serving.tasks.run_steps import RunSteps, Step
from mix_mcp.serving.tasks.store import TaskStore, TaskStoreError

logger = logging.getLogger("mix_mcp.tasks")

#: A lease lives this long unless renewed: how soon another replica resumes a task whose process died.
LEASE_SECONDS: Final = 15.0
RENEW_SECONDS: Final = 5.0
_RELEASE_SECONDS: Final = 3.0
_IDLE_SLICE_SECONDS: Final = 1.0

_LOST_SEND: Final = (
    "The mix-mcp server that was sending this message stopped before Mix answered, so it is not known "
    "whether Mix received it. It was not sent again (a repeat would run the agent twice): call list_messages "
    "to see whether it arrived, and send it again with send_message only if it did not."
)


class Worker:
    def __init__(self, store: TaskStore, steps: RunSteps, client: MixClient, owner: str, task_id: str) -> None:
        self.store = store
        self.steps = steps
        self.client = client
        self.owner = owner
        self.task_id = task_id

    async def run(self) -> None:
        """Drive the task to its end, or until the lease is lost or the process stops; release the lease."""
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(self._keep_lease, group.cancel_scope)
                await self._drive()
                group.cancel_scope.cancel()
        except TaskStoreError as exc:
            log_event(logger, logging.WARNING, "task_store_failed", task=self.task_id, error=str(exc))
        except Exception:
            logger.exception("task %s: internal error while driving its run", self.task_id)
            await self._fail_internal()
        finally:
            # A lease that cannot be released runs out by itself.
            with (
                anyio.CancelScope(shield=True),
                anyio.move_on_after(_RELEASE_SECONDS),
                contextlib.suppress(TaskStoreError),
            ):
                await self.store.release_lease(self.task_id, self.owner)

    async def _keep_lease(self, scope: anyio.CancelScope) -> None:
        while True:
            await anyio.sleep(RENEW_SECONDS)
            if not await self.store.renew_lease(self.task_id, self.owner, LEASE_SECONDS):
                log_event(logger, logging.WARNING, "task_lease_lost", task=self.task_id)
                scope.cancel()
                return

    async def _drive(self) -> None:
        while True:
            record = await self.store.get(self.task_id)
            if record is None or record.terminal:
                return
            if record.send == "pending":
                await self._send(record)
            elif record.send == "sending":
                await self._finish(record, _error_result(_LOST_SEND), "it is not known whether Mix got the message")
                return
            else:
                await self._follow(record)

    async def _send(self, record: TaskRecord) -> None:
        def claim(r: TaskRecord) -> TaskRecord | None:
            if r.terminal or r.send != "pending" or r.cancel_requested:
                return None
            return r.touched(send="sending", status_message="sending the message to Mix")

        if await self.store.update(self.task_id, claim) is None:
            return  # cancelled or claimed meanwhile: the loop reads it again
        baseline = await run_steps.usage_of(self.client, record.session_id)
        step = await self.steps.send(self.client, record.arguments)
        if step.status is None:
            await self._finish(record, run_steps.plain_result(step), "the message could not be sent", sent=True)
            return
        after = step.last_event_id

        def sent(r: TaskRecord) -> TaskRecord:
            return r.touched(
                send="sent",
                after_event_id=after,
                baseline=baseline,
                partial=step.structured,
                status_message="the agent is working",
            )

        written = await self.store.update(self.task_id, sent)
        log_event(logger, logging.INFO, "task_sent", task=self.task_id, after_event_id=after)
        if written is not None and written.cancel_requested:
            # tasks/cancel came while the message was on its way: it left the cancel to this worker.
            await run_steps.cancel_run(self.client, record.session_id)

    async def _follow(self, record: TaskRecord) -> None:
        started = time.monotonic()
        step = await self.steps.follow(self.client, record.session_id, record.after_event_id, self._phase)
        if not step.structured.get("events") and time.monotonic() - started < _IDLE_SLICE_SECONDS:
            await anyio.sleep(_IDLE_SLICE_SECONDS)  # a slice that read nothing at once: never a tight loop on Mix
        usage = None
        if step.status == "completed":
            usage = run_steps.usage_between(record.baseline, await run_steps.usage_of(self.client, record.session_id))
        written = await self.store.update(self.task_id, lambda r: _after_slice(r, step, usage))
        if written is not None:
            log_event(logger, logging.INFO, "task_followed", task=self.task_id, status=written.status,
                      run_status=step.status, after_event_id=written.after_event_id)  # fmt: skip

    async def _phase(self, phase: str) -> None:
        def note(r: TaskRecord) -> TaskRecord | None:
            if r.status != "working" or r.status_message == phase:
                return None
            return r.touched(status_message=phase)

        try:
            await self.store.update(self.task_id, note)
        except TaskStoreError as exc:  # a phase is worth less than the run: follow on
            log_event(logger, logging.DEBUG, "task_phase_not_written", task=self.task_id, error=str(exc))

    async def _finish(self, record: TaskRecord, result: dict[str, Any], message: str, *, sent: bool = False) -> None:
        def finish(r: TaskRecord) -> TaskRecord | None:
            if r.terminal:
                return None
            changes: dict[str, Any] = {"status": "completed", "result": result, "status_message": message}
            if sent:
                changes["send"] = "sent"
            return r.touched(**changes)

        await self.store.update(self.task_id, finish)

    async def _fail_internal(self) -> None:
        def fail(r: TaskRecord) -> TaskRecord | None:
            if r.terminal:
                return None
            error = {"code": -32603, "message": "mix-mcp failed while driving this task (details in its log)"}
            return r.touched(status="failed", error=error, status_message=error["message"])

        with anyio.CancelScope(shield=True), anyio.move_on_after(_RELEASE_SECONDS), contextlib.suppress(TaskStoreError):
            await self.store.update(self.task_id, fail)


def _error_result(text: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": text}], "isError": True}


def _after_slice(record: TaskRecord, step: Step, usage: dict[str, Any] | None) -> TaskRecord | None:
    """The task after one slice of following: where the run stands, and what the client must answer."""
    if record.terminal:
        return None
    after = step.last_event_id or record.after_event_id
    if step.status is None:
        return record.touched(status="completed", result=run_steps.plain_result(step), after_event_id=after,
                              status_message="following the run failed")  # fmt: skip
    merged = run_steps.merge(record.partial, step.structured, record.decisions, record.replies)
    changes: dict[str, Any] = {"after_event_id": after, "partial": merged}
    if step.finished:
        if step.status == "cancelled" and record.cancel_requested:
            changes.update(status="cancelled", status_message="the run was cancelled")
        else:
            changes.update(
                status="completed",
                result=run_steps.final_result(step, merged, usage),
                status_message=f"the run {step.status}",
            )
        changes["pending"] = {}
        return record.touched(**changes)
    pending = dict(record.pending)
    for permission in step.pending_permissions:
        key = f"permission-{permission['id']}"
        if key not in record.answered and key not in pending:  # else answered already, read again after a resume
            request = run_steps.permission_request(record.session_id, permission)
            pending[key] = PendingInput(id=permission["id"], request=request)
    for question in step.pending_questions:
        key = f"question-{question['id']}"
        if key not in record.answered and key not in pending:
            request = run_steps.question_request(record.session_id, question)
            pending[key] = PendingInput(kind="question", id=question["id"], request=request, notification=question)
    changes["pending"] = pending
    if pending:
        first = next(iter(pending.values()))
        waiting = "for permission {}: allow or deny" if first.kind == "permission" else "for an answer to question {}"
        changes.update(status="input_required", status_message="waiting " + waiting.format(first.id))
    return record.touched(**changes)
