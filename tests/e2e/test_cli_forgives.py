"""The command line forgives and explains: typos get suggestions, ignored flags a warning, errors a next step."""

from __future__ import annotations

import socket
from pathlib import Path

from tests.support import run_cli

TOKEN = "a-token-of-enough-length"


def test_top_level_help_ends_with_two_try_it_examples() -> None:
    completed = run_cli("--help")
    assert completed.returncode == 0
    last = completed.stdout.rstrip().splitlines()[-3:]
    assert last[0].startswith("try it")
    assert last[1].strip().startswith("mix-mcp call list_sessions --emulator")
    assert last[2].strip().startswith("mix-mcp config claude-desktop --emulator")


def test_a_misspelled_flag_shows_the_subcommand_usage_and_a_suggestion() -> None:
    completed = run_cli("serve", "--emulater")
    assert completed.returncode == 2
    assert completed.stderr.startswith("usage: mix-mcp serve ")
    assert "mix-mcp serve: error: unrecognized arguments: --emulater (--emulater: did you mean --emulator?)" in (
        completed.stderr
    )
    typed_with_value = run_cli("call", "list_sessions", "--base-utl=http://x")
    assert typed_with_value.stderr.startswith("usage: mix-mcp call ")
    assert "did you mean --base-url?" in typed_with_value.stderr


def test_network_flags_on_a_stdio_server_are_reported_in_one_line() -> None:
    completed = run_cli("serve", "--emulator", "--auth-token", TOKEN, "--port", "9000")  # stdin closed: exits
    assert completed.returncode == 0, completed.stderr
    warnings = [line for line in completed.stderr.splitlines() if "warning" in line]
    assert warnings == [
        "mix-mcp: warning: --port and --auth-token have no effect over stdio; they apply with --transport http or sse"
    ]
    assert TOKEN not in completed.stderr


def test_base_url_with_emulator_is_reported() -> None:
    completed = run_cli("call", "list_sessions", "--emulator", "--base-url", "http://mix.example.com")
    assert completed.returncode == 0, completed.stderr
    assert "mix-mcp: warning: --base-url has no effect with --emulator" in completed.stderr


def test_read_only_on_doctor_is_reported() -> None:
    completed = run_cli("doctor", "--emulator", "--read-only")
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr.count("warning") == 1
    assert "mix-mcp: warning: --read-only has no effect on doctor" in completed.stderr


def test_flags_that_take_effect_draw_no_warning() -> None:
    completed = run_cli("call", "list_sessions", "--emulator", "--read-only")
    assert completed.returncode == 0
    assert "warning" not in completed.stderr


def test_a_port_in_use_suggests_another_port() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        served = run_cli("serve", "--transport", "http", "--port", port, "--emulator")
        emulated = run_cli("emulator", "--port", port)
    for completed in (served, emulated):
        assert completed.returncode != 0
        assert f"cannot listen on 127.0.0.1:{port}" in completed.stderr
        assert "choose another port with --port (--port 0 picks a free one)" in completed.stderr
        assert "Traceback" not in completed.stderr


def test_config_write_refuses_a_missing_folder_unless_asked(tmp_path: Path) -> None:
    path = tmp_path / ".vscdoe" / "mcp.json"
    refused = run_cli("config", "vscode", "--write", "--config-path", str(path))
    assert refused.returncode == 1
    assert "does not exist (a typo in --config-path?)" in refused.stderr and "--create-dirs" in refused.stderr
    assert not path.parent.exists()
    created = run_cli("config", "vscode", "--write", "--config-path", str(path), "--create-dirs")
    assert created.returncode == 0, created.stderr
    assert path.is_file()
