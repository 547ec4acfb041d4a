"""OAuth 2.1 end to end: a real authorization server (npm oidc-provider) issues the tokens mix-mcp checks.

The authorization server (tests/node/authorization-server.mjs) runs on loopback and hands out
client-credentials tokens bound to a resource (RFC 8707). mix-mcp runs with ``--oauth-issuer`` and
``--public-url``, discovers the issuer's keys, and accepts, refuses or steps up each request.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

from tests.e2e.workflow import run_full_workflow
from tests.support import ALL_TOOLS, PROTOCOL_MODES, ServerProcess, free_port, running_process, running_server
from tests.system_parts import NODE_TOOLS, require_node_package

READ_TOOLS = [
    "list_sessions",
    "get_session",
    "export_session",
    "list_messages",
    "list_session_files",
    "read_session_file",
]
MIX_KEY = "mix-key-for-oauth-tests-0042"
JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
INITIALIZE: dict[str, Any] = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}},
}


@dataclass
class AuthorizationServer:
    """oidc-provider on a fixed loopback port, restartable with a new signing key or a shifted clock."""

    port: int
    started: int = 0
    lines: list[str] = field(default_factory=list)
    _process: subprocess.Popen[str] | None = None
    _context: Any = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def kid(self) -> str:
        return f"key-{self.started}"

    def start(self, clock_offset: int = 0) -> None:
        """(Re)start with a fresh RSA key named ``key-N``: every start is a key rotation."""
        self.stop()
        self.started += 1
        node = NODE_TOOLS / "node_modules" / ".bin" / "node"
        script = NODE_TOOLS / "authorization-server.mjs"
        command = [str(node), str(script), "--port", str(self.port), "--kid", self.kid]
        command.append(f"--clock-offset={clock_offset}")  # "=": the value may start with a dash
        self._context = running_process(command, lambda lines: self.issuer if "listening on" in lines[-1] else None)
        self._process, _, self.lines = self._context.__enter__()

    def stop(self) -> None:
        if self._context is not None:
            self._context.__exit__(None, None, None)
            self._context = None

    def token(self, client: str, scope: str, resource: str) -> str:
        """A client-credentials access token for ``resource`` (the token's audience)."""
        with httpx2.Client(timeout=30) as http:
            response = http.post(
                f"{self.issuer}/token",
                data={"grant_type": "client_credentials", "scope": scope, "resource": resource},
                auth=(client, f"{client}-secret"),
            )
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token


@pytest.fixture(scope="module")
def authorization_server() -> Iterator[AuthorizationServer]:
    require_node_package("oidc-provider")
    server = AuthorizationServer(free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module", params=["stateful", "stateless"])
def oauth_http(
    emulator_url: str, authorization_server: AuthorizationServer, request: pytest.FixtureRequest
) -> Iterator[ServerProcess]:
    """mix-mcp with --oauth-issuer, its public URL on loopback, and introspection for opaque tokens."""
    port = free_port()
    with running_server(
        "--transport",
        "http",
        *(["--stateless"] if request.param == "stateless" else []),
        "--base-url",
        emulator_url,
        "--port",
        str(port),
        "--log-level",
        "INFO",
        MIX_API_KEY=MIX_KEY,
        MIX_MCP_OAUTH_ISSUER=authorization_server.issuer,
        MIX_MCP_PUBLIC_URL=f"http://127.0.0.1:{port}/mcp",
        MIX_MCP_OAUTH_CLIENT_ID="mix-mcp",
        MIX_MCP_OAUTH_CLIENT_SECRET="mix-mcp-secret",
    ) as server:
        yield server


def token_for(auth: AuthorizationServer, server: ServerProcess, client: str = "writer", scope: str = "") -> str:
    return auth.token(client, scope or ("mix:read" if client == "reader" else "mix:read mix:write"), server.url)


def post(server: ServerProcess, token: str | None, body: dict[str, Any], **headers: str) -> httpx2.Response:
    auth = {"Authorization": f"Bearer {token}"} if token is not None else {}
    with httpx2.Client(timeout=30) as http:
        return http.post(server.url, json=body, headers={**JSON_HEADERS, **auth, **headers})


def challenge_params(response: httpx2.Response) -> dict[str, str]:
    scheme, _, rest = response.headers["www-authenticate"].partition(" ")
    assert scheme == "Bearer"
    params: dict[str, str] = {}
    for part in rest.split('", '):
        name, _, value = part.partition("=")
        params[name.strip()] = value.strip().strip('"')
    return params


def oauth_client(server: ServerProcess, token: str, mode: str, http: httpx2.AsyncClient) -> Client:
    return Client(streamable_http_client(server.url, http_client=http), mode=mode)


def async_http(token: str) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=httpx2.Timeout(30, read=60))


def test_protected_resource_metadata_names_the_issuer_and_the_scopes(
    oauth_http: ServerProcess, authorization_server: AuthorizationServer
) -> None:
    with httpx2.Client(timeout=10) as http:
        for path in ("/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"):
            response = http.get(oauth_http.base + path)
            assert response.status_code == 200, path
            document = response.json()
            assert document["resource"] == oauth_http.url
            assert document["authorization_servers"] == [authorization_server.issuer]
            assert document["scopes_supported"] == ["mix:read", "mix:write"]
            assert document["bearer_methods_supported"] == ["header"]


def test_a_request_without_token_gets_401_pointing_at_the_metadata(oauth_http: ServerProcess) -> None:
    response = post(oauth_http, None, INITIALIZE)
    assert response.status_code == 401
    params = challenge_params(response)
    assert params["resource_metadata"] == f"{oauth_http.base}/.well-known/oauth-protected-resource/mcp"
    assert "error" not in params
    assert post(oauth_http, "not-a-jwt-and-not-known", INITIALIZE).status_code == 401


@pytest.mark.anyio
@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_a_write_token_runs_the_whole_workflow(
    oauth_http: ServerProcess, authorization_server: AuthorizationServer, mode: str
) -> None:
    token = token_for(authorization_server, oauth_http)
    async with async_http(token) as http, oauth_client(oauth_http, token, mode, http) as client:
        assert [tool.name for tool in (await client.list_tools()).tools] == ALL_TOOLS
        await run_full_workflow(client, f"oauth {mode}")
    logged = oauth_http.stderr
    assert "caller=writer" in logged
    for secret in (token, MIX_KEY, "mix-mcp-secret"):
        assert secret not in logged


def test_a_token_for_another_audience_is_refused(
    oauth_http: ServerProcess, authorization_server: AuthorizationServer
) -> None:
    token = authorization_server.token("writer", "mix:read mix:write", "https://other.example.com/mcp")
    response = post(oauth_http, token, INITIALIZE)
    assert response.status_code == 401
    params = challenge_params(response)
    assert params["error"] == "invalid_token"
    assert "audience" in params["error_description"] and oauth_http.url in params["error_description"]
    assert params["resource_metadata"].endswith("/.well-known/oauth-protected-resource/mcp")


@pytest.mark.anyio
@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_a_read_token_sees_only_read_tools_and_is_stepped_up_for_delete(
    oauth_http: ServerProcess, authorization_server: AuthorizationServer, mode: str
) -> None:
    token = token_for(authorization_server, oauth_http, "reader")
    async with async_http(token) as http, oauth_client(oauth_http, token, mode, http) as client:
        assert [tool.name for tool in (await client.list_tools()).tools] == READ_TOOLS
        listed = await client.call_tool("list_sessions", {})
        assert not listed.is_error
    delete = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": "delete_session", "arguments": {"session_id": "anything"}},
    }
    response = post(oauth_http, token, delete)
    assert response.status_code == 403
    params = challenge_params(response)
    assert params["error"] == "insufficient_scope"
    assert "mix:write" in params["scope"].split() and "mix:read" in params["scope"].split()
    assert "delete_session" in params["error_description"]
    assert params["resource_metadata"].endswith("/.well-known/oauth-protected-resource/mcp")
    assert response.json()["error"] == "insufficient_scope"


@pytest.mark.anyio
async def test_an_opaque_token_is_checked_by_introspection(
    oauth_http: ServerProcess, authorization_server: AuthorizationServer
) -> None:
    token = token_for(authorization_server, oauth_http, "opaque", "mix:read")
    assert token.count(".") != 2  # not a JWT
    async with async_http(token) as http, oauth_client(oauth_http, token, "legacy", http) as client:
        assert [tool.name for tool in (await client.list_tools()).tools] == READ_TOOLS
        assert not (await client.call_tool("list_sessions", {})).is_error
    assert post(oauth_http, token + "x", INITIALIZE).status_code == 401


def test_keys_rotate_and_expired_tokens_are_refused(
    oauth_http: ServerProcess, authorization_server: AuthorizationServer
) -> None:
    """Each restart of the authorization server publishes a new key under a new kid (runs last: it rotates)."""
    old = token_for(authorization_server, oauth_http)
    assert post(oauth_http, old, INITIALIZE).status_code == 200

    authorization_server.start()  # a new key under a new kid: mix-mcp must fetch the JWKS again
    rotated = token_for(authorization_server, oauth_http)
    assert post(oauth_http, rotated, INITIALIZE).status_code == 200

    authorization_server.start(clock_offset=-3600)  # another key, and tokens that expired 50 minutes ago
    expired = token_for(authorization_server, oauth_http)
    response = post(oauth_http, expired, INITIALIZE)
    assert response.status_code == 401
    params = challenge_params(response)
    assert params["error"] == "invalid_token" and "expired" in params["error_description"]

    # The first key is no longer published. (Looking for it finds nothing new, which holds the next
    # fetch back for a few seconds: made-up key ids must not flood the issuer.)
    refused = post(oauth_http, old, INITIALIZE)
    assert refused.status_code == 401
    params = challenge_params(refused)
    assert params["error"] == "invalid_token" and "does not publish" in params["error_description"]
    authorization_server.start()  # a sane clock again, for the next server's tests


@pytest.fixture(scope="module")
def oauth_sse(emulator_url: str, authorization_server: AuthorizationServer) -> Iterator[ServerProcess]:
    port = free_port()
    with running_server(
        "--transport",
        "sse",
        "--base-url",
        emulator_url,
        "--port",
        str(port),
        MIX_MCP_OAUTH_ISSUER=authorization_server.issuer,
        MIX_MCP_PUBLIC_URL=f"http://127.0.0.1:{port}/sse",
    ) as server:
        yield server


@pytest.mark.anyio
async def test_sse_takes_oauth_tokens_too(oauth_sse: ServerProcess, authorization_server: AuthorizationServer) -> None:
    token = token_for(authorization_server, oauth_sse, "reader")
    async with Client(sse_client(oauth_sse.url, headers={"Authorization": f"Bearer {token}"}), mode="legacy") as client:
        assert [tool.name for tool in (await client.list_tools()).tools] == READ_TOOLS
        assert not (await client.call_tool("list_sessions", {})).is_error
    with httpx2.Client(timeout=10) as http:
        refused = http.get(oauth_sse.url, headers={"Accept": "text/event-stream"})
    assert refused.status_code == 401
    assert challenge_params(refused)["resource_metadata"].endswith("/.well-known/oauth-protected-resource/sse")
