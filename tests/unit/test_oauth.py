"""OAuth resource server pieces: settings, metadata documents, challenges, scopes, and JWT checks.

The JWT checks run against an issuer served by ``httpx2.MockTransport`` with keys made here; the
end-to-end tests (tests/e2e/test_oauth.py) do the same against a real authorization server.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx2
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from mix_mcp.config import ConfigError, Settings, load_settings
from mix_mcp.observe.redaction import secrets_of
from mix_mcp.serving.http_security import check_exposure
from mix_mcp.serving.oauth import challenge, metadata_document, metadata_paths, needed_scope
from mix_mcp.serving.oauth_tokens import (
    IssuerKeys,
    IssuerUnavailable,
    JwtVerifier,
    TokenChecker,
    TokenRejected,
    discovery_urls,
    looks_like_jwt,
    scopes_of,
)
from mix_mcp.serving.scopes import READ_SCOPE, WRITE_SCOPE, required_scope
from mix_mcp.serving.server import run_tool
from mix_mcp.serving.transports import describe_serving
from mix_mcp.tools.operations import OPERATIONS, OPERATIONS_BY_NAME
from tests.unit.fakes import SESSION, mix_client

ISSUER = "https://as.example.com"
PUBLIC = "https://mcp.example.com/mcp"


def oauth_settings(**extra: Any) -> Settings:
    return Settings(oauth_issuer=ISSUER, public_url=PUBLIC, **extra)


# Settings


def test_oauth_settings_come_from_the_environment() -> None:
    settings = load_settings(
        environ={
            "MIX_MCP_OAUTH_ISSUER": ISSUER,
            "MIX_MCP_PUBLIC_URL": PUBLIC,
            "MIX_MCP_OAUTH_CLIENT_ID": "mix-mcp",
            "MIX_MCP_OAUTH_CLIENT_SECRET": "client-secret-0123456789",
        }
    )
    assert (settings.oauth_issuer, settings.public_url, settings.oauth_client_id) == (ISSUER, PUBLIC, "mix-mcp")
    assert "client-secret-0123456789" not in repr(settings)
    assert "client-secret-0123456789" in secrets_of(settings)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"public_url": None}, "needs --public-url"),
        ({"oauth_issuer": "http://as.example.com"}, "http is accepted on loopback only"),
        ({"public_url": "http://mcp.example.com/mcp"}, "http is accepted on loopback only"),
        ({"oauth_issuer": "https://as.example.com/?tenant=1"}, "without query"),
        ({"auth_token": "static-token-0123456789"}, "choose one way"),
        ({"oauth_client_id": "mix-mcp"}, "needs both"),
        ({"oauth_introspection_url": "https://as.example.com/introspect"}, "needs --oauth-client-id"),
    ],
)
def test_oauth_settings_that_do_not_fit_are_refused(changes: dict[str, Any], message: str) -> None:
    values: dict[str, Any] = {"oauth_issuer": ISSUER, "public_url": PUBLIC, **changes}
    with pytest.raises(ConfigError, match=message):
        Settings(**values)


def test_http_is_accepted_on_loopback_and_introspection_needs_an_issuer() -> None:
    Settings(oauth_issuer="http://127.0.0.1:9000", public_url="http://localhost:8000/mcp")
    Settings(oauth_issuer="http://[::1]:9000", public_url="http://127.0.0.1:8000/mcp")
    with pytest.raises(ConfigError, match="needs --oauth-issuer"):
        Settings(oauth_client_id="mix-mcp")


# Metadata and challenges


def test_metadata_document_keeps_the_issuer_as_spelled() -> None:
    document = json.loads(metadata_document(oauth_settings()).model_dump_json(exclude_none=True))
    assert document == {
        "resource": PUBLIC,
        "authorization_servers": [ISSUER],
        "scopes_supported": ["mix:read", "mix:write"],
        "bearer_methods_supported": ["header"],
        "resource_name": "mix-mcp",
    }


def test_metadata_is_served_bare_and_suffixed_with_the_public_and_local_paths() -> None:
    assert metadata_paths(oauth_settings()) == [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
    ]
    behind_prefix = Settings(oauth_issuer=ISSUER, public_url="https://x.example.com/team/mcp", path="/mcp")
    assert metadata_paths(behind_prefix) == [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/team/mcp",
        "/.well-known/oauth-protected-resource/mcp",
    ]


def test_challenges_name_the_metadata_and_never_break_their_quoting() -> None:
    url = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
    assert challenge(url) == f'Bearer resource_metadata="{url}"'
    stepped = challenge(url, error="insufficient_scope", description='needs "mix:write"\\', scope="mix:read mix:write")
    assert stepped == (
        f'Bearer error="insufficient_scope", error_description="needs mix:write", resource_metadata="{url}", '
        'scope="mix:read mix:write"'
    )


# Scopes


def test_each_tool_needs_read_or_write_by_its_read_only_hint() -> None:
    needs = {op.name: required_scope(op) for op in OPERATIONS}
    assert {name for name, scope in needs.items() if scope == READ_SCOPE} == {
        "list_sessions",
        "get_session",
        "export_session",
        "list_messages",
        "list_session_files",
        "read_session_file",
    }
    assert needs["delete_session"] == needs["create_session"] == needs["send_message"] == WRITE_SCOPE


def _call(name: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": {}}}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (_call("delete_session"), (WRITE_SCOPE, "delete_session")),
        (_call("list_sessions"), (READ_SCOPE, "list_sessions")),
        (
            {"jsonrpc": "2.0", "id": 1, "method": "resources/read", "params": {"uri": "mix://sessions"}},
            (READ_SCOPE, "resources/read"),
        ),
        ({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, None),
        (
            [{"jsonrpc": "2.0", "method": "notifications/initialized"}, _call("fork_session")],
            (WRITE_SCOPE, "fork_session"),
        ),
        (_call("no_such_tool"), None),
    ],
)
def test_needed_scope_reads_the_json_rpc_body(body: Any, expected: tuple[str, str] | None) -> None:
    assert needed_scope(json.dumps(body).encode(), OPERATIONS_BY_NAME) == expected


def test_needed_scope_leaves_bodies_that_are_not_json_to_the_sdk() -> None:
    assert needed_scope(b"{not json", OPERATIONS_BY_NAME) is None
    assert needed_scope(b"\xff\xfe", OPERATIONS_BY_NAME) is None


def test_scopes_come_from_scope_or_scp() -> None:
    assert scopes_of({"scope": "mix:read mix:write"}) == ["mix:read", "mix:write"]
    assert scopes_of({"scp": ["mix:read"]}) == ["mix:read"]
    assert scopes_of({}) == []


def test_discovery_tries_rfc_8414_then_openid_configuration() -> None:
    assert discovery_urls("https://as.example.com/tenant") == [
        "https://as.example.com/.well-known/oauth-authorization-server/tenant",
        "https://as.example.com/tenant/.well-known/openid-configuration",
        "https://as.example.com/.well-known/openid-configuration/tenant",
    ]
    assert discovery_urls(ISSUER) == [
        f"{ISSUER}/.well-known/oauth-authorization-server",
        f"{ISSUER}/.well-known/openid-configuration",
    ]


# JWT checks against a mocked issuer


class Issuer:
    """An authorization server's metadata and JWKS over MockTransport, and tokens signed with its keys."""

    def __init__(self) -> None:
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.fetches: list[str] = []
        self.rotate("k1")

    def rotate(self, kid: str) -> None:
        self.keys = {kid: rsa.generate_private_key(public_exponent=65537, key_size=2048)}

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        self.fetches.append(request.url.path)
        if request.url.path == "/.well-known/oauth-authorization-server":
            return httpx2.Response(200, json={"issuer": ISSUER, "jwks_uri": f"{ISSUER}/jwks"})
        if request.url.path == "/jwks":
            keys = []
            for kid, key in self.keys.items():
                public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
                keys.append({**public, "kid": kid, "use": "sig", "alg": "RS256"})
            return httpx2.Response(200, json={"keys": keys})
        return httpx2.Response(404)

    def token(self, kid: str | None = None, **claims: Any) -> str:
        kid = kid or next(iter(self.keys))
        now = int(time.time())
        body = {"iss": ISSUER, "aud": PUBLIC, "sub": "alice", "exp": now + 300, "iat": now, "scope": "mix:read"}
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(body, self.keys[kid], algorithm="RS256", headers={"kid": kid})


@pytest.fixture
def issuer() -> Issuer:
    return Issuer()


async def check(issuer: Issuer, token: str) -> Any:
    async with httpx2.AsyncClient(transport=httpx2.MockTransport(issuer.handler)) as http:
        checker = TokenChecker(JwtVerifier(IssuerKeys(ISSUER, http), PUBLIC), None)
        return await checker.check(token)


@pytest.mark.anyio
async def test_a_valid_jwt_gives_its_subject_and_scopes_but_not_itself(issuer: Issuer) -> None:
    token = issuer.token()
    access = await check(issuer, token)
    assert (access.subject, access.scopes, access.resource) == ("alice", ["mix:read"], PUBLIC)
    assert token not in access.model_dump_json()


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"aud": "https://other.example.com/mcp"}, "not issued for this server"),
        ({"iss": "https://evil.example.com"}, "not issued by"),
        ({"exp": -120}, "expired"),  # seconds from now, at the time the test runs
        ({"nbf": 600}, "not valid yet"),
        ({"exp": None}, "no 'exp' claim"),
    ],
)
async def test_jwt_claims_are_checked(issuer: Issuer, claims: dict[str, Any], reason: str) -> None:
    now = int(time.time())
    timed = {k: now + v if k in ("exp", "nbf") and v is not None else v for k, v in claims.items()}
    with pytest.raises(TokenRejected, match=reason):
        await check(issuer, issuer.token(**timed))


@pytest.mark.anyio
async def test_small_clock_skew_is_tolerated(issuer: Issuer) -> None:
    access = await check(issuer, issuer.token(exp=int(time.time()) - 5))
    assert access.subject == "alice"


@pytest.mark.anyio
async def test_symmetric_and_unsigned_tokens_are_refused(issuer: Issuer) -> None:
    forged = jwt.encode({"iss": ISSUER, "aud": PUBLIC, "exp": int(time.time()) + 60}, "x" * 32, algorithm="HS256")
    with pytest.raises(TokenRejected, match="'HS256' is not accepted"):
        await check(issuer, forged)
    unsigned = jwt.encode({"iss": ISSUER, "aud": PUBLIC}, "", algorithm="none")
    with pytest.raises(TokenRejected, match="'none' is not accepted"):
        await check(issuer, unsigned)
    with pytest.raises(TokenRejected, match="not set up to introspect"):
        await check(issuer, "opaque-token-value")


@pytest.mark.anyio
async def test_an_unknown_kid_refetches_the_keys_once_then_cools_down(issuer: Issuer) -> None:
    async with httpx2.AsyncClient(transport=httpx2.MockTransport(issuer.handler)) as http:
        verifier = JwtVerifier(IssuerKeys(ISSUER, http), PUBLIC)
        assert (await verifier.check(issuer.token())).subject == "alice"
        assert issuer.fetches.count("/jwks") == 1
        issuer.rotate("k2")
        assert (await verifier.check(issuer.token("k2", sub="bob"))).subject == "bob"
        assert issuer.fetches.count("/jwks") == 2
        stranger = issuer.token("k2", sub="eve")
        stranger = jwt.encode(
            jwt.decode(stranger, options={"verify_signature": False}),
            issuer.keys["k2"],
            algorithm="RS256",
            headers={"kid": "made-up"},
        )
        for _ in range(3):
            with pytest.raises(TokenRejected, match="does not publish"):
                await verifier.check(stranger)
        assert issuer.fetches.count("/jwks") == 3  # one fetch for the made-up kid, then none
        assert issuer.fetches.count("/.well-known/oauth-authorization-server") == 1


@pytest.mark.anyio
async def test_an_unreachable_or_foreign_issuer_is_reported_not_guessed() -> None:
    def down(_request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(503)

    def impostor(_request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, json={"issuer": "https://evil.example.com", "jwks_uri": f"{ISSUER}/jwks"})

    for handler, reason in ((down, "answered HTTP 503"), (impostor, "names the issuer")):
        async with httpx2.AsyncClient(transport=httpx2.MockTransport(handler)) as http:
            verifier = JwtVerifier(IssuerKeys(ISSUER, http), PUBLIC)
            with pytest.raises(IssuerUnavailable, match=reason):
                await verifier.check(Issuer().token())


def test_a_jwt_has_three_parts() -> None:
    assert looks_like_jwt("a.b.c") and not looks_like_jwt("opaque") and not looks_like_jwt("a.b")


# The caller on the span and the log line


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.clear()


@pytest.mark.anyio
async def test_the_callers_subject_goes_on_the_span_and_the_log_line(
    spans: InMemorySpanExporter, caplog: pytest.LogCaptureFixture
) -> None:
    spans.clear()
    caplog.set_level("INFO", logger="mix_mcp.server")
    async with mix_client(lambda _request: httpx2.Response(200, json=SESSION)) as client:
        op = OPERATIONS_BY_NAME["get_session"]
        result = await run_tool(client, op, {"session_id": SESSION["id"]}, caller="alice")
    assert not getattr(result, "is_error", False)
    [span] = [s for s in spans.get_finished_spans() if s.name == "execute_tool get_session"]
    assert (span.attributes or {})["enduser.id"] == "alice"
    assert "caller=alice" in caplog.text


def test_a_reachable_oauth_server_needs_no_static_token_and_says_where_tokens_come_from() -> None:
    settings = oauth_settings(host="0.0.0.0", transport="http")
    check_exposure(settings, None)  # every MCP request needs a token, so listening widely is allowed
    assert f"OAuth tokens from {ISSUER} for {PUBLIC}" in describe_serving(settings, "http", has_token=False)
    with pytest.raises(ConfigError, match="refusing to listen"):
        check_exposure(Settings(host="0.0.0.0", transport="http"), None)
