"""The README's registration blocks are what ``mix-mcp config CLIENT --emulator`` prints: same command line,
same environment, the printed path standing as the README's placeholder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.markdown_docs import ROOT, parse
from tests.support import clean_env

PLACEHOLDER = "/ABSOLUTE/PATH/TO/.venv/bin/mix-mcp"
#: The bold label above each block in the README's "Register with your assistant".
LABELS = {"Claude Desktop": "claude-desktop", "Claude Code": "claude-code", "Cursor": "cursor", "VS Code": "vscode"}


def _readme_blocks() -> dict[str, str]:
    """Each client's block in the README, by the bold label of the paragraph above it."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Register with your assistant", 1)[1].split("\n## ", 1)[0]
    parsed = parse(section)
    blocks: dict[str, str] = {}
    for fence in parsed.fences:
        above = [line for number, line in parsed.prose if number < fence.start and line.startswith("**")]
        if not above:
            continue
        label = above[-1][2:].split("**", 1)[0]
        if label in LABELS and LABELS[label] not in blocks:
            blocks[LABELS[label]] = "\n".join(fence.lines)
    return blocks


def _printed(client: str, script: Path) -> str:
    completed = subprocess.run(
        [str(script), "config", client, "--emulator"],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.replace(str(script), PLACEHOLDER).strip()


@pytest.mark.parametrize("client", sorted(LABELS.values()))
def test_readme_registration_block_is_what_config_prints(client: str) -> None:
    script = Path(sys.executable).parent / "mix-mcp"
    if not script.is_file():
        pytest.skip("the mix-mcp console script is not installed beside this Python (pip install -e .)")
    blocks = _readme_blocks()
    assert sorted(blocks) == sorted(LABELS.values())
    printed = _printed(client, script)
    assert PLACEHOLDER in printed
    if client == "claude-code":
        assert blocks[client] == printed
    else:
        assert json.loads(blocks[client]) == json.loads(printed)


def test_readme_says_where_the_printed_path_comes_from() -> None:
    text = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert "The blocks below are what `mix-mcp config CLIENT --emulator` prints" in text
    assert "`~/.local/bin/mix-mcp` spelled out in full" in text
