"""Hostile tokens, bodies and an authorization server against a running ``mix-mcp serve --oauth-issuer``.

Each test talks real HTTP/1.1 to the server (one raw keep-alive connection, read with h11, where
the connection matters) and reads the server's stderr: a bad token is a 401 with a proper
challenge, a bad body the JSON-RPC parse error, a broken issuer a 503; never a 500, never a
traceback, and the keep-alive connection goes on serving. The issuer is
tests/faults/hostile_issuer.py, so no Node is needed.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h11
import httpx2
import pytest

from mix_mcp.serving.auth.bounds import FETCH_SECONDS, MAX_DOCUMENT_BYTES
from tests.faults.hostile_issuer import KID, Behaviour, HostileIssuer, b64
from tests.support import ServerProcess, free_port, running_server

INITIALIZE: dict[str, Any] = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}},
}
#: What must never be in the server's stderr after a hostile request.
NEVER_LOGGED = ("Traceback", " 500", "Exception in ASGI application", "Internal Server Error")


@contextmanager
def oauth_server(issuer: HostileIssuer, *args: str, transport: str = "http") -> Iterator[ServerProcess]:
    """``mix-mcp serve`` taking tokens from ``issuer``; Mix is never reached by these tests (port 9: discard)."""
    port = free_port()
    path = "/sse" if transport == "sse" else "/mcp"
    with running_server(
        "--transport",
        transport,
        "--port",
        str(port),
        *args,
        "--base-url",
        "http://127.0.0.1:9",
        "--log-level",
        "INFO",
        MIX_API_KEY="mix-key-for-hostile-issuer-tests",
        MIX_MCP_OAUTH_ISSUER=issuer.url,
        MIX_MCP_PUBLIC_URL=f"http://127.0.0.1:{port}{path}",
    ) as server:
        yield server


def assert_clean(server: ServerProcess) -> None:
    for text in NEVER_LOGGED:
        assert text not in server.stderr, f"{text!r} in the server's log:\n{server.stderr[-3000:]}"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class KeepAlive:
    """One HTTP/1.1 connection to the server, used for request after request (h11 keeps it honest)."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        self.conn = h11.Connection(h11.CLIENT)

    def post(self, body: bytes, token: str | None, target: str = "/mcp") -> Answer:
        headers = [
            ("Host", f"127.0.0.1:{self.server.port}"),
            ("Content-Type", "application/json"),
            ("Accept", "application/json, text/event-stream"),
            ("Content-Length", str(len(body))),
        ]
        if token is not None:
            headers.append(("Authorization", f"Bearer {token}"))
        request = h11.Request(method="POST", target=target, headers=headers)
        self.sock.sendall(
            self.conn.send(request) + self.conn.send(h11.Data(data=body)) + self.conn.send(h11.EndOfMessage())
        )
        status, answer_headers, chunks = 0, {}, []
        while True:
            event = self.conn.next_event()
            if event is h11.NEED_DATA:
                self.conn.receive_data(self.sock.recv(65536))
            elif isinstance(event, h11.Response):
                status = event.status_code
                answer_headers = {k.decode().lower(): v.decode("latin-1") for k, v in event.headers}
            elif isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                break
            else:
                raise AssertionError(f"the server ended the connection ({event!r})")
        # Raises when the server asked to close the connection: the next request must go on this one.
        self.conn.start_next_cycle()
        return Answer(status, answer_headers, b"".join(chunks))

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def issuer() -> Iterator[HostileIssuer]:
    with HostileIssuer() as server:
        yield server


@pytest.fixture(scope="module", params=["stateful", "stateless"])
def served(issuer: HostileIssuer, request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    with oauth_server(issuer, *(["--stateless"] if request.param == "stateless" else [])) as server:
        yield server


@pytest.fixture(scope="module")
def without_oauth() -> Iterator[dict[str, ServerProcess]]:
    """The same server without OAuth, stateful and stateless: the answers a bad body must get with OAuth too."""
    common = ("--transport", "http", "--base-url", "http://127.0.0.1:9", "--log-level", "INFO")
    with (
        running_server(*common, MIX_API_KEY="mix-key-for-hostile-issuer-tests") as stateful,
        running_server(*common, "--stateless", MIX_API_KEY="mix-key-for-hostile-issuer-tests") as stateless,
    ):
        yield {"stateful": stateful, "stateless": stateless}


@pytest.fixture
def connection(served: ServerProcess) -> Iterator[KeepAlive]:
    keep_alive = KeepAlive(served)
    try:
        yield keep_alive
    finally:
        keep_alive.close()


def _header(value: Any) -> bytes:
    return json.dumps(value).encode()


#: JOSE headers a token may carry, as raw bytes (signed with the issuer's real key over exactly them).
MALFORMED_HEADERS: dict[str, bytes] = {
    "kid-a-number": _header({"alg": "RS256", "kid": 5}),
    "kid-a-list": _header({"alg": "RS256", "kid": [KID]}),
    "kid-an-object": _header({"alg": "RS256", "kid": {"id": KID}}),
    "kid-null": _header({"alg": "RS256", "kid": None}),
    "kid-true": _header({"alg": "RS256", "kid": True}),
    "kid-5000-digits": b'{"alg": "RS256", "kid": ' + b"7" * 5000 + b"}",
    "not-json": b'{alg: "RS256", kid: "good-key"',
    "a-list": _header(["RS256", KID]),
    "a-string": _header("RS256"),
    "a-number": b"5",
    "not-utf8": b'{"alg": "RS256", "kid": "\xff\xfe"}',
    "nested-3000-deep": b'{"alg": "RS256", "x": ' + b"[" * 3000 + b"]" * 3000 + b"}",
    "alg-a-list": _header({"alg": ["RS256"], "kid": KID}),
    "alg-an-object": _header({"alg": {"name": "RS256"}, "kid": KID}),
    "alg-null": _header({"alg": None, "kid": KID}),
    "alg-not-latin1": _header({"alg": "RS256\u2603\U0001f600", "kid": KID}),
    "alg-5000-chars": _header({"alg": "R" * 5000, "kid": KID}),
}
#: Tokens that are not even three base64url parts of JSON.
MALFORMED_TOKENS: dict[str, str] = {
    "bad-base64": "@@@.eyJzdWIiOiJhIn0.c2ln",
    "empty-parts": "..",
    "base64-of-nothing-useful": f"{b64(b'{}')}.{b64(b'[]')}.{b64(b'x')}",
}


def _assert_refused_then_served(connection: KeepAlive, token: str, issuer: HostileIssuer) -> Answer:
    refused = connection.post(json.dumps(INITIALIZE).encode(), token)
    assert refused.status == 401, refused.body
    challenge = refused.headers["www-authenticate"]
    assert challenge.startswith('Bearer error="invalid_token", error_description="')
    assert 'resource_metadata="http://127.0.0.1:' in challenge and challenge.isascii() and len(challenge) < 600
    assert refused.json()["error"] == "invalid_token"
    # The same connection serves the next request, with a good token.
    served = connection.post(json.dumps(INITIALIZE).encode(), issuer.token(connection.server.url))
    assert served.status == 200, served.body
    assert b'"serverInfo"' in served.body
    return refused


@pytest.mark.parametrize("case", list(MALFORMED_HEADERS))
def test_a_malformed_token_header_is_a_401_and_the_connection_lives_on(
    served: ServerProcess, connection: KeepAlive, issuer: HostileIssuer, case: str
) -> None:
    token = issuer.forged(served.url, MALFORMED_HEADERS[case])
    refused = _assert_refused_then_served(connection, token, issuer)
    reason = refused.json()["error_description"]
    assert "malformed" in reason or "not a well-formed JWT" in reason or "not accepted" in reason
    assert_clean(served)


@pytest.mark.parametrize("case", list(MALFORMED_TOKENS))
def test_a_token_that_is_not_a_jwt_is_a_401_and_the_connection_lives_on(
    served: ServerProcess, connection: KeepAlive, issuer: HostileIssuer, case: str
) -> None:
    _assert_refused_then_served(connection, MALFORMED_TOKENS[case], issuer)
    assert_clean(served)


#: Bodies the SDK refuses as JSON: they must get the same JSON-RPC parse error with OAuth on.
BAD_BODIES: dict[str, bytes] = {
    "nested-50000-deep": b"[" * 50_000 + b"]" * 50_000,
    "nested-50000-deep-in-params": b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": '
    + b"[" * 50_000
    + b"]" * 50_000
    + b"}",
    "integer-5000-digits": b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": '
    b'{"name": "delete_session", "arguments": {"session_id": "s", "n": ' + b"7" * 5_000 + b"}}}",
    "integer-5000-digits-as-id": b'{"jsonrpc": "2.0", "id": ' + b"7" * 5_000 + b', "method": "ping"}',
    "not-json": b'{"jsonrpc": "2.0", "id": 1, "method": ',
}


@pytest.mark.parametrize("case", list(BAD_BODIES))
def test_a_bad_body_with_oauth_gets_the_json_rpc_parse_error_as_without(
    served: ServerProcess,
    connection: KeepAlive,
    issuer: HostileIssuer,
    without_oauth: dict[str, ServerProcess],
    request: pytest.FixtureRequest,
    case: str,
) -> None:
    # A read-only token: a body whose scope cannot be read must not slip past the scope check either.
    answer = connection.post(BAD_BODIES[case], issuer.token(served.url, scope="mix:read"))
    assert answer.status == 400, answer.body
    error = answer.json()
    assert error["jsonrpc"] == "2.0" and error["id"] is None
    assert error["error"]["code"] == -32700 and error["error"]["message"].startswith("Parse error:")
    served_next = connection.post(json.dumps(INITIALIZE).encode(), issuer.token(served.url))
    assert served_next.status == 200
    assert_clean(served)
    # Without OAuth (stateless included, whose progress sniffing parses the body too) the same answer.
    plain = without_oauth[request.node.callspec.params["served"]]
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    with httpx2.Client(timeout=30) as http:
        unguarded = http.post(plain.url, content=BAD_BODIES[case], headers=headers)
    assert unguarded.status_code == 400, unguarded.text
    assert unguarded.json()["error"]["code"] == -32700
    assert_clean(plain)


def test_over_sse_bad_tokens_and_bodies_are_refused_the_same_way(issuer: HostileIssuer) -> None:
    """The gate is the same in front of SSE's message endpoint: 401 for a bad header, -32700 for a bad body."""
    with oauth_server(issuer, transport="sse") as server:
        connection = KeepAlive(server)
        target = "/messages/?session_id=0123456789abcdef0123456789abcdef"
        try:
            for case in ("kid-a-number", "kid-null", "alg-not-latin1"):
                token = issuer.forged(server.url, MALFORMED_HEADERS[case])
                refused = connection.post(json.dumps(INITIALIZE).encode(), token, target)
                assert refused.status == 401 and refused.json()["error"] == "invalid_token"
            for case in ("nested-50000-deep", "integer-5000-digits"):
                answer = connection.post(BAD_BODIES[case], issuer.token(server.url), target)
                assert answer.status == 400 and answer.json()["error"]["code"] == -32700
            # A good token and body reach the SDK, which does not know this session.
            unknown = connection.post(json.dumps(INITIALIZE).encode(), issuer.token(server.url), target)
            assert unknown.status == 404
        finally:
            connection.close()
        assert_clean(server)


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.parametrize("declare", [False, True], ids=["streamed", "declared"])
def test_a_100_mb_jwks_is_refused_unread_and_costs_no_memory(declare: bool) -> None:
    with HostileIssuer() as issuer, oauth_server(issuer) as server:
        issuer.jwks = Behaviour(huge=100 * 1024 * 1024, declare=declare)
        with httpx2.Client(timeout=30) as http:
            http.post(server.url, json=INITIALIZE)  # a first request (401), so that the app is warm
            before = _rss_kib(server.process.pid)
            started = time.monotonic()
            answer = http.post(
                server.url,
                json=INITIALIZE,
                headers={"Authorization": f"Bearer {issuer.token(server.url)}", "Accept": "application/json"},
            )
            elapsed = time.monotonic() - started
            growth_mib = (_rss_kib(server.process.pid) - before) / 1024
        assert answer.status_code == 503 and answer.headers["retry-after"]
        assert answer.json()["error"] == "temporarily_unavailable"
        assert elapsed < FETCH_SECONDS
        assert growth_mib < 20, f"RSS grew by {growth_mib:.1f} MiB"
        assert f"event=issuer_document_refused url={issuer.url}/jwks limit_bytes={MAX_DOCUMENT_BYTES}" in server.stderr
        assert "event=issuer_unavailable" in server.stderr
        assert_clean(server)


@pytest.mark.slow
def test_a_stalled_jwks_fetch_delays_no_token_whose_key_is_held() -> None:
    """A 30 s JWKS: unknown kids wait at most the fetch bound (one fetch for all), known keys not at all."""
    with HostileIssuer() as issuer, oauth_server(issuer) as server:
        with httpx2.Client(timeout=40) as http:

            def post(token: str) -> httpx2.Response:
                headers = {"Authorization": f"Bearer {token}", "Accept": "application/json, text/event-stream"}
                return http.post(server.url, json=INITIALIZE, headers=headers)

            valid = issuer.token(server.url)
            assert post(valid).status_code == 200
            issuer.jwks = Behaviour(delay=30)
            outcomes: list[tuple[int, float]] = []

            def unknown(n: int) -> None:
                started = time.monotonic()
                status = post(issuer.token(server.url, kid=f"made-up-{n}")).status_code
                outcomes.append((status, time.monotonic() - started))

            threads = [threading.Thread(target=unknown, args=(n,)) for n in range(4)]
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + 5
            while issuer.count("/jwks") < 2:
                assert time.monotonic() < deadline
                time.sleep(0.01)
            latencies = []
            for _ in range(10):
                started = time.monotonic()
                assert post(valid).status_code == 200
                latencies.append(time.monotonic() - started)
            for thread in threads:
                thread.join(FETCH_SECONDS + 10)
        assert max(latencies) < 1.0, f"a held key waited {max(latencies):.2f} s behind the stalled fetch"
        assert [status for status, _ in outcomes] == [503] * 4
        assert max(seconds for _, seconds in outcomes) < FETCH_SECONDS + 2
        assert issuer.count("/jwks") == 2, "the four unknown kids shared one fetch"
        assert "did not answer within 5 s" in server.stderr
        assert_clean(server)
