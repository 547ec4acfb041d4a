"""The lean GET lane (``mix/lean_http.py``) against a scripted upstream, judged by httpx2 on the same answers.

Each case is sent twice, once by a ``MixClient`` on the lean lane and once by one forced onto httpx2
(an injected transport turns the lane off): the upstream must record the same request, and the
caller must get the same data or the same error. Then what only the lean lane does: a pooled
connection Mix closed while idle costs no retry, a second answer nobody asked for drops the
connection, and the lane runs on uvloop as on asyncio.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest

from mix_mcp.config import Settings
from mix_mcp.mix.client import CallStats, MixClient
from mix_mcp.mix.endpoints import CREATE_SESSION, GET_SESSION, GET_SESSION_FILE, LIST_SESSIONS
from mix_mcp.mix.errors import ErrorHints, MixMCPError
from tests.faults.conftest import fast_settings
from tests.faults.upstream import Action, Exchange, FaultUpstream, Respond, Truncate
from tests.unit.fakes import SESSION

PAYLOAD = json.dumps(SESSION).encode()


@pytest.fixture(
    params=[pytest.param(("asyncio", {"use_uvloop": True}), id="uvloop"), pytest.param("asyncio", id="asyncio")]
)
def anyio_backend(request: pytest.FixtureRequest) -> Any:
    """The server runs on uvloop when it is installed, and on asyncio's own loop otherwise: both are tested."""
    if request.param != "asyncio":
        pytest.importorskip("uvloop", reason="uvloop is not installed on this platform")
    return request.param


@dataclass
class Raw(Action):
    """Exactly these bytes as the answer; the connection stays open when ``keep_open``."""

    data: bytes
    keep_open: bool = True

    async def apply(self, exchange: Exchange) -> bool:
        exchange.writer.write(self.data)
        await exchange.writer.drain()
        return self.keep_open


@dataclass
class Hangup(Action):
    """Read the request, then close the connection without a word (Mix timing out an idle connection)."""

    async def apply(self, exchange: Exchange) -> bool:
        return False


def _encoded(coding: str, data: bytes) -> Respond:
    if coding == "gzip":
        body = gzip.compress(data)
    elif coding == "deflate":
        body = zlib.compress(data)
    else:  # raw deflate, no zlib header: httpx2 accepts it as deflate too
        packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        body = packer.compress(data) + packer.flush()
        coding = "deflate"
    return Respond(200, body, "application/json", (("Content-Encoding", coding),))


def _chunked(data: bytes) -> bytes:
    middle = len(data) // 2
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (data[:middle], data[middle:]))
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    return head + chunks + b"0\r\n\r\n"


BOMB = gzip.compress(b"[" + b"0," * 2_000_000 + b"0]")
#: Each answer is given to both lanes; the outcomes must match.
ANSWERS: dict[str, Action] = {
    "json": Respond(200, PAYLOAD),
    "gzip": _encoded("gzip", PAYLOAD),
    "deflate": _encoded("deflate", PAYLOAD),
    "raw-deflate": _encoded("raw", PAYLOAD),
    "unknown-coding": Respond(200, PAYLOAD, "application/json", (("Content-Encoding", "identity, x-custom"),)),
    "chunked": Raw(_chunked(PAYLOAD)),
    "until-close": Raw(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + PAYLOAD, keep_open=False),
    "interim-100": Raw(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
        + str(len(PAYLOAD)).encode()
        + b"\r\n\r\n"
        + PAYLOAD
    ),
    "not-found": Respond.envelope(404, "session not found", "not_found"),
    "retry-after": Respond.envelope(429, "slow down", "rate_limited", (("Retry-After", "120"),)),
    "html": Respond.html(502, "<html><body><h1>502 Bad Gateway</h1></body></html>"),
    "cut-off": Truncate(200, PAYLOAD[:40], len(PAYLOAD)),
    "not-gzip": Respond(200, b"this is not gzip", "application/json", (("Content-Encoding", "gzip"),)),
    "gzip-bomb": Respond(200, BOMB, "application/json", (("Content-Encoding", "gzip"),)),
    "malformed": Raw(b"HTTP/1.1 abc\r\n\r\n", keep_open=False),
    "hangup": Hangup(),
}
#: Cases whose error states a size: the lanes stop reading at different points, so only the wording is compared.
SIZE_STATED = {"gzip-bomb"}


def _lanes(settings: Settings) -> Iterator[tuple[str, MixClient]]:
    yield "lean", MixClient(settings)
    yield "httpx2", MixClient(settings, transport=httpx2.AsyncHTTPTransport())


async def _outcome(client: MixClient, **send: Any) -> tuple[str, Any]:
    try:
        return "data", await client.send(GET_SESSION, session_id="s 1/é", idempotent=True, **send)
    except MixMCPError as error:
        return type(error).__name__, client.advise(error, ErrorHints())


@pytest.mark.anyio
@pytest.mark.parametrize("case", list(ANSWERS))
async def test_both_lanes_send_the_same_request_and_read_the_same_outcome(upstream: FaultUpstream, case: str) -> None:
    settings = fast_settings(
        upstream, max_retries=0, api_key="lean-lane-key", extra_headers={"X-Tenant": "acme"}, max_response_bytes=65_536
    )
    outcomes: dict[str, Any] = {}
    for lane, client in _lanes(settings):
        async with client:
            assert (client._lean is not None) == (lane == "lean")
            upstream.push(ANSWERS[case])
            start = upstream.count()
            outcomes[lane] = await _outcome(client)
            (request,) = upstream.since(start)
            outcomes[lane + " request"] = (request.method, request.target, sorted(request.headers))
    assert outcomes["lean request"] == outcomes["httpx2 request"]
    if case in SIZE_STATED:
        assert outcomes["lean"][0] == outcomes["httpx2"][0] == "MixResponseError"
        assert "larger than the 65,536-byte limit" in outcomes["lean"][1]
    else:
        assert outcomes["lean"] == outcomes["httpx2"]
    if case == "json":
        assert outcomes["lean"] == ("data", SESSION)


@pytest.mark.anyio
async def test_queries_and_downloads_are_sent_as_httpx2_sends_them(upstream: FaultUpstream) -> None:
    requests = {}
    for lane, client in _lanes(fast_settings(upstream)):
        async with client:
            start = upstream.count()
            upstream.push(Respond.json(200, []), Respond(200, b"file bytes", "text/plain"))
            assert await client.send(LIST_SESSIONS, query={"q": "a b/é&=+", "n": "2"}, idempotent=True) == []
            download = await client.send(
                GET_SESSION_FILE, session_id="s-1", filename="notes 1.txt", idempotent=True, raw=True
            )
            assert download.content == b"file bytes"
            requests[lane] = [(r.target, sorted(r.headers)) for r in upstream.since(start)]
    assert requests["lean"] == requests["httpx2"]
    assert requests["lean"][1][1] != requests["lean"][0][1], "a download asks for any media type"


@pytest.mark.anyio
async def test_a_pooled_connection_mix_closed_costs_no_retry(upstream: FaultUpstream) -> None:
    async with MixClient(fast_settings(upstream)) as client:
        upstream.push(Respond(200, PAYLOAD), Hangup())
        upstream.fallback = Respond(200, PAYLOAD)
        assert await client.send(GET_SESSION, session_id="s-1", idempotent=True) == SESSION
        stats = CallStats()
        assert await client.send(GET_SESSION, session_id="s-1", idempotent=True, stats=stats) == SESSION
    assert stats.attempts == 1, "sent again at once on a new connection, not retried after a back-off"
    assert [r.connection for r in upstream.requests] == [1, 1, 2]


@pytest.mark.anyio
async def test_an_answer_nobody_asked_for_drops_the_connection(upstream: FaultUpstream) -> None:
    answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
        len(PAYLOAD),
        PAYLOAD,
    )
    async with MixClient(fast_settings(upstream)) as client:
        upstream.push(Raw(answer + answer.replace(b"200 OK", b"500 Oops")))
        upstream.fallback = Respond(200, PAYLOAD)
        for _ in range(2):
            assert await client.send(GET_SESSION, session_id="s-1", idempotent=True) == SESSION
    assert [r.connection for r in upstream.requests] == [1, 2], "the second request went on a new connection"


@pytest.mark.anyio
async def test_keep_alive_reuses_one_connection(upstream: FaultUpstream) -> None:
    upstream.fallback = Respond(200, PAYLOAD)
    async with MixClient(fast_settings(upstream)) as client:
        for _ in range(5):
            assert await client.send(GET_SESSION, session_id="s-1", idempotent=True) == SESSION
    assert [r.connection for r in upstream.requests] == [1] * 5


@pytest.mark.anyio
async def test_reads_alone_never_make_the_httpx2_client(upstream: FaultUpstream) -> None:
    """Making httpx2's client costs tens of milliseconds (its TLS context): a server of reads never pays it."""
    upstream.fallback = Respond(200, PAYLOAD)
    async with MixClient(fast_settings(upstream)) as client:
        assert await client.send(GET_SESSION, session_id="s-1", idempotent=True) == SESSION
        assert client._http_client is None
        upstream.push(Respond.json(201, SESSION))
        assert await client.send(CREATE_SESSION, body={"title": "t"}, idempotent=False) == SESSION
        assert client._http_client is not None, "a write goes through httpx2"
