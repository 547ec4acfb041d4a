"""`mix-mcp call` as a person at a terminal meets it: run phases on stderr as they come, and Ctrl-C.

The terminal tests run the command in a real pseudo-terminal (``pty.fork``: the child is the session
leader with the pty as its controlling terminal), so that ^C written to it reaches the command as the
SIGINT a terminal sends, and ``isatty`` is true as it would be for a person.
"""

from __future__ import annotations

import itertools
import json
import os
import pty
import select
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from mix_mcp.emulator import DEMO_SESSION_ID
from tests.support import clean_env, run_cli

INTERRUPT = b"\x03"


def call_json(*args: str) -> dict[str, Any]:
    done = run_cli("call", *args)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def in_terminal(
    args: list[str], *, interrupt_when: Callable[[bytes], bool] | None = None, timeout: float = 60
) -> tuple[int, str]:
    """Run ``python -m mix_mcp ARGS`` in a pty; type ^C once ``interrupt_when(output)``; (exit status, output)."""
    env = clean_env()
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child becomes mix-mcp
        os.execve(sys.executable, [sys.executable, "-m", "mix_mcp", *args], env)  # noqa: S606
    output = b""
    interrupted = False
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not interrupted and interrupt_when is not None and interrupt_when(output):
                os.write(fd, INTERRUPT)
                interrupted = True
            ready, _, _ = select.select([fd], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
        else:
            os.kill(pid, 9)
            pytest.fail(f"mix-mcp did not finish within {timeout} s: {output[-2000:]!r}")
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    return os.waitstatus_to_exitcode(status), output.decode(errors="replace")


@contextmanager
def silent_mix() -> Iterator[tuple[str, threading.Event]]:
    """A 'Mix' that accepts connections and never answers; the event is set once a request arrives."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    asked = threading.Event()
    held: list[socket.socket] = []

    def accept() -> None:
        try:
            connection, _ = server.accept()
        except OSError:
            return
        held.append(connection)
        connection.recv(65536)
        asked.set()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}", asked
    finally:
        server.close()
        for connection in held:
            connection.close()
        thread.join(5)


def test_run_phases_go_to_stderr_as_plain_lines_and_stdout_keeps_the_result() -> None:
    done = run_cli(
        "call",
        "send_message",
        f"session_id={DEMO_SESSION_ID}",
        "text=hello",
        "--emulator",
        "--emulator-mode",
        "private",
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "completed"  # stdout: the result and nothing else
    phases = [line for line in done.stderr.splitlines() if line.startswith("mix-mcp: send_message: ")]
    # The first phase: before Mix's first event, or its first event (Mix's record of the user's message).
    assert phases[0] in ("mix-mcp: send_message: waiting for the agent", "mix-mcp: send_message: message received")
    assert "mix-mcp: send_message: running tool ReadText" in phases
    assert phases[-1] == "mix-mcp: send_message: completed"
    assert all(a != b for a, b in itertools.pairwise(phases))  # one line per phase, not per event
    assert "\r" not in done.stderr and "\x1b[" not in done.stderr  # no terminal codes in a pipe


def test_ctrl_c_during_a_call_prints_one_line_and_exits_130() -> None:
    with silent_mix() as (url, asked):
        status, output = in_terminal(
            ["call", "list_sessions", "--base-url", url], interrupt_when=lambda _: asked.is_set(), timeout=30
        )
    assert status == 130, output
    assert "Traceback" not in output
    lines = [line.removeprefix("^C") for line in output.replace("\r", "\n").splitlines() if line.strip()]
    assert lines == ["mix-mcp call: interrupted; list_sessions stopped"], output


@pytest.mark.slow
def test_a_terminal_gets_one_live_progress_line_erased_before_the_result() -> None:
    started = run_cli("emulator", "start", "--agent-step-delay", "0.15")
    assert started.returncode == 0, started.stderr
    session = call_json("create_session", "title=Live progress", "--emulator")["id"]
    status, output = in_terminal(["call", "send_message", f"session_id={session}", "text=hello", "--emulator"])
    assert status == 0, output
    assert "\r\x1b[K" in output  # the line is redrawn in place
    assert "send_message: thinking (" in output and "send_message: running tool ReadText (" in output
    before, _, result = output.rpartition("\r\x1b[K")
    assert json.loads(result)["status"] == "completed"  # the line was erased, then the result printed
    assert "\n" not in before.replace("\r\n", "")  # progress never scrolled: one line, redrawn


@pytest.mark.slow
def test_ctrl_c_during_send_message_cancels_the_run_in_mix() -> None:
    started = run_cli("emulator", "start", "--agent-step-delay", "0.5")  # a run takes about 9 s
    assert started.returncode == 0, started.stderr
    session = call_json("create_session", "title=Interrupted", "--emulator")["id"]
    status, output = in_terminal(
        ["call", "send_message", f"session_id={session}", "text=hello there", "--emulator"],
        interrupt_when=lambda seen: b"thinking" in seen,
    )
    assert status == 130, output
    assert "Traceback" not in output
    tail = output.rpartition("\r\x1b[K")[2].strip()
    assert tail == (
        "mix-mcp call: interrupted; send_message stopped and asked Mix to cancel the agent run it was following "
        f"in session {session} (list_messages shows what the run wrote)"
    )
    idle = call_json("cancel_run", f"session_id={session}", "--emulator")
    assert idle["cancelled"] is False  # nothing runs any more ...
    messages = call_json("list_messages", f"session_id={session}", "--emulator")
    assert "You said: hello there" not in json.dumps(messages)  # ... and the run never finished its answer
