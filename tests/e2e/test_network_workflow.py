"""The eight-tool workflow over SSE and Streamable HTTP, driven by the mcp SDK's own clients.

Protocol generations: the SDK's Streamable HTTP client speaks the legacy initialize handshake
(mode "legacy") and the current per-request protocol (2026-07-28, mode "auto"). SSE is a legacy
*transport*, but this SDK's SSE client and server speak both generations over it too: the server
runs the dual-era loop on each SSE connection, so "auto" negotiates 2026-07-28. Every test below
asserts the version it got, so a change in what the SDK supports shows up here.
"""

from __future__ import annotations

import collections
import itertools
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import httpx2
import pytest
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS

from tests.e2e.workflow import run_full_workflow
from tests.support import PROTOCOL_MODES, ServerProcess, running_process, running_server

UVICORN_LINE = re.compile(r"Uvicorn running on (http://127\.0\.0\.1:\d+)")


def assert_protocol(client: Client, mode: str) -> None:
    expected = HANDSHAKE_PROTOCOL_VERSIONS if mode == "legacy" else MODERN_PROTOCOL_VERSIONS
    assert client.protocol_version in expected, (mode, client.protocol_version)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_sse_client_runs_the_workflow(sse_server: ServerProcess, mode: str) -> None:
    assert sse_server.url.endswith("/sse")
    async with Client(sse_client(sse_server.url), mode=mode, read_timeout_seconds=60) as client:
        assert_protocol(client, mode)
        await run_full_workflow(client, f"sse {mode}")


@pytest.mark.anyio
@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_streamable_http_client_runs_the_workflow(http_server: ServerProcess, mode: str) -> None:
    assert http_server.url.endswith("/mcp")
    async with Client(http_server.url, mode=mode, read_timeout_seconds=60) as client:
        assert_protocol(client, mode)
        await run_full_workflow(client, f"http {mode}")


class RoundRobin(httpx2.AsyncBaseTransport):
    """A load balancer without sticky sessions, inside the client: each request goes to the next replica.

    The client only ever sees the first replica's URL; the Host header stays what it sent.
    """

    def __init__(self, ports: Sequence[int]) -> None:
        self.inner = httpx2.AsyncHTTPTransport()
        self.ports = itertools.cycle(ports)
        self.served: collections.Counter[int] = collections.Counter()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        port = next(self.ports)
        request.url = request.url.copy_with(port=port)
        self.served[port] += 1
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@contextmanager
def replicas(emulator_url: str, *extra: str) -> Iterator[list[ServerProcess]]:
    with (
        running_server("--transport", "http", "--base-url", emulator_url, *extra) as first,
        running_server("--transport", "http", "--base-url", emulator_url, *extra) as second,
    ):
        yield [first, second]


@pytest.fixture(scope="module")
def stateless_pair(emulator_url: str) -> Iterator[list[ServerProcess]]:
    with replicas(emulator_url, "--stateless") as pair:
        yield pair


@pytest.mark.anyio
@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_stateless_replicas_serve_one_client_request_by_request(
    stateless_pair: list[ServerProcess], mode: str
) -> None:
    balancer = RoundRobin([server.port for server in stateless_pair])
    async with (
        httpx2.AsyncClient(transport=balancer, timeout=httpx2.Timeout(30, read=60)) as http,
        Client(streamable_http_client(stateless_pair[0].url, http_client=http), mode=mode) as client,
    ):
        assert_protocol(client, mode)
        await run_full_workflow(client, f"stateless {mode}")
    counts = [balancer.served[server.port] for server in stateless_pair]
    assert min(counts) >= 8, counts
    assert abs(counts[0] - counts[1]) <= 1, counts


@pytest.mark.anyio
async def test_stateful_replicas_need_sticky_sessions(http_server: ServerProcess, emulator_url: str) -> None:
    """The control for the test above: without --stateless, a legacy session lives in one process only."""
    with running_server("--transport", "http", "--base-url", emulator_url) as other:
        balancer = RoundRobin([http_server.port, other.port])
        with pytest.raises(BaseException) as failure:  # noqa: PT011 (an exception group from the client's task group)
            async with (
                httpx2.AsyncClient(transport=balancer, timeout=30) as http,
                Client(streamable_http_client(http_server.url, http_client=http), mode="legacy") as client,
            ):
                await client.list_tools()
        assert "Session not found" in repr(failure.value)


@contextmanager
def running_uvicorn(*args: str, apps: int, **env: str) -> Iterator[str]:
    """``python -m uvicorn ARGS`` on an ephemeral port; yields its base URL once ``apps`` factories reported in."""

    def ready(lines: list[str]) -> str | None:
        urls = [match.group(1) for line in lines if (match := UVICORN_LINE.search(line))]
        reported = sum("ASGI app:" in line for line in lines)
        return urls[0] if urls and reported >= apps else None

    command = [sys.executable, "-m", "uvicorn", *args, "--host", "127.0.0.1", "--port", "0"]
    with running_process(command, ready, timeout=30, **env) as (_process, url, _lines):
        yield url


@pytest.mark.anyio
async def test_uvicorn_workers_serve_the_app_factory(emulator_url: str) -> None:
    """`uvicorn --factory mix_mcp.asgi:app_factory --workers 2`, configured from the environment."""
    env = {"MIX_BASE_URL": emulator_url, "MIX_MCP_STATELESS": "true"}
    with running_uvicorn("--factory", "mix_mcp.asgi:app_factory", "--workers", "2", apps=2, **env) as base:
        async with Client(f"{base}/mcp", mode="legacy") as client:
            await run_full_workflow(client, "uvicorn workers")
        async with httpx2.AsyncClient() as http:
            assert (await http.get(f"{base}/healthz")).status_code == 200


@pytest.mark.anyio
async def test_the_app_mounts_in_a_parent_app(emulator_url: str) -> None:
    """SSE under a mount: the endpoint the server announces must carry the mount's prefix."""
    env = {"MIX_BASE_URL": emulator_url, "MIX_MCP_TRANSPORT": "sse"}
    with running_uvicorn("--factory", "tests.e2e.mounted_app:parent_app", apps=0, **env) as base:
        async with httpx2.AsyncClient() as http:
            assert (await http.get(f"{base}/")).text == "the parent app"
            assert (await http.get(f"{base}/mix/healthz")).json()["status"] == "ok"
        async with Client(sse_client(f"{base}/mix/sse"), mode="legacy") as client:
            listed = await client.call_tool("list_sessions", {})
        assert not listed.is_error
        assert listed.structured_content is not None and listed.structured_content["count"] >= 3
