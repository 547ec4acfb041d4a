"""The README, the docs/ pages, the CI script and the examples say what the code does."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mix_mcp.tools.snapshots import render_retry_table, render_settings_table

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCS = ROOT / "docs"


def _doc(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def _quickstart_commands() -> list[str]:
    section = README.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section)


def test_quickstart_has_an_install_and_serve_line_and_an_install_and_test_line() -> None:
    commands = _quickstart_commands()
    assert any("pip install ." in c and "mix-mcp serve --emulator" in c for c in commands)
    assert any("pip install -e '.[test]'" in c and "pytest" in c for c in commands)


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    test_command = next(c for c in _quickstart_commands() if "pytest" in c)
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert test_command in ci.splitlines()
    assert "set -euo pipefail" in ci
    assert "ruff check" in ci and "mypy --strict" in ci


@pytest.mark.parametrize("group", ["mix", "serve"])
def test_configuration_tables_match_the_settings(group: str) -> None:
    assert render_settings_table(group) in _doc("configuration.md")


@pytest.mark.parametrize("name", ["cursor_mcp.json", "vscode_mcp.json", "claude_desktop_config.json"])
def test_network_client_examples_point_at_the_default_endpoint_with_the_bearer_header(name: str) -> None:
    config = json.loads((ROOT / "examples" / "network" / name).read_text(encoding="utf-8"))
    entry = (config.get("mcpServers") or config["servers"])["mix"]
    text = json.dumps(entry)
    assert "http://127.0.0.1:8000/mcp" in text
    assert "Bearer" in text and "Authorization" in text


def test_claude_code_network_example_uses_both_transports() -> None:
    script = (ROOT / "examples" / "network" / "claude_code.sh").read_text(encoding="utf-8")
    assert "--transport http mix http://127.0.0.1:8000/mcp" in script
    assert "--transport sse mix http://127.0.0.1:8000/sse" in script


def test_retry_policy_table_matches_the_operation_table() -> None:
    reliability = _doc("reliability.md")
    assert render_retry_table() in reliability
    assert "| `create_session` | only a failed connection" in reliability


@pytest.mark.parametrize("name", ["claude_desktop_config.json", "cursor_mcp.json", "vscode_mcp.json"])
def test_client_examples_launch_mix_mcp_serve(name: str) -> None:
    config = json.loads((ROOT / "examples" / name).read_text(encoding="utf-8"))
    servers = config.get("mcpServers") or config["servers"]
    entry = servers["mix"]
    assert entry["command"].endswith("mix-mcp")
    assert entry["args"][0] == "serve"
    assert "MIX_BASE_URL" in entry["env"]
