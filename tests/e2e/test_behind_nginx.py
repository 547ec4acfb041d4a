"""mix-mcp behind a real nginx, configured by examples/deploy/nginx.conf, over two ``--stateless`` replicas.

Round robin without sticky sessions: the workflow, progress notifications, a cancellation and a
confirmation all go through nginx, and nginx's access log shows both replicas answering.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from mix_mcp.emulator import LARGE_SESSION_ID
from tests.e2e.nginx import Nginx, running_nginx
from tests.e2e.replicated import NEW_KEY, User, new_session, session_exists
from tests.e2e.stalling_mix import stalling_mix
from tests.e2e.test_network_workflow import assert_protocol
from tests.e2e.workflow import run_full_workflow
from tests.support import PROTOCOL_MODES, ServerProcess, running_server, text_of
from tests.system_parts import require_nginx

STATELESS = ("--transport", "http", "--stateless", "--log-level", "INFO")


@contextmanager
def deployment(
    folder: Path, mix_url: str, *flags: str, replicas: int = 2, **env: str
) -> Iterator[tuple[Nginx, list[ServerProcess]]]:
    """``replicas`` stateless mix-mcp processes on ``mix_url``, and nginx in front of them."""
    binary = require_nginx()
    with ExitStack() as stack:
        servers = [
            stack.enter_context(running_server(*STATELESS, "--base-url", mix_url, *flags, timeout=60, **env))
            for _ in range(replicas)
        ]
        addresses = [f"127.0.0.1:{server.port}" for server in servers]
        yield stack.enter_context(running_nginx(binary, folder, addresses)), servers


@pytest.fixture(scope="module")
def behind_nginx(
    large_emulator_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Nginx, list[ServerProcess]]]:
    with deployment(tmp_path_factory.mktemp("nginx"), large_emulator_url) as deployed:
        yield deployed


def assert_round_robin(upstreams: Sequence[str], servers: Sequence[ServerProcess]) -> None:
    counts = Counter(upstreams)
    assert set(counts) == {f"127.0.0.1:{server.port}" for server in servers}, counts
    assert max(counts.values()) - min(counts.values()) <= 1, counts


@pytest.mark.anyio
@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_the_workflow_runs_through_nginx(behind_nginx: tuple[Nginx, list[ServerProcess]], mode: str) -> None:
    nginx, servers = behind_nginx
    before = len(nginx.upstreams_since(0))
    async with Client(f"{nginx.url}/mcp", mode=mode, read_timeout_seconds=60) as client:
        assert_protocol(client, mode)
        await run_full_workflow(client, f"nginx {mode}")
    served = nginx.upstreams_since(before, at_least=16)
    assert len(served) >= 16
    assert_round_robin(served, servers)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_progress_notifications_come_through_nginx(
    behind_nginx: tuple[Nginx, list[ServerProcess]], mode: str
) -> None:
    nginx, _servers = behind_nginx
    reports: list[tuple[float, float | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        reports.append((progress, total))

    async with Client(f"{nginx.url}/mcp", mode=mode, read_timeout_seconds=60) as client:
        # A window of the large session: Mix's whole answer is read (and reported), a small part returned.
        arguments = {"session_id": LARGE_SESSION_ID, "limit": 5}
        result = await client.call_tool("export_session", arguments, progress_callback=on_progress)
        assert not result.is_error, text_of(result)
        assert result.structured_content is not None and len(result.structured_content["messages"]) == 5
        plain = await client.call_tool("get_session", {"session_id": LARGE_SESSION_ID})
        assert not plain.is_error
    assert len(reports) >= 2, reports
    values = [progress for progress, _ in reports]
    assert values == sorted(values) and len(set(values)) == len(values)
    final, total = reports[-1]
    assert total is not None and final == total > 500_000


@pytest.mark.anyio
async def test_a_confirmation_goes_through_nginx_with_the_shared_key(emulator_url: str, tmp_path: Path) -> None:
    """2026-07-28: the question and the answer are two requests, which nginx sends to different replicas."""
    with deployment(tmp_path, emulator_url, "--confirm-destructive", MIX_MCP_STATE_KEY=NEW_KEY) as (nginx, servers):
        for action in ("accept", "decline"):
            user = User(action)
            client = Client(f"{nginx.url}/mcp", mode="auto", read_timeout_seconds=60)
            client.elicitation_callback = user
            async with client:
                assert client.protocol_version in MODERN_PROTOCOL_VERSIONS
                session_id = await new_session(client, f"Through nginx, {action}")
                before = len(nginx.upstreams_since(0))
                result = await client.call_tool("delete_session", {"session_id": session_id})
                asked, answered = nginx.upstreams_since(before, at_least=2)
                assert asked != answered, "the answer reached the other replica"
                if action == "accept":
                    assert not result.is_error, text_of(result)
                    assert not await session_exists(client, session_id)
                else:
                    assert result.is_error and "the user declined" in text_of(result)
                    assert await session_exists(client, session_id)
            assert len(user.questions) == 1
        for server in servers:
            assert NEW_KEY not in server.stderr


@pytest.mark.anyio
async def test_a_cancelled_call_stops_on_the_replica_behind_nginx(tmp_path: Path) -> None:
    """2026-07-28: the client gives up by closing its request; nginx closes the replica's, which stops the call."""
    with stalling_mix() as mix, deployment(tmp_path, mix.url) as (nginx, servers):
        async with Client(f"{nginx.url}/mcp", mode="auto", read_timeout_seconds=60) as client:
            async with anyio.create_task_group() as group:
                group.start_soon(client.call_tool, "list_sessions", {})
                arrived = await anyio.to_thread.run_sync(mix.arrived.wait, 30)
                assert arrived, "the call reached Mix"
                group.cancel_scope.cancel()

            def cancelled_lines() -> list[str]:
                return [line for s in servers for line in s.lines if "tool=list_sessions outcome=cancelled" in line]

            with anyio.fail_after(30):
                while not cancelled_lines():  # noqa: ASYNC110 (polling a log that a thread fills)
                    await anyio.sleep(0.05)
            mix.release.set()
            after = await client.call_tool("list_sessions", {})
            assert not after.is_error, text_of(after)
        async with httpx2.AsyncClient() as http:
            assert (await http.get(f"{nginx.url}/readyz")).status_code == 200
