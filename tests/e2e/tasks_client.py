"""A tasks-extension client made of the ``mcp`` SDK's own parts: its extension hook and raw requests.

The SDK has no tasks runtime, so this declares the extension (every request then carries it in its
capabilities), takes a ``tools/call`` answered with a task handle as it comes (``allow_claimed``),
and sends ``tasks/get``, ``tasks/update`` and ``tasks/cancel`` as plain requests. The shapes below
are the extension's wire shapes, written from its specification, independent of the server's code.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Literal

import anyio
import mcp_types as types
from mcp import Client
from mcp.client.extension import ClaimContext, ClientExtension, ResultClaim

EXTENSION_ID = "io.modelcontextprotocol/tasks"
TERMINAL = ("completed", "failed", "cancelled")


class TaskHandle(types.Result):
    """CreateTaskResult."""

    result_type: Literal["task"]
    task_id: str
    status: str
    status_message: str | None = None
    created_at: str
    last_updated_at: str
    ttl_ms: int | None
    poll_interval_ms: int | None = None


class DetailedTask(types.Result):
    """tasks/get's answer."""

    task_id: str
    status: str
    status_message: str | None = None
    created_at: str
    last_updated_at: str
    ttl_ms: int | None
    poll_interval_ms: int | None = None
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    input_requests: dict[str, Any] | None = None


class TaskIdParams(types.RequestParams):
    task_id: str


class UpdateParams(TaskIdParams):
    input_responses: dict[str, Any]


class GetTask(types.Request[TaskIdParams, Literal["tasks/get"]]):
    method: Literal["tasks/get"] = "tasks/get"
    params: TaskIdParams


class UpdateTask(types.Request[UpdateParams, Literal["tasks/update"]]):
    method: Literal["tasks/update"] = "tasks/update"
    params: UpdateParams


class CancelTask(types.Request[TaskIdParams, Literal["tasks/cancel"]]):
    method: Literal["tasks/cancel"] = "tasks/cancel"
    params: TaskIdParams


async def _never(handle: TaskHandle, _ctx: ClaimContext) -> types.CallToolResult:
    raise AssertionError(f"the test drives task {handle.task_id} itself")


class Tasks(ClientExtension):
    """Declares the extension; the tests drive the tasks themselves."""

    identifier = EXTENSION_ID

    def claims(self) -> Sequence[ResultClaim[Any]]:
        return (ResultClaim(result_type="task", model=TaskHandle, resolve=_never),)


async def call_as_task(client: Client, tool: str, arguments: dict[str, Any]) -> TaskHandle | types.CallToolResult:
    result = await client.session.call_tool(tool, arguments, allow_claimed=True)
    assert isinstance(result, TaskHandle | types.CallToolResult), type(result)
    return result


async def get(client: Client, task_id: str) -> DetailedTask:
    return await client.session.send_request(GetTask(params=TaskIdParams(task_id=task_id)), DetailedTask)


async def update(client: Client, task_id: str, responses: dict[str, Any]) -> None:
    await client.session.send_request(
        UpdateTask(params=UpdateParams(task_id=task_id, input_responses=responses)), types.Result
    )


async def cancel(client: Client, task_id: str) -> None:
    await client.session.send_request(CancelTask(params=TaskIdParams(task_id=task_id)), types.Result)


async def poll(
    client: Client,
    task_id: str,
    *,
    until: Sequence[str] = TERMINAL,
    within: float = 30.0,
    seen: list[str] | None = None,
) -> DetailedTask:
    """Poll every 100 ms until the task's status is one of ``until``; ``seen`` collects each status and message."""
    deadline = time.monotonic() + within
    while True:
        task = await get(client, task_id)
        if seen is not None:
            line = f"{task.status}: {task.status_message}"
            if not seen or seen[-1] != line:
                seen.append(line)
        if task.status in until:
            return task
        assert time.monotonic() < deadline, f"task {task_id} still {task.status} after {within}s"
        await anyio.sleep(0.1)
