"""Every shell block marked ```sh runnable in the README and docs/ runs, line by line, as printed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.markdown_docs import ROOT, Fence, commands, parse, runnable_blocks
from tests.support import clean_env

BLOCKS = runnable_blocks()


def _run(command: str, home: Path) -> subprocess.CompletedProcess[str]:
    """One documented line in bash, from the checkout, with this environment's mix-mcp first on the PATH."""
    scripts = Path(sys.executable).parent
    env = clean_env(HOME=str(home), PATH=f"{scripts}{os.pathsep}{os.environ.get('PATH', '')}")
    if not (ROOT / ".venv" / "bin").is_dir():  # tests run from an environment elsewhere: the same scripts
        command = command.replace(".venv/bin/", f"{scripts}/")
    return subprocess.run(
        ["bash", "-c", command],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_docs_mark_commands_runnable() -> None:
    files = {name for name, _ in BLOCKS}
    assert "README.md" in files and len(BLOCKS) >= 4


@pytest.mark.parametrize(("name", "fence"), BLOCKS, ids=[f"{name}:{fence.start}" for name, fence in BLOCKS])
def test_runnable_block(name: str, fence: Fence, tmp_path: Path) -> None:
    for command in commands(fence):
        completed = _run(command, tmp_path)
        assert completed.returncode == 0, f"{name} line {fence.start}: {command}\n{completed.stderr[-2000:]}"


def _normalised(line: str) -> str:
    line = re.sub(r"(ts=|\"time\": \")\d{4}-\d\d-\d\dT[\d:.]+Z", r"\1<time>", line)
    return re.sub(r"(duration_ms=|\"duration_ms\": )[\d.]+", r"\1<ms>", line)


def test_the_logs_example_is_what_the_commands_print(tmp_path: Path) -> None:
    text = (ROOT / "docs" / "observability.md").read_text(encoding="utf-8")
    section = text.split("## Logs", 1)[1]
    fences = parse(section).fences
    runnable = next(f for f in fences if f.info == "sh runnable")
    shown = next(f for f in fences if f.info == "text")
    printed = [
        next(line for line in _run(command, tmp_path).stderr.splitlines() if line.startswith(("ts=", "{")))
        for command in commands(runnable)
    ]
    assert [_normalised(line) for line in printed] == [_normalised(line) for line in shown.lines]
