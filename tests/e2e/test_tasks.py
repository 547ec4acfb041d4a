"""Agent runs driven as MCP tasks (io.modelcontextprotocol/tasks), end to end.

Two clients nobody here wrote the task logic of: fastmcp-tasks' client (in its own venv, as a
subprocess) and the ``mcp`` SDK's client sending the extension's requests as plain requests
(``tests/e2e/tasks_client.py``). The emulator runs in this process so that a test can pace its agent
and count the cancels it got; mix-mcp runs as a separate process, over stdio or Streamable HTTP, and
behind two ``--stateless`` replicas sharing Redis, including one that is stopped mid-run.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from mix_mcp.emulator import BackgroundEmulator
from mix_mcp.emulator.agent import AgentSettings
from tests.e2e import tasks_client as tc
from tests.e2e.replicated import RecordingBalancer
from tests.e2e.task_parts import drive_with_fastmcp, running_redis
from tests.support import ROOT, running_server, stdio_client_for, stdio_server, stop, text_of

#: Seconds between two events of the emulator's agent in the "several seconds" runs (about 20 events).
SLOW_STEP = 0.3


@pytest.fixture(scope="module")
def emulator() -> Iterator[BackgroundEmulator]:
    with BackgroundEmulator(agent=AgentSettings(step_delay=0.02)) as running:
        yield running


@pytest.fixture(autouse=True)
def quick_agent(emulator: BackgroundEmulator) -> None:
    emulator.agent.settings.step_delay = 0.02


@asynccontextmanager
async def connect(transport: str, emulator: BackgroundEmulator, *, mode: str = "auto") -> AsyncIterator[Client]:
    """A client declaring the tasks extension, on mix-mcp over ``transport``."""
    if transport == "stdio":
        params = stdio_server("--base-url", emulator.url)
        async with Client(stdio_client(params), mode=mode, read_timeout_seconds=60, extensions=[tc.Tasks()]) as client:
            yield client
        return
    with running_server("--transport", "http", "--base-url", emulator.url) as server:
        async with Client(server.url, mode=mode, read_timeout_seconds=60, extensions=[tc.Tasks()]) as client:
            yield client


async def new_session(client: Client, title: str) -> str:
    created = await client.call_tool("create_session", {"title": title})
    assert created.structured_content is not None, text_of(created)
    session_id = created.structured_content["id"]
    assert isinstance(session_id, str)
    return session_id


async def user_messages(client: Client, session_id: str) -> list[str]:
    listed = await client.call_tool("list_messages", {"session_id": session_id, "roles": ["user"]})
    assert listed.structured_content is not None, text_of(listed)
    return [m["userInput"] for m in listed.structured_content["messages"]]


def grant(task: tc.DetailedTask) -> dict[str, Any]:
    assert task.input_requests, task
    (key, request), *_ = task.input_requests.items()
    assert request["method"] == "elicitation/create"
    assert request["params"]["requestedSchema"]["properties"]["grant"]["type"] == "boolean"
    return {key: {"action": "accept", "content": {"grant": True}}}


# ------------------------------------------------------------------ the mcp SDK's client, raw requests


@pytest.mark.anyio
@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_a_run_with_a_permission_is_driven_as_a_task_to_its_result(
    transport: str, emulator: BackgroundEmulator
) -> None:
    async with connect(transport, emulator) as client:
        assert tc.EXTENSION_ID in (client.server_capabilities.extensions or {})
        session_id = await new_session(client, f"Task over {transport}")
        handle = await tc.call_as_task(client, "send_message", {"session_id": session_id, "text": "run: make test"})
        assert isinstance(handle, tc.TaskHandle), handle
        assert handle.status == "working" and handle.ttl_ms == 86_400_000 and handle.poll_interval_ms == 1000
        seen: list[str] = []
        parked = await tc.poll(client, handle.task_id, until=("input_required",), seen=seen)
        assert "make test" in json.dumps(parked.input_requests)
        await tc.update(client, handle.task_id, grant(parked))
        await tc.update(client, handle.task_id, grant(parked))  # a repeat is ignored: no second answer
        done = await tc.poll(client, handle.task_id, seen=seen)
        assert done.status == "completed", seen
        assert done.result is not None
        result = types.CallToolResult.model_validate(done.result)
        data = result.structured_content
        assert not result.is_error and data is not None
        assert (
            data["status"] == "completed"
            and data["text"] == "I ran `make test` and it printed (pretend output of make test)."
        )
        assert [p["answer"] for p in data["permissions"]] == ["granted"]
        assert data["tool_calls"][0]["name"] == "Bash" and data["tool_calls"][0]["input"] is not None
        assert data["usage"] is not None and data["usage"]["completion_tokens"] > 0
        assert json.loads(result.content[0].text) == data  # type: ignore[union-attr]
        assert any(line.startswith("input_required") for line in seen)
        assert await user_messages(client, session_id) == ["run: make test"]


@pytest.mark.anyio
async def test_a_declined_permission_is_denied_in_mix_and_the_run_goes_on(emulator: BackgroundEmulator) -> None:
    async with connect("stdio", emulator) as client:
        session_id = await new_session(client, "Denied task")
        handle = await tc.call_as_task(client, "send_message", {"session_id": session_id, "text": "run: rm -rf /"})
        assert isinstance(handle, tc.TaskHandle)
        parked = await tc.poll(client, handle.task_id, until=("input_required",))
        assert parked.input_requests is not None
        (key,) = parked.input_requests
        await tc.update(client, handle.task_id, {key: {"action": "decline"}})
        done = await tc.poll(client, handle.task_id)
        assert done.status == "completed" and done.result is not None
        data = done.result["structuredContent"]
        assert data["text"] == "I did not run `rm -rf /`: the permission was denied."
        assert [(p["answer"], p["answered_by"]) for p in data["permissions"]] == [("denied", "user")]


@pytest.mark.anyio
async def test_the_task_result_is_what_the_plain_call_returns(emulator: BackgroundEmulator) -> None:
    async with stdio_client_for("--base-url", emulator.url, mode="auto") as without_tasks:
        plain_session = await new_session(without_tasks, "Plain")
        plain = await without_tasks.call_tool("send_message", {"session_id": plain_session, "text": "hello agent"})
    async with connect("stdio", emulator) as client:
        task_session = await new_session(client, "Task")
        handle = await tc.call_as_task(client, "send_message", {"session_id": task_session, "text": "hello agent"})
        assert isinstance(handle, tc.TaskHandle)
        done = await tc.poll(client, handle.task_id)
        assert done.status == "completed" and done.result is not None
        tasked = done.result["structuredContent"]
        assert plain.structured_content is not None
        ignore = {"session_id", "message_id", "tool_calls", "reasoning_duration_ms", "last_event_id", "events", "usage"}
        assert {k: v for k, v in tasked.items() if k not in ignore} == {
            k: v for k, v in plain.structured_content.items() if k not in ignore
        }
        assert tasked["events"] == plain.structured_content["events"]
        assert [c["name"] for c in tasked["tool_calls"]] == ["ReadText"]
        # wait false answers at once anyway: never a task
        sent = await tc.call_as_task(client, "send_message", {"session_id": plain_session, "text": "x", "wait": False})
        assert isinstance(sent, types.CallToolResult)


@pytest.mark.anyio
async def test_follow_run_runs_as_a_task_and_sends_nothing(emulator: BackgroundEmulator) -> None:
    async with connect("stdio", emulator) as client:
        session_id = await new_session(client, "Followed as a task")
        sent = await tc.call_as_task(client, "send_message", {"session_id": session_id, "text": "hi", "wait": False})
        assert isinstance(sent, types.CallToolResult) and sent.structured_content is not None  # answers at once
        follow = sent.structured_content["next_arguments"]
        assert follow["tool"] == "follow_run"
        handle = await tc.call_as_task(client, "follow_run", follow["arguments"])
        assert isinstance(handle, tc.TaskHandle)
        done = await tc.poll(client, handle.task_id)
        assert done.status == "completed" and done.result is not None
        data = done.result["structuredContent"]
        assert data["status"] == "completed" and data["sent"] is False
        assert data["text"] == "You said: hi. I read README.md, which says hello."
        assert await user_messages(client, session_id) == ["hi"]


@pytest.fixture(scope="module")
def feb_emulator() -> Iterator[BackgroundEmulator]:
    """Mix of February 2026, whose agents ask questions (notifications)."""
    with BackgroundEmulator(mix_version="2026-02", agent=AgentSettings(step_delay=0.02)) as running:
        yield running


@pytest.mark.anyio
async def test_an_agents_question_is_answered_through_tasks_update(feb_emulator: BackgroundEmulator) -> None:
    async with connect("http", feb_emulator) as client:
        created = await client.call_tool(
            "create_session", {"title": "Question task", "browser_mode": "local-browser-service"}
        )
        assert created.structured_content is not None, text_of(created)
        session_id = created.structured_content["id"]
        text = "ask: Which colour? red, blue"
        handle = await tc.call_as_task(client, "send_message", {"session_id": session_id, "text": text})
        assert isinstance(handle, tc.TaskHandle)
        parked = await tc.poll(client, handle.task_id, until=("input_required",))
        assert parked.input_requests is not None
        ((key, request),) = parked.input_requests.items()
        assert key.startswith("question-") and "Which colour?" in request["params"]["message"]
        assert request["params"]["requestedSchema"]["properties"]["answer"]["enum"] == ["red", "blue"]
        await tc.update(client, handle.task_id, {key: {"action": "accept", "content": {"answer": "blue"}}})
        done = await tc.poll(client, handle.task_id)
        assert done.status == "completed" and done.result is not None
        data = done.result["structuredContent"]
        assert data["text"] == "You chose blue."
        ((question,),) = (data["notifications"],)
        assert question["answer"] == "answered" and question["answered_by"] == "user"


@pytest.mark.anyio
async def test_tasks_cancel_cancels_the_run_in_mix_once(emulator: BackgroundEmulator) -> None:
    async with connect("http", emulator) as client:
        session_id = await new_session(client, "Cancelled task")
        handle = await tc.call_as_task(client, "send_message", {"session_id": session_id, "text": "run: sleep 600"})
        assert isinstance(handle, tc.TaskHandle)
        await tc.poll(client, handle.task_id, until=("input_required",))
        await tc.cancel(client, handle.task_id)
        await tc.cancel(client, handle.task_id)
        cancelled = await tc.get(client, handle.task_id)
        assert cancelled.status == "cancelled" and cancelled.result is None
        for _ in range(100):
            if not emulator.agent.running(session_id):
                break
            await anyio.sleep(0.05)
        assert not emulator.agent.running(session_id)
        assert emulator.agent.cancel_calls.get(session_id) == 1
        assert (await tc.get(client, handle.task_id)).status == "cancelled"


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_tasks_methods_need_the_capability(mode: str, emulator: BackgroundEmulator) -> None:
    """-32021 without the extension in the request's capabilities; the handshake generation never tasks."""
    async with connect("stdio", emulator, mode=mode) as client:
        advertised = tc.EXTENSION_ID in (client.server_capabilities.extensions or {})
        assert advertised == (mode == "auto")
        session_id = await new_session(client, f"No tasks ({mode})")
        answer = await tc.call_as_task(client, "send_message", {"session_id": session_id, "text": "hello"})
        if mode == "legacy":
            assert isinstance(answer, types.CallToolResult) and answer.structured_content is not None
            assert answer.structured_content["status"] == "completed"
        for call in (tc.get(client, "nope"), tc.cancel(client, "nope"), tc.update(client, "nope", {})):
            if mode == "legacy":
                with pytest.raises(MCPError) as caught:
                    await call
                assert caught.value.error.code == -32021
                assert caught.value.error.data == {"requiredCapabilities": {"extensions": {tc.EXTENSION_ID: {}}}}
            else:
                with pytest.raises(MCPError) as caught:
                    await call
                assert caught.value.error.code == types.INVALID_PARAMS
                assert "not found" in caught.value.error.message


@pytest.mark.anyio
async def test_a_modern_client_without_the_extension_gets_todays_behaviour(emulator: BackgroundEmulator) -> None:
    client = stdio_client_for("--base-url", emulator.url, mode="auto")
    async with client:
        assert tc.EXTENSION_ID in (client.server_capabilities.extensions or {})
        session_id = await new_session(client, "Plain modern")
        plain = await client.call_tool("send_message", {"session_id": session_id, "text": "hello"})
        assert plain.structured_content is not None and plain.structured_content["status"] == "completed"
        with pytest.raises(MCPError) as caught:
            await client.session.send_request(tc.GetTask(params=tc.TaskIdParams(task_id="any")), tc.DetailedTask)
        assert caught.value.error.code == -32021


# ------------------------------------------------------------------ slow: seconds-long runs, replicas, restarts


@pytest.mark.slow
@pytest.mark.anyio
async def test_a_several_second_run_gets_its_handle_at_once(emulator: BackgroundEmulator) -> None:
    """The transcript the issue asks for: handle, polls with phases, input_required answered, result."""
    emulator.agent.settings.step_delay = SLOW_STEP
    async with connect("http", emulator) as client:
        session_id = await new_session(client, "Slow task")
        started = time.monotonic()
        handle = await tc.call_as_task(client, "send_message", {"session_id": session_id, "text": "run: make test"})
        handle_seconds = time.monotonic() - started
        assert isinstance(handle, tc.TaskHandle)
        assert handle_seconds < 2.0
        seen: list[str] = []
        parked = await tc.poll(client, handle.task_id, until=("input_required",), seen=seen)
        await tc.update(client, handle.task_id, grant(parked))
        done = await tc.poll(client, handle.task_id, seen=seen)
        total = time.monotonic() - started
    assert done.status == "completed" and done.result is not None
    assert total > 3.0, "the run was meant to take several seconds"
    phases = [line.split(": ", 1)[1] for line in seen if line.startswith("working")]
    assert "thinking" in phases and "running tool Bash" in phases and "writing the answer" in phases
    print(f"\nhandle after {handle_seconds:.3f} s: {handle.model_dump(by_alias=True, exclude={'meta'})}")
    for line in seen:
        print("poll:", line)
    print(f"result after {total:.1f} s: {done.result['structuredContent']['text']}")


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with running_redis() as url:
        yield url


def replica(emulator: BackgroundEmulator, redis_url: str) -> Any:
    return running_server(
        "--transport", "http", "--stateless", "--base-url", emulator.url, "--task-store", redis_url,
        "--log-level", "INFO", timeout=60,
    )  # fmt: skip


@asynccontextmanager
async def balanced(ports: list[int], url: str) -> AsyncIterator[tuple[Client, RecordingBalancer]]:
    balancer = RecordingBalancer(ports)
    async with httpx2.AsyncClient(transport=balancer, timeout=httpx2.Timeout(30, read=60)) as http:
        client = Client(streamable_http_client(url, http_client=http), mode="auto", extensions=[tc.Tasks()])
        async with client:
            yield client, balancer


@pytest.mark.slow
@pytest.mark.anyio
async def test_a_task_made_on_one_stateless_replica_is_polled_to_the_end_on_another(
    emulator: BackgroundEmulator, redis_url: str
) -> None:
    emulator.agent.settings.step_delay = 0.1
    with replica(emulator, redis_url) as first, replica(emulator, redis_url) as second:
        async with balanced([first.port, second.port], first.url) as (client, balancer):
            session_id = await new_session(client, "Across replicas")
            handle = await tc.call_as_task(client, "send_message", {"session_id": session_id, "text": "run: ls"})
            assert isinstance(handle, tc.TaskHandle)
            seen: list[str] = []
            parked = await tc.poll(client, handle.task_id, until=("input_required",), seen=seen)
            await tc.update(client, handle.task_id, grant(parked))
            done = await tc.poll(client, handle.task_id, seen=seen)
            assert done.status == "completed" and done.result is not None, seen
            assert done.result["structuredContent"]["text"] == "I ran `ls` and it printed (pretend output of ls)."
            assert await user_messages(client, session_id) == ["run: ls"]
        task_calls = [r for r in balancer.routed if r.method in ("tasks/get", "tasks/update")]
        assert {r.port for r in task_calls} == {first.port, second.port}
        creator = first if balancer.tool_calls("send_message")[0].port == first.port else second
        assert creator.stderr.count("event=task_sent") == 1
        print(f"\nacross replicas ({len(task_calls)} task requests on ports {sorted({r.port for r in task_calls})}):")
        for line in seen:
            print("poll:", line)


@pytest.mark.slow
@pytest.mark.anyio
async def test_a_task_survives_the_replica_that_made_it(emulator: BackgroundEmulator, redis_url: str) -> None:
    """SIGTERM the replica following the run, start a new one: polling there resumes from the last event read."""
    emulator.agent.settings.step_delay = SLOW_STEP
    with replica(emulator, redis_url) as maker:
        async with Client(maker.url, mode="auto", extensions=[tc.Tasks()]) as client:
            session_id = await new_session(client, "Survives a restart")
            handle = await tc.call_as_task(client, "send_message", {"session_id": session_id, "text": "hello there"})
            assert isinstance(handle, tc.TaskHandle)
            await tc.poll(client, handle.task_id, until=("working",))
            seen: list[str] = []
            while not seen or "thinking" not in seen[-1]:
                await tc.poll(client, handle.task_id, until=("working",), seen=seen)
        stop(maker.process)  # SIGTERM, mid-run
        assert maker.process.returncode == 0, maker.stderr[-2000:]
    stopped = time.monotonic()
    assert emulator.agent.running(session_id), "the run must go on in Mix while no replica follows it"
    with replica(emulator, redis_url) as successor:
        async with Client(successor.url, mode="auto", extensions=[tc.Tasks()]) as client:
            done = await tc.poll(client, handle.task_id, seen=seen, within=60)
            took = time.monotonic() - stopped
            assert done.status == "completed" and done.result is not None, seen
            data = done.result["structuredContent"]
            assert data["text"] == "You said: hello there. I read README.md, which says hello."
            assert await user_messages(client, session_id) == ["hello there"]
        assert "event=task_worker_started" in successor.stderr and "send=sent" in successor.stderr
    assert emulator.agent.cancel_calls.get(session_id) is None
    print(f"\nacross a restart (completed {took:.1f} s after the SIGTERM, on a new replica):")
    for line in seen:
        print("poll:", line)


@pytest.mark.slow
@pytest.mark.anyio
async def test_a_crashed_replicas_lease_runs_out_and_another_resumes(
    emulator: BackgroundEmulator, redis_url: str
) -> None:
    """SIGKILL leaves the lease in Redis: the next replica waits for it to run out, then resumes the run."""
    emulator.agent.settings.step_delay = SLOW_STEP
    with replica(emulator, redis_url) as maker:
        async with Client(maker.url, mode="auto", extensions=[tc.Tasks()]) as client:
            session_id = await new_session(client, "Survives a crash")
            handle = await tc.call_as_task(client, "send_message", {"session_id": session_id, "text": "crash test"})
            assert isinstance(handle, tc.TaskHandle)
            seen: list[str] = []
            while not seen or "thinking" not in seen[-1]:
                await tc.poll(client, handle.task_id, until=("working",), seen=seen)
        maker.process.kill()
        maker.process.wait(10)
    killed = time.monotonic()
    with replica(emulator, redis_url) as successor:
        async with Client(successor.url, mode="auto", extensions=[tc.Tasks()]) as client:
            done = await tc.poll(client, handle.task_id, seen=seen, within=60)
            took = time.monotonic() - killed
            assert done.status == "completed" and done.result is not None, seen
            assert (
                done.result["structuredContent"]["text"] == "You said: crash test. I read README.md, which says hello."
            )
            assert await user_messages(client, session_id) == ["crash test"]
    assert emulator.agent.cancel_calls.get(session_id) is None
    print(f"\nacross a crash (SIGKILL; completed {took:.1f} s later, after the 15 s lease ran out):")
    for line in seen:
        print("poll:", line)


@pytest.mark.slow
@pytest.mark.anyio
async def test_a_message_whose_fate_is_unknown_is_never_sent_again(
    emulator: BackgroundEmulator, redis_url: str
) -> None:
    """A replica that died between handing the message to Mix and hearing back: the task says so, sends nothing."""
    import redis.asyncio as aioredis

    from mix_mcp.serving.tasks.record import TaskRecord

    with replica(emulator, redis_url) as server:
        async with Client(server.url, mode="auto", extensions=[tc.Tasks()]) as client:
            session_id = await new_session(client, "Unknown fate")
            record = TaskRecord(
                task_id="lost-send-task",
                tool="send_message",
                arguments={"session_id": session_id, "text": "maybe sent"},
                session_id=session_id,
                send="sending",
                expires_at=time.time() + 60,
                ttl_ms=60_000,
                poll_interval_ms=1000,
            )
            store = aioredis.from_url(redis_url)
            await store.set("mix-mcp:task:lost-send-task", record.model_dump_json(), px=60_000)
            await store.aclose()
            done = await tc.poll(client, "lost-send-task")
            assert done.status == "completed" and done.result is not None
            result = types.CallToolResult.model_validate(done.result)
            assert result.is_error and "list_messages" in text_of(result)
            assert await user_messages(client, session_id) == []


# ------------------------------------------------------------------ slow: fastmcp-tasks' client


def _events(lines: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [line for line in lines if line["event"] == kind]


async def _session(url: str, title: str) -> str:
    async with Client(url, mode="auto") as client:
        return await new_session(client, title)


@pytest.mark.slow
@pytest.mark.anyio
async def test_fastmcp_tasks_client_drives_runs_over_streamable_http(emulator: BackgroundEmulator) -> None:
    emulator.agent.settings.step_delay = SLOW_STEP
    with running_server("--transport", "http", "--base-url", emulator.url) as server:
        granted = drive_with_fastmcp("grant", server.url, await _session(server.url, "fastmcp grant"))
        (handle,) = _events(granted, "handle")
        assert handle["seconds"] < 2.0 and handle["status"] == "working"
        assert [e["status"] for e in _events(granted, "status")].count("input_required") == 1
        assert len(_events(granted, "asked")) == 1 and "make test" in _events(granted, "asked")[0]["message"]
        (result,) = _events(granted, "result")
        assert result["seconds"] > 3.0 and result["data"]["status"] == "completed"
        assert result["data"]["permissions"][0]["answer"] == "granted"

        session_id = await _session(server.url, "fastmcp cancel")
        cancelled = drive_with_fastmcp("cancel", server.url, session_id)
        assert _events(cancelled, "final") == [{"event": "final", "status": "cancelled"}]
        assert emulator.agent.cancel_calls.get(session_id) == 1

        transparent = drive_with_fastmcp("transparent", server.url, await _session(server.url, "fastmcp plain"))
        (plain,) = _events(transparent, "result")
        assert plain["data"]["text"] == "You said: hello from fastmcp. I read README.md, which says hello."
    print("\nfastmcp-tasks over Streamable HTTP:")
    for line in granted:
        print(json.dumps(line)[:200])


@pytest.mark.slow
@pytest.mark.anyio
async def test_fastmcp_tasks_client_over_stdio(emulator: BackgroundEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    emulator.agent.settings.step_delay = 0.05
    async with connect("stdio", emulator) as client:
        session_id = await new_session(client, "fastmcp stdio")
    monkeypatch.setenv("TASKS_DRIVER_PYTHON", str(ROOT / ".venv" / "bin" / "python"))
    monkeypatch.setenv("TASKS_DRIVER_ROOT", str(ROOT))
    lines = drive_with_fastmcp("grant", f"stdio:{emulator.url}", session_id)
    (result,) = _events(lines, "result")
    assert result["data"]["status"] == "completed" and result["data"]["permissions"][0]["answer"] == "granted"


@pytest.mark.slow
@pytest.mark.anyio
async def test_fastmcp_tasks_client_across_replicas_and_a_restart(emulator: BackgroundEmulator, redis_url: str) -> None:
    emulator.agent.settings.step_delay = SLOW_STEP
    with replica(emulator, redis_url) as maker:
        session_id = await _session(maker.url, "fastmcp restart")
        started = drive_with_fastmcp("start", maker.url, session_id)
        (handle,) = _events(started, "handle_json")
        stop(maker.process)
    with replica(emulator, redis_url) as successor:
        finished = drive_with_fastmcp("finish", successor.url, json.dumps(handle["handle"]))
    (result,) = _events(finished, "result")
    assert result["data"]["text"] == "You said: hello from fastmcp. I read README.md, which says hello."
    assert emulator.agent.cancel_calls.get(session_id) is None
