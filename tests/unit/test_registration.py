"""`mix-mcp config --write`: merging keeps what was there, backs it up, and refuses what it cannot parse."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

from mix_mcp.cli.command import main
from mix_mcp.cli.registration import default_config_path, launch_command, launch_for
from mix_mcp.config import Settings, load_settings, settings_from_env

OTHER_SERVERS: dict[str, Any] = {"github": {"command": "gh-mcp", "args": [], "env": {"TOKEN": "x"}}}


@pytest.fixture(autouse=True)
def _no_host_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [k for k in os.environ if k.startswith("MIX_")]:
        monkeypatch.delenv(name)


def write(client: str, path: Path, *flags: str) -> int:
    return main(["config", client, "--write", "--config-path", str(path), *flags])


def read(path: Path) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return value


def backups(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f"{path.name}.*.bak"))


def test_write_merges_into_an_existing_file_and_backs_it_up(tmp_path: Path) -> None:
    path = tmp_path / "claude_desktop_config.json"
    original = {"mcpServers": OTHER_SERVERS, "globalShortcut": "Ctrl+Space"}
    path.write_text(json.dumps(original), encoding="utf-8")
    path.chmod(0o600)

    assert write("claude-desktop", path, "--base-url", "http://mix.local:8088") == 0
    merged = read(path)
    assert merged["globalShortcut"] == "Ctrl+Space"
    assert merged["mcpServers"]["github"] == OTHER_SERVERS["github"]
    assert merged["mcpServers"]["mix"]["env"] == {"MIX_BASE_URL": "http://mix.local:8088"}
    assert merged["mcpServers"]["mix"]["args"][-1] == "serve"
    [backup] = backups(path)
    assert json.loads(backup.read_text(encoding="utf-8")) == original
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # a file that may hold keys stays private


def test_writing_again_replaces_only_our_entry(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "mcp.json"
    path.write_text(json.dumps({"mcpServers": OTHER_SERVERS}), encoding="utf-8")
    assert write("cursor", path) == 0
    assert "added server 'mix'" in capsys.readouterr().out
    assert write("cursor", path, "--max-retries", "5") == 0
    assert "replaced server 'mix'" in capsys.readouterr().out
    merged = read(path)
    assert set(merged["mcpServers"]) == {"github", "mix"}
    assert merged["mcpServers"]["mix"]["env"]["MIX_MAX_RETRIES"] == "5"
    assert len(backups(path)) == 2


def test_writing_the_same_registration_again_changes_nothing_and_backs_nothing_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "mcp.json"
    path.write_text(json.dumps({"mcpServers": OTHER_SERVERS}), encoding="utf-8")
    assert write("cursor", path, "--max-retries", "5") == 0
    assert len(backups(path)) == 1
    written = path.read_text(encoding="utf-8")
    capsys.readouterr()
    assert write("cursor", path, "--max-retries", "5") == 0
    assert "already registered exactly so: nothing changed, no backup" in capsys.readouterr().out
    assert len(backups(path)) == 1 and path.read_text(encoding="utf-8") == written
    # A real change still backs up the file as it was.
    assert write("cursor", path, "--max-retries", "6") == 0
    assert len(backups(path)) == 2 and read(path)["mcpServers"]["mix"]["env"]["MIX_MAX_RETRIES"] == "6"


def test_write_creates_a_missing_file_without_a_backup(tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    assert write("vscode", path) == 0
    assert read(path)["servers"]["mix"]["type"] == "stdio"
    assert backups(path) == []


def test_write_refuses_a_missing_folder_unless_asked_to_create_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "project" / ".vscdoe" / "mcp.json"  # a typo
    assert write("vscode", path) == 1
    err = capsys.readouterr().err
    assert f"the folder {path.parent} does not exist" in err and "--create-dirs" in err
    assert not (tmp_path / "project").exists()
    assert write("vscode", path, "--create-dirs") == 0
    assert read(path)["servers"]["mix"]["type"] == "stdio"
    assert backups(path) == []


def test_vscode_inputs_are_merged_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "mcp.json"
    theirs = {"type": "promptString", "id": "github-token", "password": True}
    path.write_text(json.dumps({"inputs": [theirs], "servers": OTHER_SERVERS}), encoding="utf-8")
    monkeypatch.setenv("MIX_API_KEY", "sk-not-written")
    assert write("vscode", path) == 0
    assert write("vscode", path) == 0
    merged = read(path)
    assert [i["id"] for i in merged["inputs"]] == ["github-token", "mix-api-key"]
    assert merged["servers"]["mix"]["env"]["MIX_API_KEY"] == "${input:mix-api-key}"
    assert "sk-not-written" not in path.read_text(encoding="utf-8")


def test_claude_code_writes_the_project_scope_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / ".mcp.json"
    assert write("claude-code", path, "--api-key", "sk-cli-secret") == 0
    entry = read(path)["mcpServers"]["mix"]
    assert entry["type"] == "stdio"
    assert entry["env"]["MIX_API_KEY"] == "${MIX_API_KEY}"  # Claude Code expands it from its environment
    out = capsys.readouterr().out
    assert "claude mcp add mix" in out
    assert "sk-cli-secret" not in out + path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "content", ['{"mcpServers": {} // a comment\n}', "[1, 2]", '{"mcpServers": ["not", "an", "object"]}']
)
def test_unmergeable_files_are_left_untouched(tmp_path: Path, content: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "mcp.json"
    path.write_text(content, encoding="utf-8")
    assert write("cursor", path) == 1
    assert path.read_text(encoding="utf-8") == content
    assert backups(path) == []
    assert "nothing written" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("client", "platform", "environ", "expected"),
    [
        ("claude-desktop", "darwin", {}, "HOME/Library/Application Support/Claude/claude_desktop_config.json"),
        ("claude-desktop", "win32", {"APPDATA": "APPDATA"}, "APPDATA/Claude/claude_desktop_config.json"),
        ("claude-desktop", "linux", {}, "HOME/.config/Claude/claude_desktop_config.json"),
        ("claude-desktop", "linux", {"XDG_CONFIG_HOME": "XDG"}, "XDG/Claude/claude_desktop_config.json"),
        ("cursor", "linux", {}, "HOME/.cursor/mcp.json"),
        ("vscode", "darwin", {}, "CWD/.vscode/mcp.json"),
        ("claude-code", "win32", {}, "CWD/.mcp.json"),
    ],
)
def test_default_config_paths(client: Any, platform: str, environ: dict[str, str], expected: str) -> None:
    path = default_config_path(client, platform=platform, environ=environ, home=Path("HOME"), cwd=Path("CWD"))
    assert path == Path(expected)


def test_launch_command_prefers_the_running_console_script(tmp_path: Path) -> None:
    script = tmp_path / "bin" / "mix-mcp"
    script.parent.mkdir()
    script.write_text("#!/bin/sh\n", encoding="utf-8")
    assert launch_command(str(script)) == (str(script.resolve()), [])
    # uv and pipx link ~/.local/bin/mix-mcp to the tool's own environment: the link is what is printed.
    link = tmp_path / "local-bin" / "mix-mcp"
    link.parent.mkdir()
    link.symlink_to(script)
    assert launch_command(str(link)) == (str(link), [])
    assert launch_command(str(tmp_path / "bin" / "missing" / "mix-mcp")) == (sys.executable, ["-m", "mix_mcp"])
    assert launch_command("/somewhere/mix_mcp/__main__.py") == (sys.executable, ["-m", "mix_mcp"])


def test_snippet_environment_reads_back_as_the_same_settings() -> None:
    settings = Settings(
        base_url="https://mix.example.com/root",
        connect_timeout=2.5,
        max_retries=0,
        use_emulator=True,
        log_level="INFO",
        log_format="json",
    )
    env = launch_for("cursor", settings).env
    assert set(env) == {
        "MIX_BASE_URL",
        "MIX_CONNECT_TIMEOUT",
        "MIX_MAX_RETRIES",
        "MIX_MCP_EMULATOR",
        "MIX_MCP_LOG_LEVEL",
        "MIX_MCP_LOG_FORMAT",
    }
    assert load_settings(environ=env) == settings
    assert settings_from_env(launch_for("cursor", Settings()).env) == {"base_url": "http://localhost:8088"}
