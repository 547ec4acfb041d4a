"""`mix-mcp config CLIENT` prints a registration that, taken as the client would take it, starts a working server.

For each client the snippet is parsed (JSON, or the `claude mcp add` line), its command, arguments
and environment are launched over stdio by the SDK's Client, and the server must list its tools and
reach the emulator the settings point at.
"""

from __future__ import annotations

import json
import shlex
import sys

import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from mix_mcp._version import __version__
from mix_mcp.cli.registration import CLIENTS
from mix_mcp.tools.operations import OPERATIONS
from tests.support import clean_env, run_cli, text_of


def launch_from_snippet(client: str, text: str) -> tuple[str, list[str], dict[str, str]]:
    """What the client would run: (command, args, env)."""
    if client == "claude-code":
        words = shlex.split(text)
        assert words[:4] == ["claude", "mcp", "add", "mix"]
        options, command = words[4 : words.index("--")], words[words.index("--") + 1 :]
        env = dict(options[i + 1].split("=", 1) for i, word in enumerate(options) if word == "--env")
        assert options[options.index("--transport") + 1] == "stdio"
        return command[0], command[1:], env
    document = json.loads(text)
    entry = document["servers" if client == "vscode" else "mcpServers"]["mix"]
    if client == "vscode":
        assert entry["type"] == "stdio"
    return entry["command"], entry["args"], entry["env"]


@pytest.mark.anyio
@pytest.mark.parametrize("client", CLIENTS)
async def test_snippet_launches_a_server_that_answers(client: str, emulator_url: str) -> None:
    done = run_cli("config", client, "--base-url", emulator_url, "--max-retries", "1")
    assert done.returncode == 0, done.stderr
    command, args, env = launch_from_snippet(client, done.stdout)
    assert (command, args[:2]) == (sys.executable, ["-m", "mix_mcp"])  # not a console script: this Python
    assert args[-1] == "serve"
    assert env == {"MIX_BASE_URL": emulator_url, "MIX_MAX_RETRIES": "1"}

    params = StdioServerParameters(command=command, args=args, env=clean_env(**env))
    async with Client(stdio_client(params), mode="legacy", read_timeout_seconds=60) as session:
        assert session.server_info is not None
        assert (session.server_info.name, session.server_info.version) == ("mix-mcp", __version__)
        tools = await session.list_tools()
        listed = await session.call_tool("list_sessions", {})
    assert [t.name for t in tools.tools] == [op.name for op in OPERATIONS]
    assert not listed.is_error, text_of(listed)
    assert listed.structured_content is not None and listed.structured_content["count"] > 0


@pytest.mark.parametrize("client", CLIENTS)
def test_secrets_appear_only_as_placeholders(client: str) -> None:
    secret, header_value = "sk-config-never-printed", "team-secret-value"
    done = run_cli(
        "config",
        client,
        "--header",
        f"X-Team: {header_value}",
        env=clean_env(MIX_API_KEY=secret, MIX_BASE_URL="https://mix.example.com"),
    )
    assert done.returncode == 0, done.stderr
    assert secret not in done.stdout + done.stderr
    assert header_value not in done.stdout + done.stderr
    _command, _args, env = launch_from_snippet(client, done.stdout)
    expected = {
        "claude-desktop": ("<your MIX_API_KEY>", "<your MIX_EXTRA_HEADERS>"),
        "cursor": ("<your MIX_API_KEY>", "<your MIX_EXTRA_HEADERS>"),
        "vscode": ("${input:mix-api-key}", "${input:mix-extra-headers}"),
        "claude-code": ("$MIX_API_KEY", "$MIX_EXTRA_HEADERS"),  # left for the user's shell to expand
    }[client]
    assert (env["MIX_API_KEY"], env["MIX_EXTRA_HEADERS"]) == expected
    assert env["MIX_BASE_URL"] == "https://mix.example.com"
    if client == "vscode":
        inputs = json.loads(done.stdout)["inputs"]
        assert [(i["id"], i["password"]) for i in inputs] == [("mix-api-key", True), ("mix-extra-headers", True)]
    assert "MIX_API_KEY" in done.stderr  # a note says how the placeholder gets its value
