"""Where task records live: this process's memory, or Redis shared by every replica.

One server needs nothing but memory (its tasks end with it). Replicas share Redis
(``--task-store redis://...``): a task made on one is polled on another, and outlives the process
that made it. Beside each record the store keeps a lease: the process following a task's run holds
it and renews it; when that process stops, the lease runs out and any replica that serves the task
takes it over and resumes the run where the record says. Records expire with their task's TTL.

Writes are read-modify-write functions applied atomically (a Redis transaction on the record's key),
so that the worker, a ``tasks/update`` and a ``tasks/cancel`` on different replicas never undo each
other.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Final, Protocol

from mix_mcp.config import ConfigError, Settings, describe_setting, redact_url
from mix_mcp.serving.tasks.record import TaskRecord

#: Returns the record to write, or ``None`` to leave the stored one as it is.
Change = Callable[[TaskRecord], TaskRecord | None]
_PREFIX: Final = "mix-mcp:task:"
_LEASE_PREFIX: Final = "mix-mcp:task-lease:"


class TaskStoreError(Exception):
    """The shared task store could not be reached or answered nonsense; the message says which store."""


class TaskStore(Protocol):
    async def create(self, record: TaskRecord) -> None: ...

    async def get(self, task_id: str) -> TaskRecord | None: ...

    async def update(self, task_id: str, change: Change) -> TaskRecord | None:
        """Apply ``change`` atomically; the record written, or ``None`` when nothing was (unknown or unchanged)."""
        ...

    async def acquire_lease(self, task_id: str, owner: str, seconds: float) -> bool: ...

    async def renew_lease(self, task_id: str, owner: str, seconds: float) -> bool: ...

    async def release_lease(self, task_id: str, owner: str) -> None: ...

    async def aclose(self) -> None: ...


class MemoryTaskStore:
    """This process's tasks. Only touched from the event loop's thread, with no await inside a change."""

    def __init__(self) -> None:
        self._records: dict[str, TaskRecord] = {}
        self._leases: dict[str, tuple[str, float]] = {}

    def _purge(self) -> None:
        now = time.time()
        for task_id in [k for k, r in self._records.items() if r.expires_at <= now]:
            del self._records[task_id]
            self._leases.pop(task_id, None)

    async def create(self, record: TaskRecord) -> None:
        self._purge()
        self._records[record.task_id] = record

    async def get(self, task_id: str) -> TaskRecord | None:
        self._purge()
        return self._records.get(task_id)

    async def update(self, task_id: str, change: Change) -> TaskRecord | None:
        current = await self.get(task_id)
        if current is None:
            return None
        new = change(current)
        if new is not None:
            self._records[task_id] = new
        return new

    async def acquire_lease(self, task_id: str, owner: str, seconds: float) -> bool:
        held = self._leases.get(task_id)
        if held is not None and held[0] != owner and held[1] > time.monotonic():
            return False
        self._leases[task_id] = (owner, time.monotonic() + seconds)
        return True

    async def renew_lease(self, task_id: str, owner: str, seconds: float) -> bool:
        held = self._leases.get(task_id)
        if held is None or held[0] != owner:
            return False
        self._leases[task_id] = (owner, time.monotonic() + seconds)
        return True

    async def release_lease(self, task_id: str, owner: str) -> None:
        held = self._leases.get(task_id)
        if held is not None and held[0] == owner:
            del self._leases[task_id]

    async def aclose(self) -> None:
        return None


#: Renews the lease only for its holder (KEYS[1] lease key, ARGV[1] owner, ARGV[2] milliseconds).
_RENEW: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
#: Drops the lease only for its holder.
_RELEASE: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisTaskStore:
    """Task records in Redis: one JSON string per task, expiring with the task; leases beside them."""

    def __init__(self, url: str) -> None:
        try:
            import redis.asyncio as aioredis  # only deployments that share tasks need it
        except ImportError:
            raise ConfigError(
                f"{describe_setting('task_store')} names Redis, but the 'redis' package is not installed: "
                "pip install 'mix-mcp[redis]' (or pip install redis)"
            ) from None
        from redis.exceptions import RedisError, WatchError

        self._errors: tuple[type[Exception], ...] = (RedisError, OSError)
        self._watch_error = WatchError
        self._where = redact_url(url)
        self._redis: Any = aioredis.from_url(url, decode_responses=True, socket_timeout=10, socket_connect_timeout=5)

    def _failed(self, exc: Exception) -> TaskStoreError:
        return TaskStoreError(
            f"The task store {self._where} could not be used ({type(exc).__name__}); check that Redis is running "
            f"and reachable from this server ({describe_setting('task_store')})."
        )

    async def create(self, record: TaskRecord) -> None:
        try:
            await self._redis.set(_PREFIX + record.task_id, record.model_dump_json(), px=_ms(record.ttl_seconds))
        except self._errors as exc:
            raise self._failed(exc) from None

    async def get(self, task_id: str) -> TaskRecord | None:
        try:
            raw = await self._redis.get(_PREFIX + task_id)
        except self._errors as exc:
            raise self._failed(exc) from None
        return TaskRecord.model_validate_json(raw) if raw is not None else None

    async def update(self, task_id: str, change: Change) -> TaskRecord | None:
        key = _PREFIX + task_id
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                for _ in range(100):
                    try:
                        await pipe.watch(key)
                        raw = await pipe.get(key)
                        if raw is None:
                            await pipe.reset()
                            return None
                        new = change(TaskRecord.model_validate_json(raw))
                        if new is None:
                            await pipe.reset()
                            return None
                        pipe.multi()
                        pipe.set(key, new.model_dump_json(), px=_ms(new.ttl_seconds))
                        await pipe.execute()
                        return new
                    except self._watch_error:
                        continue  # written by someone else meanwhile: read it again
        except self._errors as exc:
            raise self._failed(exc) from None
        raise TaskStoreError(f"The task {task_id!r} kept changing under this server's update; try again.")

    async def acquire_lease(self, task_id: str, owner: str, seconds: float) -> bool:
        try:
            return bool(await self._redis.set(_LEASE_PREFIX + task_id, owner, nx=True, px=_ms(seconds)))
        except self._errors as exc:
            raise self._failed(exc) from None

    async def renew_lease(self, task_id: str, owner: str, seconds: float) -> bool:
        try:
            return bool(await self._redis.eval(_RENEW, 1, _LEASE_PREFIX + task_id, owner, _ms(seconds)))
        except self._errors as exc:
            raise self._failed(exc) from None

    async def release_lease(self, task_id: str, owner: str) -> None:
        try:
            await self._redis.eval(_RELEASE, 1, _LEASE_PREFIX + task_id, owner)
        except self._errors as exc:
            raise self._failed(exc) from None

    async def aclose(self) -> None:
        await self._redis.aclose()


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def open_store(settings: Settings) -> TaskStore:
    """The store ``--task-store`` names (checked by Settings): memory, or Redis."""
    if settings.task_store == "memory":
        return MemoryTaskStore()
    return RedisTaskStore(settings.task_store)
