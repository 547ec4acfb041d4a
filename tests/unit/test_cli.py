"""The command line: version, tool listing, snapshot checks, one-shot calls and their exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mix_mcp._version import __version__
from mix_mcp.cli.command import main
from mix_mcp.tools.operations import OPERATIONS


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"mix-mcp {__version__}"


def test_no_command_prints_help_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "serve" in capsys.readouterr().err


def test_tools_json_lists_every_operation(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tools", "--json"]) == 0
    documents = json.loads(capsys.readouterr().out)
    assert [d["name"] for d in documents] == [op.name for op in OPERATIONS]
    assert all({"inputSchema", "outputSchema", "annotations", "title"} <= d.keys() for d in documents)


def test_tools_write_then_check_round_trips(tmp_path: Path) -> None:
    assert main(["tools", "--check", str(tmp_path)]) == 1
    assert main(["tools", "--write", str(tmp_path)]) == 0
    assert main(["tools", "--check", str(tmp_path)]) == 0
    (tmp_path / "get_session.json").write_text("{}", encoding="utf-8")
    assert main(["tools", "--check", str(tmp_path)]) == 1


def test_bad_configuration_exits_2_with_the_setting_named(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["call", "list_sessions", "--base-url", "ftp://mix"]) == 2
    assert "--base-url / MIX_BASE_URL" in capsys.readouterr().err


def test_call_rejects_non_json_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["call", "get_session", "{session_id: 1}"]) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_call_on_the_emulator_prints_structured_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["call", "list_sessions", "--emulator"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["count"] == len(listed["sessions"]) > 0


def test_call_tool_error_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["call", "get_session", '{"session_id": "missing"}', "--emulator"]) == 1
    assert "HTTP 404" in capsys.readouterr().err


def test_emulator_options_reach_the_emulator(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["emulator", "--port", "0", "--help"])
    assert exited.value.code == 0
    assert "--api-key" in capsys.readouterr().out


def test_unknown_options_of_other_commands_are_still_errors(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--no-such-flag"])
    assert exited.value.code == 2
    assert "unrecognized arguments: --no-such-flag" in capsys.readouterr().err


def test_serve_offers_the_network_transports(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    help_text = capsys.readouterr().out
    for flag in ("--transport", "--stateless", "--auth-token-file", "--allowed-hosts", "--shutdown-grace"):
        assert flag in help_text
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--transport", "websocket"])
    assert exited.value.code == 2


def test_call_has_no_server_flags(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["call", "--help"])
    help_text = capsys.readouterr().out
    assert "--base-url" in help_text and "--transport" not in help_text


def test_the_stdio_path_does_not_load_the_network_modules() -> None:
    probe = (
        "import sys, mix_mcp.cli, mix_mcp.serving.server; mix_mcp.cli.command.build_parser(); "
        "print(sorted(m for m in sys.modules if m.startswith('mix_mcp.')))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    for module in ("serving.transports", "serving.http_security", "serving.health", "asgi", "emulator"):
        assert f"'mix_mcp.{module}'" not in loaded, module
