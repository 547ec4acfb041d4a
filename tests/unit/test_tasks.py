"""The pieces of agent runs as tasks: the capability check, the run folded over slices, the stores.

The Redis store is checked against a real ``redis-server`` (Debian's), the memory store against the
same expectations: atomic changes, a lease held by one owner at a time, records that expire.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import pytest

from mix_mcp.config import ConfigError, Settings
from mix_mcp.serving.tasks import run_steps
from mix_mcp.serving.tasks.protocol import EXTENSION_ID, declared
from mix_mcp.serving.tasks.record import TaskRecord
from mix_mcp.serving.tasks.store import MemoryTaskStore, RedisTaskStore, TaskStore, TaskStoreError
from tests.e2e.task_parts import running_redis

MODERN = "2026-07-28"


def _meta(extensions: dict[str, Any]) -> dict[str, Any]:
    return {"_meta": {"io.modelcontextprotocol/clientCapabilities": {"extensions": extensions}}}


def test_only_a_modern_request_that_declares_the_extension_opts_in() -> None:
    assert declared(_meta({EXTENSION_ID: {}}), MODERN)
    assert not declared(_meta({EXTENSION_ID: {}}), "2025-11-25")
    assert not declared(_meta({"io.modelcontextprotocol/ui": {}}), MODERN)
    assert not declared({"_meta": {"progressToken": 1}}, MODERN)
    assert not declared(None, MODERN)


def test_the_task_store_setting_takes_memory_or_a_redis_url_and_never_shows_a_password() -> None:
    assert Settings(task_store="redis://:pw@redis:6379/0").task_store.startswith("redis://")
    assert Settings(task_store="unix:///run/redis.sock").task_store.startswith("unix://")
    with pytest.raises(ConfigError) as caught:
        Settings(task_store="http://user:secret@redis:6379")
    assert "--task-store" in str(caught.value) and "secret" not in str(caught.value)
    with pytest.raises(ConfigError, match="--task-ttl"):
        Settings(task_ttl=5)


def test_slices_fold_into_one_run_result() -> None:
    first = {
        "text": "I ran ",
        "tool_calls": [{"id": "c1", "name": "Bash", "status": "pending", "input": '{"command": "ls"}'}],
        "permissions": [{"id": "p1", "answer": "pending", "answered_by": None}],
        "errors": [],
        "events": 6,
        "reconnects": 0,
        "message_id": "m1",
    }
    second = {
        "text": "`ls`.",
        "tool_calls": [{"id": "c1", "name": "Bash", "status": "succeeded", "input": None, "output": "Done"}],
        "permissions": [],
        "errors": [],
        "events": 4,
        "reconnects": 1,
        "message_id": None,
    }
    merged = run_steps.merge(first, second, {"p1": True})
    assert merged["text"] == "I ran `ls`."
    assert merged["tool_calls"] == [
        {"id": "c1", "name": "Bash", "status": "succeeded", "input": '{"command": "ls"}', "output": "Done"}
    ]
    assert merged["permissions"] == [{"id": "p1", "answer": "granted", "answered_by": "user"}]
    assert (merged["events"], merged["reconnects"], merged["message_id"]) == (10, 1, "m1")
    # A 'complete' event carries the whole answer: it replaces the text rather than repeating it.
    assert run_steps.merge(first, {**second, "text": "I ran `ls`."}, {})["text"] == "I ran `ls`."


def test_only_a_ticked_allow_grants() -> None:
    assert run_steps.decision({"action": "accept", "content": {"grant": True}}) is True
    assert run_steps.decision({"action": "accept", "content": {"grant": False}}) is False
    assert run_steps.decision({"action": "decline"}) is False
    assert run_steps.decision({"action": "cancel"}) is False
    assert run_steps.decision("yes") is False


def _record(task_id: str = "t1", ttl: float = 60.0) -> TaskRecord:
    return TaskRecord(
        task_id=task_id,
        tool="send_message",
        arguments={"session_id": "s", "text": "hi"},
        session_id="s",
        expires_at=time.time() + ttl,
        ttl_ms=round(ttl * 1000),
        poll_interval_ms=1000,
    )


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with running_redis() as url:
        yield url


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.slow)])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[TaskStore]:
    made: TaskStore = (
        MemoryTaskStore() if request.param == "memory" else RedisTaskStore(request.getfixturevalue("redis_url"))
    )
    yield made
    await made.aclose()


@pytest.mark.anyio
async def test_changes_are_atomic_and_a_declined_change_writes_nothing(store: TaskStore) -> None:
    record = _record(f"atomic-{time.monotonic_ns()}")
    await store.create(record)

    async def answer(n: int) -> None:
        await store.update(record.task_id, lambda r: r.touched(answered=[*r.answered, f"k{n}"]))

    async with anyio.create_task_group() as group:
        for n in range(20):
            group.start_soon(answer, n)
    stored = await store.get(record.task_id)
    assert stored is not None and sorted(stored.answered) == sorted(f"k{n}" for n in range(20))
    assert await store.update(record.task_id, lambda r: None) is None
    assert await store.update("no-such-task", lambda r: r.touched(status="failed")) is None


@pytest.mark.anyio
async def test_a_lease_has_one_holder_until_released(store: TaskStore) -> None:
    task_id = f"lease-{time.monotonic_ns()}"
    assert await store.acquire_lease(task_id, "a", 5)
    assert not await store.acquire_lease(task_id, "b", 5)
    assert not await store.renew_lease(task_id, "b", 5)
    assert await store.renew_lease(task_id, "a", 5)
    await store.release_lease(task_id, "b")  # not b's to release
    assert not await store.acquire_lease(task_id, "b", 5)
    await store.release_lease(task_id, "a")
    assert await store.acquire_lease(task_id, "b", 0.2)
    await anyio.sleep(0.4)  # runs out by itself
    assert await store.acquire_lease(task_id, "a", 5)


@pytest.mark.anyio
async def test_a_record_expires_with_its_task(store: TaskStore) -> None:
    record = _record(f"ttl-{time.monotonic_ns()}", ttl=0.3)
    await store.create(record)
    assert await store.get(record.task_id) is not None
    await anyio.sleep(0.6)
    assert await store.get(record.task_id) is None


@pytest.mark.anyio
async def test_an_unreachable_redis_is_named_without_its_password() -> None:
    from tests.support import free_port

    store = RedisTaskStore(f"redis://:hunter2secret@127.0.0.1:{free_port()}/0")
    with pytest.raises(TaskStoreError) as caught:
        await store.get("t")
    assert "127.0.0.1" in str(caught.value) and "hunter2secret" not in str(caught.value)
    await store.aclose()
