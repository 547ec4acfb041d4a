"""Drives mix-mcp's tasks with fastmcp-tasks' client (run under .venv-tasks, never imported by the tests).

Usage: ``fastmcp_tasks_driver.py SCENARIO TARGET SESSION_ID|HANDLE``, TARGET being an MCP URL or ``stdio:BASE_URL``
(the server is then started as ``python -m mix_mcp serve`` by the project's interpreter, given as
TASKS_DRIVER_PYTHON). Prints one JSON object per line: the handle, each status seen, and the outcome.

Scenarios: ``grant`` (a command the agent must ask permission for; the elicitation handler allows
it), ``plain`` (an ordinary message, awaited through the handle), ``cancel`` (cancelled while the
agent waits for permission), ``transparent`` (a plain ``call_tool``: the client polls by itself),
``start`` (an ordinary message: prints the handle once the agent is thinking, and leaves) and
``finish`` (takes that handle, as JSON, and drives the task to its result: on another replica, or
after a restart).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import Any

from fastmcp import Client  # type: ignore[import-not-found,unused-ignore]
from fastmcp.client.transports import StdioTransport  # type: ignore[import-not-found,unused-ignore]
from fastmcp_tasks import ToolTask, call_tool_task  # type: ignore[import-not-found,unused-ignore]
from fastmcp_tasks.client_models import ClientCreateTaskResult  # type: ignore[import-not-found,unused-ignore]


def say(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


async def allow(message: str, _response_type: Any, _params: Any, _context: Any) -> dict[str, Any]:
    say(event="asked", message=message)
    return {"grant": True}


def client_for(target: str) -> Any:
    if target.startswith("stdio:"):
        python = os.environ.get("TASKS_DRIVER_PYTHON", "python")
        args = ["-m", "mix_mcp", "serve", "--base-url", target.removeprefix("stdio:")]
        root = os.environ.get("TASKS_DRIVER_ROOT")
        transport = StdioTransport(command=python, args=args, env=dict(os.environ), cwd=root)
        return Client(transport, elicitation_handler=allow, timeout=60)
    return Client(target, elicitation_handler=allow, timeout=60)


async def watch(task: Any, until: tuple[str, ...], within: float = 60.0, field: str = "status") -> Any:
    last = None
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        status = await task.status()
        line = (status.status, status.status_message)
        if line != last:
            say(event="status", status=status.status, message=status.status_message)
            last = line
        if (status.status if field == "status" else status.status_message) in until:
            return status
        await asyncio.sleep(0.1)
    raise TimeoutError(f"task still {last} after {within}s")


async def main(scenario: str, target: str, session_id: str) -> None:
    async with client_for(target) as client:
        say(event="connected", protocol=str(getattr(client.session, "protocol_version", "")))
        if scenario == "finish":
            handle = ClientCreateTaskResult.model_validate(json.loads(session_id))
            task = ToolTask(client, "send_message", handle)
            await watch(task, ("working", "completed"))
            result = await task.result()
            say(event="result", data=result.structured_content)
            return
        if scenario == "transparent":
            started = time.monotonic()
            result = await client.call_tool("send_message", {"session_id": session_id, "text": "hello from fastmcp"})
            say(event="result", seconds=round(time.monotonic() - started, 2), data=result.structured_content)
            return
        text = "hello from fastmcp" if scenario in ("plain", "start") else "run: make test"
        started = time.monotonic()
        task = await call_tool_task(client, "send_message", {"session_id": session_id, "text": text})
        handle = task.create_result
        say(event="handle", seconds=round(time.monotonic() - started, 3), task_id=task.task_id,
            status=handle.status, ttl_ms=handle.ttl_ms, poll_interval_ms=handle.poll_interval_ms)  # fmt: skip
        if scenario == "start":
            await watch(task, ("thinking",), field="message")
            say(event="handle_json", handle=handle.model_dump(mode="json", by_alias=True))
            return
        if scenario == "cancel":
            await watch(task, ("input_required",))
            await task.cancel()
            final = await watch(task, ("completed", "failed", "cancelled"))
            say(event="final", status=final.status)
            return
        if scenario == "grant":
            parked = await watch(task, ("input_required",))
            say(event="input_requests", keys=sorted(parked.input_requests or {}))
        result = await task.result()  # answers the input request through the elicitation handler
        say(event="result", seconds=round(time.monotonic() - started, 2), data=result.structured_content)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
