"""The tasks extension's request handlers, and the hook that turns a ``tools/call`` into a task.

``start`` answers an opted-in ``send_message`` or ``follow_run`` with a task handle once the task is stored (so a
``tasks/get`` anywhere finds it), and sets a worker on it in this process. ``tasks/get`` reports the
stored task; when the task is unfinished and no process holds its lease (the one that followed it
stopped), the replica serving the poll takes the lease and resumes the run. ``tasks/update`` grants
or denies a permission, or answers a question, in Mix, once per input request; ``tasks/cancel``
cancels the run in Mix, once.

Workers are asyncio tasks of the process, not of the request that made them: a task outlives the
``tools/call`` that created it, whatever the transport (stdio, a stateless HTTP request, an SSE
connection). When the process stops they stop too, and the lease they leave lets another take over.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from collections.abc import Mapping
from typing import Any, Final

import mcp_types as types
from mcp.server import Server
from mcp.server.context import ServerRequestContext
from mcp.shared.exceptions import MCPError

from mix_mcp.config import Settings
from mix_mcp.mix.client import MixClient
from mix_mcp.mix.errors import ArgumentsError, MixMCPError
from mix_mcp.observe.logs import log_event
from mix_mcp.serving import scopes
from mix_mcp.serving.tasks import run_steps
from mix_mcp.serving.tasks.protocol import (
    EXTENSION_ID,
    TaskIdParams,
    UpdateTaskParams,
    declared,
    missing_capability,
    unknown_task,
)
from mix_mcp.serving.tasks.record import PendingInput, TaskRecord
from mix_mcp.serving.tasks.run_steps import RunSteps, ToolRunner
from mix_mcp.serving.tasks.store import TaskStore, TaskStoreError, open_store
from mix_mcp.serving.tasks.worker import LEASE_SECONDS, Worker
from mix_mcp.tools.operations import Operation
from mix_mcp.tools.runs.tools import NOTIFICATION_HINTS, PERMISSION_HINTS

logger = logging.getLogger("mix_mcp.tasks")

#: What a client is told to wait between two polls.
POLL_INTERVAL_MS: Final = 1000


class TaskService:
    """The tasks of one process: its store, its workers, and the handlers that serve them."""

    def __init__(self, settings: Settings, run_tool: ToolRunner, store: TaskStore | None = None) -> None:
        self.settings = settings
        self.store = store if store is not None else open_store(settings)
        self.steps = RunSteps(run_tool)
        #: Names this process in the leases it holds.
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._workers: dict[str, asyncio.Task[None]] = {}

    def install(self, server: Server[Any]) -> None:
        """Advertise the extension and serve its three methods."""
        server.extensions[EXTENSION_ID] = {}
        server.add_request_handler("tasks/get", TaskIdParams, self.get)
        server.add_request_handler("tasks/update", UpdateTaskParams, self.update)
        server.add_request_handler("tasks/cancel", TaskIdParams, self.cancel)

    # ------------------------------------------------------------------------------ tools/call

    async def start(
        self, ctx: ServerRequestContext[Any], op: Operation, params: types.CallToolRequestParams, client: MixClient
    ) -> dict[str, Any] | types.CallToolResult | None:
        """A task handle for a call that opted in and drives a run; ``None`` to serve the call as usual."""
        arguments = params.arguments or {}
        if not declared(ctx.params, ctx.protocol_version) or not run_steps.is_task_call(op, arguments):
            return None
        try:
            args = op.parse(arguments)
        except ArgumentsError:
            return None  # the plain call says what is wrong with them
        chosen = {k: getattr(args, k) for k in args.model_fields_set if getattr(args, k) is not None}
        kept = run_steps.run_arguments(chosen)
        now = time.time()
        record = TaskRecord(
            task_id=secrets.token_urlsafe(18),
            tool=op.name,
            arguments=kept,
            session_id=kept["session_id"],
            owner=scopes.caller(ctx.request),
            expires_at=now + self.settings.task_ttl,
            ttl_ms=round(self.settings.task_ttl * 1000),
            poll_interval_ms=POLL_INTERVAL_MS,
        )
        if op.name != "send_message":  # follow_run: the run was sent already, nothing to send
            update = {
                "send": "sent",
                "after_event_id": kept.get("after_event_id"),
                "status_message": "following the run",
            }
            record = record.model_copy(update=update)
        try:
            await self.store.create(record)
        except TaskStoreError as exc:
            return types.CallToolResult(
                content=[types.TextContent(text=f"{op.name} could not start as a task: {exc} Nothing was sent.")],
                is_error=True,
            )
        log_event(logger, logging.INFO, "task_created", task=record.task_id, tool=op.name)
        await self._ensure_worker(record, client)
        return {"resultType": "task", **record.wire(detailed=False)}

    # ---------------------------------------------------------------------------- tasks/*

    async def get(self, ctx: ServerRequestContext[Any], params: TaskIdParams) -> dict[str, Any]:
        record = await self._owned(ctx, params.task_id, "tasks/get")
        if not record.terminal:
            await self._ensure_worker(record, ctx.lifespan_context.client)
        return record.wire(detailed=True)

    async def update(self, ctx: ServerRequestContext[Any], params: UpdateTaskParams) -> dict[str, Any]:
        record = await self._owned(ctx, params.task_id, "tasks/update")
        client: MixClient = ctx.lifespan_context.client
        for key, answer in params.input_responses.items():
            taken = await self._take_input(record.task_id, key, answer)
            if taken is None:
                continue  # not outstanding (never asked, or answered already): ignored, as the extension says
            item, granted, reply = taken
            try:
                if item.kind == "permission":
                    await run_steps.answer_permission(client, item.id, granted)
                elif reply is not None:
                    await run_steps.answer_question(client, item.id, reply)
            except MixMCPError as exc:
                log_event(logger, logging.WARNING, "task_answer_failed", task=record.task_id, error=type(exc).__name__)
                hints = PERMISSION_HINTS if item.kind == "permission" else NOTIFICATION_HINTS
                raise MCPError(
                    code=types.INTERNAL_ERROR,
                    message=f"Mix did not take the answer to {item.kind} {item.id}: {client.advise(exc, hints)}",
                ) from None
            log_event(logger, logging.INFO, "task_answered", task=record.task_id, kind=item.kind,
                      granted=granted if item.kind == "permission" else reply is not None)  # fmt: skip
        if not record.terminal:
            await self._ensure_worker(record, client)
        return {}

    async def cancel(self, ctx: ServerRequestContext[Any], params: TaskIdParams) -> dict[str, Any]:
        record = await self._owned(ctx, params.task_id, "tasks/cancel")
        first = False

        def request_cancel(r: TaskRecord) -> TaskRecord | None:
            nonlocal first
            first = False
            if r.terminal or r.cancel_requested:
                return None
            first = True
            return r.touched(cancel_requested=True, status="cancelled", status_message="cancelled by the client",
                             pending={})  # fmt: skip

        written = await self._store_call(self.store.update(record.task_id, request_cancel))
        if written is not None and first and written.send == "sent":
            # A message still on its way is cancelled by the worker that sends it, once Mix has it.
            await run_steps.cancel_run(ctx.lifespan_context.client, written.session_id)
        log_event(logger, logging.INFO, "task_cancelled", task=record.task_id, first=first)
        return {}

    # ---------------------------------------------------------------------------- helpers

    async def _owned(self, ctx: ServerRequestContext[Any], task_id: str, method: str) -> TaskRecord:
        if not declared(ctx.params, ctx.protocol_version):
            raise missing_capability(method)
        record: TaskRecord | None = await self._store_call(self.store.get(task_id))
        if record is None or record.owner != scopes.caller(ctx.request):
            raise unknown_task(task_id)
        return record

    async def _store_call(self, call: Any) -> Any:
        try:
            return await call
        except TaskStoreError as exc:
            raise MCPError(code=types.INTERNAL_ERROR, message=str(exc)) from None

    async def _take_input(
        self, task_id: str, key: str, answer: Any
    ) -> tuple[PendingInput, bool, dict[str, Any] | None] | None:
        """Take an outstanding input request off the task, with the answer for Mix; ``None`` if not outstanding.

        A permission is granted only on a ticked 'Allow' and denied otherwise; a question left
        unanswered (declined, dismissed, an empty answer) is not answered in Mix, which goes on when
        its own wait for the answer ends.
        """
        taken: tuple[PendingInput, bool, dict[str, Any] | None] | None = None

        def take(r: TaskRecord) -> TaskRecord | None:
            nonlocal taken
            taken = None
            item = r.pending.get(key)
            if item is None or r.terminal:
                return None
            pending = {k: v for k, v in r.pending.items() if k != key}
            changes: dict[str, Any] = {"pending": pending, "answered": [*r.answered, key]}
            if item.kind == "permission":
                granted = run_steps.decision(answer)
                taken = (item, granted, None)
                changes["decisions"] = {**r.decisions, item.id: granted}
                done = f"permission {item.id} {'granted' if granted else 'denied'}"
            else:
                reply = run_steps.question_answer(item.notification or {}, answer)
                taken = (item, False, reply)
                changes["replies"] = {**r.replies, item.id: reply is not None}
                done = f"question {item.id} {'answered' if reply is not None else 'left unanswered'}"
            if not pending:
                changes.update(status="working", status_message=f"{done}; the agent goes on")
            return r.touched(**changes)

        written = await self._store_call(self.store.update(task_id, take))
        return taken if written is not None else None

    async def _ensure_worker(self, record: TaskRecord, client: MixClient) -> None:
        """Follow the task's run in this process, unless a live worker (here or elsewhere) already does."""
        running = self._workers.get(record.task_id)
        if running is not None and not running.done():
            return
        if not await self._store_call(self.store.acquire_lease(record.task_id, self.owner, LEASE_SECONDS)):
            return
        if running is None:
            log_event(logger, logging.INFO, "task_worker_started", task=record.task_id, send=record.send,
                      after_event_id=record.after_event_id)  # fmt: skip
        worker = Worker(self.store, self.steps, client, self.owner, record.task_id)
        task = asyncio.get_running_loop().create_task(worker.run(), name=f"mix-mcp task {record.task_id}")
        self._workers[record.task_id] = task
        task.add_done_callback(lambda done: self._forget(record.task_id, done))

    def _forget(self, task_id: str, done: asyncio.Task[None]) -> None:
        if self._workers.get(task_id) is done:
            del self._workers[task_id]


def offers_tasks(enabled: Mapping[str, Operation]) -> bool:
    """Whether this server offers tasks at all: only when a tool that drives a run is enabled."""
    return any(name in run_steps.TASK_TOOLS for name in enabled)
