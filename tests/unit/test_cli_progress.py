"""The command line's own pieces for item-sized behaviours: the progress line, the one-line interrupt,
and the warnings about per-user emulator flags given without --emulator."""

from __future__ import annotations

import io

import pytest

from mix_mcp.cli.command import _interrupted, _settings_from, build_parser
from mix_mcp.cli.ineffective import ineffective_flags
from mix_mcp.cli.progress import ProgressLine

pytestmark = pytest.mark.anyio


async def test_off_a_terminal_each_new_phase_is_one_plain_line() -> None:
    out = io.StringIO()
    line = ProgressLine("send_message", out, live=False)
    for events, phase in [(1, "thinking"), (2, "thinking"), (3, "running tool Bash"), (4, "thinking")]:
        await line(events, None, phase)
    line.clear()
    assert out.getvalue().splitlines() == [
        "mix-mcp: send_message: thinking",
        "mix-mcp: send_message: running tool Bash",
        "mix-mcp: send_message: thinking",
    ]


async def test_on_a_terminal_one_line_is_redrawn_and_erased_at_the_end() -> None:
    out = io.StringIO()
    line = ProgressLine("send_message", out, live=True)
    await line(1, None, "thinking")
    await line(5, None, "writing the answer")
    line.clear()
    text = out.getvalue()
    assert "\n" not in text
    assert "send_message: thinking (1 event, 0 s)" in text and "writing the answer (5 events, 0 s)" in text
    assert text.endswith("\r\x1b[K")  # erased: what follows starts on a clean line


async def test_download_progress_of_other_tools_stays_off_a_pipe() -> None:
    out = io.StringIO()
    line = ProgressLine("list_sessions", out, live=False, plain=False)
    await line(2646, None, "2,646 of 2,646 bytes of Mix's answer received")
    assert out.getvalue() == ""


def test_an_interrupt_is_one_line_naming_the_run_it_cancelled() -> None:
    assert _interrupted("send_message", {"session_id": "s1"}) == (
        "mix-mcp call: interrupted; send_message stopped and asked Mix to cancel the agent run it was following in "
        "session s1 (list_messages shows what the run wrote)"
    )
    assert _interrupted("list_sessions", {}) == "mix-mcp call: interrupted; list_sessions stopped"


def test_emulator_flags_without_emulator_are_reported() -> None:
    ns = build_parser().parse_args(["call", "list_sessions", "--emulator-mode", "private", "--home", "/tmp/x"])
    assert ineffective_flags("call", ns, _settings_from(ns)) == [
        "mix-mcp: warning: --emulator-mode and --home have no effect without --emulator: they choose which "
        "built-in emulator is used"
    ]
    ns = build_parser().parse_args(["call", "list_sessions", "--emulator", "--emulator-mode", "private"])
    assert ineffective_flags("call", ns, _settings_from(ns)) == []
