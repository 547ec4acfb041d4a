"""The README's test command is the one CI runs, verbatim, and the slow tests it leaves out run right after.

A newcomer's first command (install, then the quick tests) must be exactly what ``.ci/run`` runs, so that
what the README promises is what CI proves; docs/development.md shows the same line.
"""

from __future__ import annotations

import shlex

from tests.markdown_docs import ROOT, parse

CI = ROOT / ".ci" / "run"


def _pytest_lines(path_text: str) -> list[str]:
    return [
        line.strip() for line in path_text.splitlines() if "-m pytest" in line and not line.lstrip().startswith("#")
    ]


def readme_test_command() -> str:
    """The one pytest line in the README's Quickstart."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    quickstart = text.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    (line,) = [line for fence in parse(quickstart).fences for line in _pytest_lines("\n".join(fence.lines))]
    return line


def test_the_readme_test_command_is_quick_and_installs_what_it_needs() -> None:
    command = readme_test_command()
    assert command.startswith("python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && ")
    pytest_words = shlex.split(command.rsplit("&&", 1)[1])
    assert pytest_words[:3] == [".venv/bin/python", "-m", "pytest"]
    assert pytest_words[pytest_words.index("-m", 3) + 1] == "not slow"


def test_ci_runs_the_readme_command_verbatim_then_the_slow_tests() -> None:
    command = readme_test_command()
    ci = _pytest_lines(CI.read_text(encoding="utf-8"))
    assert ci[0] == command, f".ci/run runs {ci[0]!r}, the README says {command!r}"
    rest = shlex.split(ci[1])
    assert rest[:3] == [".venv/bin/python", "-m", "pytest"] and rest[rest.index("-m", 3) + 1] == "slow"
    assert len(ci) == 2
    script = CI.read_text(encoding="utf-8")
    assert "export MIX_MCP_FULL_TESTS=1" in script.split(command, 1)[0]  # both parts fail on a missing part
    for package in ("nginx", "chromium", "redis-server"):
        assert package in script


def test_the_development_page_shows_the_same_command_and_the_slow_part() -> None:
    text = (ROOT / "docs" / "development.md").read_text(encoding="utf-8")
    lines = [line for fence in parse(text).fences for line in _pytest_lines("\n".join(fence.lines))]
    assert readme_test_command() in lines
    assert any(shlex.split(line)[-2:] == ["-m", "slow"] for line in lines)
