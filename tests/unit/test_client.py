"""MixClient: error mapping, bad answers, path encoding, size limits and the retry rules."""

from __future__ import annotations

import email.utils
import time
from typing import Any

import httpx2
import pytest

from mix_mcp.mix.client import RETRYABLE_STATUS, encode_segment, parse_retry_after
from mix_mcp.mix.endpoints import CREATE_SESSION, DELETE_SESSION, GET_SESSION, LIST_SESSIONS, SESSIONS_PREFIX
from mix_mcp.mix.errors import ErrorHints, MixAPIError, MixResponseError, MixUnreachableError
from mix_mcp.serving.server import run_operation
from mix_mcp.tools.operations import OPERATIONS_BY_NAME
from tests.unit.fakes import SESSION, envelope, mix_client

HOSTILE_IDS = ["a/b", "../x", "x/../../etc", "%2F", "a?b=c", "a#frag", "sp ace", "ünï", "\u202e", "a%2e%2e", "..."]


@pytest.mark.parametrize("session_id", HOSTILE_IDS)
def test_hostile_ids_stay_one_path_segment(session_id: str) -> None:
    encoded = encode_segment(session_id)
    assert "/" not in encoded and "?" not in encoded and "#" not in encoded
    request = httpx2.Request("GET", f"http://mix.test{SESSIONS_PREFIX}/{encoded}/export")
    segments = request.url.raw_path.decode().split("/")
    assert segments[:3] == ["", "api", "sessions"]
    assert len(segments) == 5
    assert segments[4] == "export"


@pytest.mark.parametrize("session_id", [".", ".."])
def test_dot_segments_are_refused(session_id: str) -> None:
    with pytest.raises(ValueError, match="not a valid"):
        encode_segment(session_id)


@pytest.mark.anyio
@pytest.mark.parametrize("session_id", HOSTILE_IDS)
async def test_hostile_ids_reach_mix_inside_the_sessions_path(session_id: str) -> None:
    seen: list[bytes] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.url.raw_path)
        return httpx2.Response(200, json=SESSION)

    async with mix_client(handler) as client:
        await client.send(GET_SESSION, session_id=session_id, idempotent=True)
    assert seen[0].startswith(b"/api/sessions/")
    assert seen[0].count(b"/") == 3


@pytest.mark.anyio
async def test_error_envelope_becomes_typed_error() -> None:
    async with mix_client(lambda r: envelope(404, "Session not found", "not_found")) as client:
        with pytest.raises(MixAPIError) as caught:
            await client.send(GET_SESSION, session_id="nope", idempotent=True, operation="get_session")
    error = caught.value
    assert (error.status, error.error_type, error.message) == (404, "not_found", "Session not found")
    assert (error.method, error.path) == ("GET", "/api/sessions/nope")
    text = error.describe(ErrorHints())
    assert text == (
        "get_session failed: Session not found (HTTP 404 not_found from GET /api/sessions/nope). "
        "Call list_sessions to see the ids that exist."
    )


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("response", "fragments"),
    [
        (
            httpx2.Response(
                502, text="<html><body><h1>502 Bad Gateway</h1></body></html>", headers={"content-type": "text/html"}
            ),
            ["502 Bad Gateway", "HTTP 502", "not in Mix's error format"],
        ),
        (httpx2.Response(500, text=""), ["(empty body)", "HTTP 500"]),
        (httpx2.Response(400, json={"error": "flat string"}), ['{"error":"flat string"}', "HTTP 400"]),
        (httpx2.Response(401, json={"message": "no"}), ["HTTP 401", "MIX_API_KEY"]),
    ],
)
async def test_malformed_error_bodies_still_read_usefully(response: httpx2.Response, fragments: list[str]) -> None:
    async with mix_client(lambda r: response) as client:
        with pytest.raises(MixAPIError) as caught:
            await client.send(GET_SESSION, session_id="s", idempotent=True)
    text = caught.value.describe(ErrorHints())
    for fragment in fragments:
        assert fragment in text


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("response", "reason"),
    [
        (httpx2.Response(200, text="hello", headers={"content-type": "text/plain"}), "is not JSON"),
        (
            httpx2.Response(200, content=b'{"id": "a", "title"', headers={"content-type": "application/json"}),
            "is truncated JSON",
        ),
        (httpx2.Response(200, content=b"", headers={"content-type": "application/json"}), "is empty"),
        (httpx2.Response(200, json={"id": 7}), "does not fit the Mix sessions contract"),
        (httpx2.Response(200, json=[1, 2]), "does not fit the Mix sessions contract"),
    ],
)
async def test_bad_success_bodies_are_clear_errors(response: httpx2.Response, reason: str) -> None:
    async with mix_client(lambda r: response) as client:
        result = await run_operation(client, OPERATIONS_BY_NAME["get_session"], {"session_id": "s"})
    assert result.is_error
    text = result.content[0].text  # type: ignore[union-attr]
    assert reason in text
    assert "HTTP 200" in text
    assert "Traceback" not in text


@pytest.mark.anyio
async def test_contract_mismatch_names_the_fields() -> None:
    async with mix_client(lambda r: httpx2.Response(200, json={**SESSION, "cost": "free", "title": None})) as client:
        with pytest.raises(MixResponseError) as caught:
            await client.send(
                GET_SESSION, session_id="s", idempotent=True, expect=OPERATIONS_BY_NAME["get_session"].result.contract
            )
    problems = " ".join(caught.value.problems)
    assert "cost" in problems and "title" in problems


@pytest.mark.anyio
async def test_oversized_answer_is_refused() -> None:
    big = b"[" + b'"x",' * 5000 + b'"x"]'
    async with mix_client(lambda r: httpx2.Response(200, content=big), max_response_bytes=4096) as client:
        with pytest.raises(MixResponseError) as caught:
            await client.send(LIST_SESSIONS, idempotent=True)
    assert "larger than the 4,096-byte limit" in caught.value.describe(ErrorHints())


@pytest.mark.anyio
async def test_empty_204_is_success() -> None:
    async with mix_client(lambda r: httpx2.Response(204)) as client:
        assert await client.send(DELETE_SESSION, session_id="s", idempotent=True) is None


@pytest.mark.anyio
async def test_auth_and_extra_headers_are_sent() -> None:
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json=[])

    async with mix_client(handler, api_key="sk-test-secret", extra_headers={"X-Team": "research"}) as client:
        await client.send(LIST_SESSIONS, idempotent=True)
    assert seen[0].headers["authorization"] == "Bearer sk-test-secret"
    assert seen[0].headers["x-team"] == "research"


def _counting(responses: list[Any]) -> tuple[list[int], Any]:
    calls: list[int] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(1)
        item = responses[min(len(calls), len(responses)) - 1]
        if isinstance(item, Exception):
            raise item
        assert isinstance(item, httpx2.Response)
        return item

    return calls, handler


@pytest.mark.anyio
async def test_reads_retry_on_5xx_then_succeed() -> None:
    calls, handler = _counting([envelope(500, "boom", "internal_error"), httpx2.Response(200, json=[])])
    async with mix_client(handler, max_retries=2) as client:
        assert await client.send(LIST_SESSIONS, idempotent=True) == []
    assert len(calls) == 2


@pytest.mark.anyio
async def test_non_idempotent_writes_never_retry_after_a_5xx_or_reset() -> None:
    for failure in (envelope(503, "busy", "internal_error"), httpx2.ReadError("reset")):
        calls, handler = _counting([failure, httpx2.Response(201, json=SESSION)])
        async with mix_client(handler, max_retries=3) as client:
            with pytest.raises((MixAPIError, MixUnreachableError)):
                await client.send(CREATE_SESSION, body={"title": "t"}, idempotent=False)
        assert len(calls) == 1


@pytest.mark.anyio
async def test_non_idempotent_writes_retry_when_never_connected() -> None:
    calls, handler = _counting([httpx2.ConnectError("refused"), httpx2.Response(201, json=SESSION)])
    async with mix_client(handler, max_retries=2) as client:
        assert (await client.send(CREATE_SESSION, body={"title": "t"}, idempotent=False))["id"] == SESSION["id"]
    assert len(calls) == 2


@pytest.mark.anyio
async def test_retries_stop_at_max_retries() -> None:
    calls, handler = _counting([envelope(503, "busy", "internal_error")])
    async with mix_client(handler, max_retries=2) as client:
        with pytest.raises(MixAPIError):
            await client.send(LIST_SESSIONS, idempotent=True)
    assert len(calls) == 3


@pytest.mark.anyio
async def test_retry_after_beyond_the_deadline_is_not_waited_for() -> None:
    busy = httpx2.Response(
        503, headers={"retry-after": "120"}, json={"error": {"code": 503, "message": "busy", "type": "internal_error"}}
    )
    calls, handler = _counting([busy])
    started = time.monotonic()
    async with mix_client(handler, max_retries=5, retry_deadline=2.0) as client:
        with pytest.raises(MixAPIError):
            await client.send(LIST_SESSIONS, idempotent=True)
    assert len(calls) == 1
    assert time.monotonic() - started < 2.0


def test_retry_after_parses_seconds_and_dates() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    future = email.utils.formatdate(time.time() + 30, usegmt=True)
    parsed = parse_retry_after(future)
    assert parsed is not None and 25 < parsed <= 30
    assert parse_retry_after(email.utils.formatdate(time.time() - 30, usegmt=True)) == 0.0


@pytest.mark.parametrize("value", ["²", "-1", "inf", "nan", "1e3", "", "Mon, 99 Foo 2026"])
def test_junk_retry_after_means_not_said(value: str) -> None:
    assert parse_retry_after(value) is None


def test_fractional_retry_after_is_accepted() -> None:
    assert parse_retry_after(" 1.5 ") == 1.5


def test_retryable_statuses_are_those_a_repeat_can_cure() -> None:
    assert {408, 429, 500, 502, 503, 504, 599} <= RETRYABLE_STATUS
    assert not {400, 401, 404, 409, 501, 505} & RETRYABLE_STATUS


@pytest.mark.anyio
async def test_errors_count_the_attempts_and_reads_never_claim_a_write() -> None:
    _, handler = _counting([envelope(503, "busy", "internal_error")])
    async with mix_client(handler, max_retries=2) as client:
        with pytest.raises(MixAPIError) as caught:
            await client.send(LIST_SESSIONS, idempotent=True, operation="list_sessions")
    assert caught.value.attempts == 3 and not caught.value.maybe_applied
    assert caught.value.describe(ErrorHints(maybe_applied="CHECK")).startswith("list_sessions failed after 3 attempts:")


@pytest.mark.anyio
@pytest.mark.parametrize(("status", "applied"), [(500, True), (409, False), (429, False)])
async def test_a_failed_create_says_whether_it_may_have_happened(status: int, applied: bool) -> None:
    calls, handler = _counting([envelope(status, "no", "internal_error")])
    async with mix_client(handler, max_retries=2) as client:
        with pytest.raises(MixAPIError) as caught:
            await client.send(CREATE_SESSION, body={"title": "t"}, idempotent=False)
    assert len(calls) == 1
    assert caught.value.maybe_applied is applied
    assert ("CHECK" in caught.value.describe(ErrorHints(maybe_applied="CHECK"))) is applied


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("answer", "ready", "problem"),
    [
        (httpx2.Response(200, json={"status": "healthy"}), True, None),
        (httpx2.Response(503, text="down"), False, "HTTP 503 from its health check"),
    ],
)
async def test_probe_health_asks_mix_once(answer: httpx2.Response, ready: bool, problem: str | None) -> None:
    seen: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(f"{request.method} {request.url.path}")
        return answer

    async with mix_client(handler, max_retries=2) as client:
        probe = await client.probe_health(within=1.0)
    assert seen == ["GET /health"]
    assert (probe.ready, probe.status, probe.problem) == (ready, answer.status_code, problem)
    assert probe.latency_ms >= 0


@pytest.mark.anyio
async def test_probe_health_reports_an_unreachable_mix_without_raising() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("[Errno 111] Connection refused", request=request)

    async with mix_client(handler) as client:
        probe = await client.probe_health(within=1.0)
    assert (probe.ready, probe.status, probe.problem) == (False, None, "connection refused")
