"""A confirmation (2026-07-28) whose question and answer land on different stateless replicas.

Only the 2026-07-28 protocol applies: its confirmation is two independent tools/call requests, the
second bringing back the state the first sealed. The legacy protocol's elicitation is a request from
server to client in the middle of the call, which needs a stateful session in one process.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from tests.e2e.replicated import (
    NEW_KEY,
    OLD_KEY,
    RecordingBalancer,
    User,
    new_session,
    session_exists,
    stateless_replicas,
)
from tests.support import ServerProcess, clean_env, run_cli, running_process, text_of

DEBUG = ("--log-level", "DEBUG")


@pytest.fixture(scope="module")
def shared_pair(emulator_url: str) -> Iterator[list[ServerProcess]]:
    with stateless_replicas(emulator_url, f"{NEW_KEY},{OLD_KEY}", f"{NEW_KEY},{OLD_KEY}", extra=DEBUG) as pair:
        yield pair


@asynccontextmanager
async def balanced(replicas: list[ServerProcess], user: User) -> AsyncIterator[tuple[Client, RecordingBalancer]]:
    balancer = RecordingBalancer([server.port for server in replicas])
    async with httpx2.AsyncClient(transport=balancer, timeout=httpx2.Timeout(30, read=60)) as http:
        client = Client(streamable_http_client(replicas[0].url, http_client=http), mode="auto")
        client.elicitation_callback = user
        async with client:
            assert client.protocol_version in MODERN_PROTOCOL_VERSIONS
            yield client, balancer


def assert_rounds_crossed(balancer: RecordingBalancer) -> None:
    """The question was asked by one replica and answered on the other."""
    asked, answered = balancer.tool_calls("delete_session")[-2:]
    assert not asked.has_state and answered.has_state
    assert asked.port != answered.port


@pytest.mark.anyio
async def test_a_confirmed_delete_works_across_alternating_replicas(shared_pair: list[ServerProcess]) -> None:
    user = User("accept")
    async with balanced(shared_pair, user) as (client, balancer):
        doomed = await new_session(client, "Doomed across replicas")
        deleted = await client.call_tool("delete_session", {"session_id": doomed})
        assert not deleted.is_error, text_of(deleted)
        assert deleted.structured_content == {"deleted": True, "session_id": doomed}
        assert_rounds_crossed(balancer)
        assert not await session_exists(client, doomed)
    assert len(user.questions) == 1 and "Doomed across replicas" in user.questions[0]
    assert {r.port for r in balancer.routed} == {server.port for server in shared_pair}
    for server in shared_pair:
        assert NEW_KEY not in server.stderr and OLD_KEY not in server.stderr
        assert NEW_KEY[:12] not in server.stderr


@pytest.mark.anyio
async def test_a_declined_delete_changes_nothing_across_replicas(shared_pair: list[ServerProcess]) -> None:
    user = User("decline")
    async with balanced(shared_pair, user) as (client, balancer):
        kept = await new_session(client, "Kept across replicas")
        refused = await client.call_tool("delete_session", {"session_id": kept})
        assert refused.is_error
        assert "the user declined" in text_of(refused) and "Nothing was changed" in text_of(refused)
        assert_rounds_crossed(balancer)
        assert await session_exists(client, kept)
    assert len(user.questions) == 1


@pytest.mark.anyio
async def test_rotation_replicas_in_neighbouring_phases_read_each_others_state(emulator_url: str) -> None:
    """Mid-rotation: one replica still seals with the old key, the other seals with the new one; both know both."""
    user = User("accept")
    with stateless_replicas(emulator_url, f"{OLD_KEY},{NEW_KEY}", f"{NEW_KEY},{OLD_KEY}") as pair:
        async with balanced(pair, user) as (client, balancer):
            doomed = []
            for round_number in range(2):
                # Three requests a round (create, question, answer): the next question is asked by the other replica.
                doomed.append(await new_session(client, f"Rotated {round_number}"))
                deleted = await client.call_tool("delete_session", {"session_id": doomed[-1]})
                assert not deleted.is_error, text_of(deleted)
                assert_rounds_crossed(balancer)
            askers = {r.port for r in balancer.tool_calls("delete_session") if not r.has_state}
            assert askers == {server.port for server in pair}, "each phase's seal was read by the other phase"
            for session_id in doomed:
                assert not await session_exists(client, session_id)


@pytest.mark.anyio
async def test_replicas_with_different_keys_refuse_the_answer(emulator_url: str) -> None:
    """The control: without a common key, the answer cannot be read where it lands, and nothing is deleted."""
    user = User("accept")
    with stateless_replicas(emulator_url, OLD_KEY, NEW_KEY) as pair:
        async with balanced(pair, user) as (client, balancer):
            kept = await new_session(client, "Unreadable answer")
            with pytest.raises(MCPError) as refused:
                await client.call_tool("delete_session", {"session_id": kept})
            assert "Invalid or expired requestState" in str(refused.value)
            assert_rounds_crossed(balancer)
            assert await session_exists(client, kept)


@pytest.mark.anyio
async def test_a_legacy_client_on_stateless_replicas_is_refused_and_nothing_changes(
    shared_pair: list[ServerProcess],
) -> None:
    """The legacy protocol asks in the middle of the call, which needs a session: refused, never run unasked."""
    user = User("accept")
    balancer = RecordingBalancer([server.port for server in shared_pair])
    async with httpx2.AsyncClient(transport=balancer, timeout=httpx2.Timeout(30, read=60)) as http:
        client = Client(streamable_http_client(shared_pair[0].url, http_client=http), mode="legacy")
        client.elicitation_callback = user
        async with client:
            kept = await new_session(client, "Legacy on replicas")
            refused = await client.call_tool("delete_session", {"session_id": kept})
            assert refused.is_error and "Nothing was changed" in text_of(refused)
            assert await session_exists(client, kept)


def test_a_stateless_confirming_server_without_a_key_refuses_to_start() -> None:
    finished = run_cli("serve", "--transport", "http", "--stateless", "--confirm-destructive", "--port", "0")
    assert finished.returncode == 2
    assert "refusing to start" in finished.stderr and "MIX_MCP_STATE_KEY" in finished.stderr
    assert "--state-key-file" in finished.stderr and "every replica" in finished.stderr
    assert finished.stdout == ""


def test_a_short_key_is_refused_without_showing_it() -> None:
    short = "short-key-abc123"
    finished = run_cli(
        "serve", "--transport", "http", "--stateless", "--confirm-destructive", "--port", "0", "--state-key", short
    )
    assert finished.returncode == 2
    assert "at least 32" in finished.stderr and short not in finished.stderr


def test_the_asgi_factory_refuses_too() -> None:
    finished = subprocess.run(
        [sys.executable, "-c", "from mix_mcp.asgi import app_factory; app_factory()"],
        capture_output=True,
        text=True,
        env=clean_env(MIX_MCP_STATELESS="true", MIX_MCP_CONFIRM_DESTRUCTIVE="true"),
        timeout=60,
        check=False,
    )
    assert finished.returncode == 2
    assert "refusing to start" in finished.stderr and "MIX_MCP_STATE_KEY" in finished.stderr


@pytest.mark.anyio
async def test_uvicorn_workers_share_the_key_from_a_file(emulator_url: str, tmp_path: Path) -> None:
    """`uvicorn --workers 2` with the keys in a file: the factory starts, and a confirmed delete goes through."""
    key_file = tmp_path / "state-keys"
    key_file.write_text(f"# current key first\n{NEW_KEY}\n\n{OLD_KEY}\n", encoding="utf-8")
    env = {
        "MIX_BASE_URL": emulator_url,
        "MIX_MCP_STATELESS": "true",
        "MIX_MCP_CONFIRM_DESTRUCTIVE": "true",
        "MIX_MCP_STATE_KEY_FILE": str(key_file),
    }

    def ready(lines: list[str]) -> str | None:
        urls = [line.split("Uvicorn running on ", 1)[1].split()[0] for line in lines if "Uvicorn running on" in line]
        return urls[0] if urls and sum("ASGI app:" in line for line in lines) >= 2 else None

    command = [sys.executable, "-m", "uvicorn", "--factory", "mix_mcp.asgi:app_factory", "--workers", "2"]
    command += ["--host", "127.0.0.1", "--port", "0"]
    with running_process(command, ready, timeout=60, **env) as (_process, base, lines):
        user = User("accept")
        client = Client(f"{base}/mcp", mode="auto")
        client.elicitation_callback = user
        async with client:
            doomed = await new_session(client, "Doomed under workers")
            deleted = await client.call_tool("delete_session", {"session_id": doomed})
            assert not deleted.is_error, text_of(deleted)
            assert not await session_exists(client, doomed)
        assert len(user.questions) == 1
        assert NEW_KEY not in "".join(lines)
