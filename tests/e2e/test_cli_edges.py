"""The command line at its edges: a reader that stops reading, base URLs with a bad port, an emulator
database in a directory that does not exist. Each ends in a clear message and exit code, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support import clean_env, run_cli


def _run_into_closed_pipe(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``mix-mcp ARGS`` with stdout a pipe whose reader is already gone (as after ``| head`` has exited)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [sys.executable, "-m", "mix_mcp", *args],
            stdin=subprocess.DEVNULL,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env=clean_env(),
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)


@pytest.mark.parametrize("args", [("tools", "--json"), ("tools",), ("call", "list_sessions", "--emulator")])
def test_a_reader_that_stopped_reading_gets_no_traceback(args: tuple[str, ...]) -> None:
    done = _run_into_closed_pipe(*args)
    assert "Traceback" not in done.stderr, done.stderr
    assert "BrokenPipeError" not in done.stderr, done.stderr
    assert done.returncode == 0


@pytest.mark.parametrize(
    "url", ["http://localhost:80888", "http://localhost:abc", "http://[::1", "http://u:pw123456@[::1"]
)
@pytest.mark.parametrize("command", [("call", "list_sessions"), ("serve",), ("doctor",)])
def test_a_base_url_with_a_bad_port_is_a_configuration_error(url: str, command: tuple[str, ...]) -> None:
    done = run_cli(*command, "--base-url", url)
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    assert "--base-url / MIX_BASE_URL is not a usable URL" in done.stderr + done.stdout
    assert "pw123456" not in done.stderr + done.stdout
    # doctor reports the configuration as its failed check (exit 1), as it does for every bad setting.
    assert done.returncode == (1 if command == ("doctor",) else 2), done.stderr


def test_an_emulator_database_in_a_missing_directory_names_the_path(tmp_path: object) -> None:
    missing = os.path.join(str(tmp_path), "no", "such", "dir")
    done = run_cli("emulator", "--port", "0", "--db", os.path.join(missing, "mix.db"), timeout=30)
    assert done.returncode == 1
    assert os.path.join(missing, "mix.db") in done.stderr
    assert f"the directory {missing} does not exist" in done.stderr
    assert "Traceback" not in done.stderr
