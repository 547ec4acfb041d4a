"""The fault suite: the real server (in process, over the SDK's Client) against a scripted upstream.

For every fault: what the agent gets (a success after a retry, or an ``isError`` naming status,
content type and the start of the body), how many requests reached the upstream, and that the call
ended within its deadline (a generous bound: these are not speed tests). Under the same faults,
``create_session`` and ``fork_session`` reach the upstream at most once per call.
"""

from __future__ import annotations

import email.utils
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client

from mix_mcp.config import Settings
from mix_mcp.mix.client import MixClient
from mix_mcp.mix.endpoints import LIST_SESSIONS
from mix_mcp.serving.server import build_server
from tests.faults.conftest import fast_settings
from tests.faults.upstream import Action, FaultUpstream, Oversized, Reset, Respond, Stall, Truncate
from tests.support import free_port, single_page, text_of
from tests.unit.fakes import SESSION

#: Slack on top of a call's own deadline before a test calls it late (loaded CI machines included).
SLACK = 2.0
MAY_HAVE_REACHED = "may have reached Mix"


@dataclass(frozen=True)
class Fault:
    """One bad answer; ``make`` corrupts the good payload of the operation under test."""

    name: str
    make: Callable[[Any], Action]
    fragments: tuple[str, ...]
    #: Whether a read (or idempotent write) tries again after it.
    retried: bool
    #: A 4xx: Mix certainly did not carry out a write, so no "may have reached Mix" advice.
    refused: bool = False


def _cut(payload: Any, chars: int = 30) -> bytes:
    return json.dumps(payload).encode()[:chars]


def _off_contract(payload: Any) -> Any:
    bad = {**SESSION, "id": 7, "cost": "free"}
    return [bad] if isinstance(payload, list) else bad


NGINX = "<html><head><title>Welcome</title></head><body><h1>Welcome to nginx!</h1></body></html>"
FAULTS = [
    Fault(
        "http-500",
        lambda p: Respond.envelope(500, "database is locked"),
        ("HTTP 500 internal_error", "database is locked"),
        retried=True,
    ),
    Fault(
        "http-503-retry-after",
        lambda p: Respond.envelope(503, "warming up", headers=(("Retry-After", "1"),)),
        ("HTTP 503", "warming up", "Retry-After"),
        retried=True,
    ),
    Fault(
        "http-429",
        lambda p: Respond.envelope(429, "slow down", "rate_limited"),
        ("HTTP 429", "slow down"),
        retried=True,
        refused=True,
    ),
    Fault("reset", lambda p: Reset(), ("unreachable", "the connection was reset"), retried=True),
    Fault(
        "stall",
        lambda p: Stall(10),
        ("did not answer in time", "waiting for the answer: 0.5s limit", "MIX_READ_TIMEOUT"),
        retried=True,
    ),
    Fault(
        "html-200",
        lambda p: Respond.html(200, NGINX),
        ("is not JSON", "HTTP 200", "content-type text/html; charset=utf-8", "Welcome to nginx!"),
        retried=False,
    ),
    Fault(
        "html-502",
        lambda p: Respond.html(502, "<html><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>"),
        ("HTTP 502", "content-type text/html", "502 Bad Gateway", "not in Mix's error format"),
        retried=True,
    ),
    Fault(
        "garbage",
        lambda p: Respond(200, b"\x00\xff\xfe garbage \x1b[31m" + bytes(range(256)), "application/octet-stream"),
        ("is not JSON", "HTTP 200", "content-type application/octet-stream", "Body starts:", "garbage"),
        retried=False,
    ),
    Fault(
        "cut-off",
        lambda p: Truncate(200, _cut(p), 500),
        ("was cut off", "after 30 bytes of the 500 announced", "HTTP 200", "content-type application/json", '{"id": '),
        retried=True,
    ),
    Fault(
        "truncated-json",
        lambda p: Respond(200, _cut(p)),
        ("is truncated JSON", "HTTP 200", "content-type application/json", '{"id": '),
        retried=False,
    ),
    Fault(
        "oversized-announced",
        lambda p: Oversized(1_000_000, chunked=False),
        ("larger than the 65,536-byte limit", "at least 1,000,000 bytes", "HTTP 200", "MIX_MAX_RESPONSE_BYTES"),
        retried=False,
    ),
    Fault(
        "oversized-chunked",
        lambda p: Oversized(1_000_000, chunked=True),
        ("larger than the 65,536-byte limit", "HTTP 200", "content-type application/json"),
        retried=False,
    ),
    Fault(
        "off-contract",
        lambda p: Respond.json(200, _off_contract(p)),
        ("does not fit the Mix sessions contract", "id: Input should be a valid string", "cost", "HTTP 200"),
        retried=False,
    ),
    Fault(
        "bad-encoding",
        lambda p: Respond(200, b"this is not gzip", "application/json", (("Content-Encoding", "gzip"),)),
        ("could not be decoded", "content-encoding gzip", "HTTP 200"),
        retried=False,
    ),
    Fault(
        "http-501",
        lambda p: Respond.envelope(501, "not implemented here"),
        ("HTTP 501", "not implemented here"),
        retried=False,
    ),
]
RETRIED = [f for f in FAULTS if f.retried]

WRITES: dict[str, tuple[dict[str, Any], str]] = {
    "create_session": ({"title": "fault test"}, "/api/sessions"),
    "fork_session": ({"session_id": "s-1", "message_index": 0}, "/api/sessions/s-1/fork"),
}


async def _call(settings: Settings, tool: str, arguments: dict[str, Any]) -> tuple[types.CallToolResult, float]:
    async with Client(build_server(settings)) as client:
        started = time.monotonic()
        result = await client.call_tool(tool, arguments)
        return result, time.monotonic() - started


def _assert_clear_error(result: types.CallToolResult, fragments: tuple[str, ...]) -> str:
    assert result.is_error
    text = text_of(result)
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in {text!r}"
    assert "Traceback" not in text and "internal error" not in text
    return text


@pytest.mark.anyio
@pytest.mark.parametrize("fault", RETRIED, ids=lambda f: f.name)
async def test_a_read_recovers_after_one_fault(upstream: FaultUpstream, fault: Fault) -> None:
    upstream.push(fault.make([SESSION]), Respond.json(200, [SESSION]))
    settings = fast_settings(upstream)
    result, elapsed = await _call(settings, "list_sessions", {})
    assert not result.is_error, text_of(result)
    assert result.structured_content == {"sessions": [SESSION], **single_page(1)}
    assert [r.target for r in upstream.requests] == ["/api/sessions", "/api/sessions"]
    assert elapsed < settings.call_timeout + SLACK


@pytest.mark.anyio
@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.name)
async def test_a_read_that_keeps_failing_ends_in_a_clear_error(upstream: FaultUpstream, fault: Fault) -> None:
    settings = fast_settings(upstream)
    upstream.push(*(fault.make([SESSION]) for _ in range(settings.max_retries + 1)))
    result, elapsed = await _call(settings, "list_sessions", {})
    text = _assert_clear_error(result, fault.fragments)
    expected = settings.max_retries + 1 if fault.retried else 1
    assert upstream.count() == expected
    assert (f"after {expected} attempts" in text) == fault.retried
    assert MAY_HAVE_REACHED not in text
    assert elapsed < settings.call_timeout + SLACK
    if isinstance(fault.make(None), Stall):
        assert await upstream.until(lambda u: all(r.closed_by_client for r in u.requests))


@pytest.mark.anyio
@pytest.mark.parametrize("tool", list(WRITES))
@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.name)
async def test_a_non_idempotent_write_reaches_mix_at_most_once(
    upstream: FaultUpstream, fault: Fault, tool: str
) -> None:
    arguments, path = WRITES[tool]
    upstream.push(fault.make(SESSION), Respond.json(201, SESSION))
    settings = fast_settings(upstream)
    result, elapsed = await _call(settings, tool, arguments)
    text = _assert_clear_error(result, fault.fragments)
    assert [(r.method, r.target) for r in upstream.requests] == [("POST", path)]
    assert upstream.pending() == 1, "the success queued after the fault must never be asked for"
    # Unless Mix refused it (4xx), the write may have happened: the agent is told how to check first.
    assert (MAY_HAVE_REACHED in text) != fault.refused
    if not fault.refused:
        assert "list_sessions" in text
    assert elapsed < settings.call_timeout + SLACK


@pytest.mark.anyio
@pytest.mark.parametrize(
    "retry_after",
    [lambda: "1", lambda: email.utils.formatdate(time.time() + 2, usegmt=True)],
    ids=["seconds", "http-date"],
)
async def test_retry_after_is_honoured(upstream: FaultUpstream, retry_after: Callable[[], str]) -> None:
    upstream.push(
        Respond.envelope(503, "busy", headers=(("Retry-After", retry_after()),)), Respond.json(200, [SESSION])
    )
    result, _ = await _call(fast_settings(upstream), "list_sessions", {})
    assert not result.is_error, text_of(result)
    first, second = upstream.requests
    # An HTTP date has one-second resolution, so "now + 2 s" means at least one second from now.
    assert second.received_at - first.received_at >= 0.9


@pytest.mark.anyio
async def test_a_retry_after_beyond_the_deadline_is_reported_not_waited_for(upstream: FaultUpstream) -> None:
    upstream.push(Respond.envelope(503, "maintenance", headers=(("Retry-After", "120"),)))
    settings = fast_settings(upstream)
    result, elapsed = await _call(settings, "list_sessions", {})
    _assert_clear_error(result, ("HTTP 503", "maintenance", "Mix asked to wait 120s (Retry-After)"))
    assert upstream.count() == 1
    assert elapsed < settings.retry_deadline


@pytest.mark.anyio
@pytest.mark.parametrize("tool", ["list_sessions", "create_session"])
async def test_the_whole_call_deadline_aborts_the_request_in_flight(upstream: FaultUpstream, tool: str) -> None:
    arguments = {"title": "slow"} if tool == "create_session" else {}
    upstream.push(Stall(30))
    settings = fast_settings(upstream, read_timeout=30.0, call_timeout=1.5)
    result, elapsed = await _call(settings, tool, arguments)
    text = _assert_clear_error(
        result, ("did not answer in time", "whole call with retries: 1.5s limit", "MIX_MCP_TIMEOUT")
    )
    assert elapsed < settings.call_timeout + SLACK
    assert upstream.count() == 1
    assert await upstream.until(lambda u: u.requests[0].closed_by_client), "the stalled request was not aborted"
    assert (MAY_HAVE_REACHED in text) == (tool == "create_session")


@pytest.mark.anyio
async def test_a_create_is_retried_when_the_connection_is_refused(upstream: FaultUpstream) -> None:
    upstream.push(Respond.json(201, SESSION))
    upstream.pause()
    reopen = threading.Timer(0.4, upstream.resume)
    reopen.start()
    try:
        settings = fast_settings(upstream, max_retries=10, retry_deadline=20.0, call_timeout=20.0)
        result, elapsed = await _call(settings, "create_session", {"title": "after a refusal"})
    finally:
        reopen.join()
    assert not result.is_error, text_of(result)
    assert result.structured_content == SESSION
    assert [(r.method, r.target) for r in upstream.requests] == [("POST", "/api/sessions")]
    assert elapsed < settings.call_timeout + SLACK


@pytest.mark.anyio
@pytest.mark.parametrize("tool", list(WRITES))
async def test_a_write_to_a_dead_port_is_retried_and_says_nothing_was_sent(tool: str) -> None:
    settings = Settings(base_url=f"http://127.0.0.1:{free_port()}", max_retries=2, connect_timeout=1.0)
    result, elapsed = await _call(settings, tool, WRITES[tool][0])
    text = _assert_clear_error(result, ("after 3 attempts", "unreachable", "connection refused"))
    assert MAY_HAVE_REACHED not in text
    assert elapsed < settings.call_timeout + SLACK


@pytest.mark.anyio
@pytest.mark.parametrize("fault", [Stall(60), Oversized(50_000_000)], ids=["waiting-for-headers", "mid-body"])
async def test_cancelling_a_call_drops_its_connection_and_keeps_the_pool_usable(
    upstream: FaultUpstream, fault: Action
) -> None:
    """An aborted request must not go back to the pool half-read: the next call takes a fresh connection."""
    settings = fast_settings(upstream, read_timeout=60.0, call_timeout=120.0, max_response_bytes=100_000_000)
    upstream.push(Respond.json(200, []), fault, Respond.json(200, [SESSION]))
    async with MixClient(settings) as client:
        assert await client.send(LIST_SESSIONS, idempotent=True) == []
        async with anyio.create_task_group() as group:
            group.start_soon(partial(client.send, LIST_SESSIONS, idempotent=True))
            assert await upstream.until(lambda u: u.count() == 2)
            group.cancel_scope.cancel()
        assert await client.send(LIST_SESSIONS, idempotent=True) == [SESSION]
    first, cancelled, after = upstream.requests
    assert cancelled.connection == first.connection, "keep-alive: the second call reused the idle connection"
    assert after.connection != cancelled.connection
    if isinstance(fault, Stall):
        assert await upstream.until(lambda u: u.requests[1].closed_by_client)
