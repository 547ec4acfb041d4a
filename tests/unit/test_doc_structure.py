"""The README and docs/ hold together: fences closed, links and anchors resolve, the README stays short."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.markdown_docs import ROOT, anchors, markdown_files, parse, relative_links, slug

FILES = markdown_files()
DOC_PAGES = [
    "configuration.md",
    "reliability.md",
    "security.md",
    "deployment.md",
    "observability.md",
    "emulator.md",
    "performance.md",
    "development.md",
]


def _id(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_every_code_fence_is_closed(path: Path) -> None:
    assert parse(path.read_text(encoding="utf-8")).problems == ()


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_every_relative_link_and_anchor_resolves(path: Path) -> None:
    broken = []
    for line, target in relative_links(path.read_text(encoding="utf-8")):
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            broken.append(f"line {line}: {target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked.read_text(encoding="utf-8")):
            broken.append(f"line {line}: {target}: no heading with that anchor")
    assert broken == []


def test_the_parser_finds_an_unclosed_fence_and_a_broken_anchor() -> None:
    swallowed = "```python\nprint(1)\n\n## Observe\n\n```text\nlog\n```\n"
    assert parse(swallowed).problems
    assert "observe" not in anchors(swallowed)
    assert parse("```sh\nls\n```\n").problems == ()
    assert slug("In one command: `--emulator`") == "in-one-command---emulator"
    assert slug("Traces (OpenTelemetry)") == "traces-opentelemetry"


def test_readme_is_short_and_registers_every_client_in_its_first_hundred_lines() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 300
    head = "\n".join(lines[:100])
    for client in ("Claude Desktop", "Claude Code", "Cursor", "VS Code"):
        assert f"**{client}**" in head
    assert "claude_desktop_config.json" in head and "~/.cursor/mcp.json" in head and ".vscode/mcp.json" in head
    assert '"mcpServers"' in head and '"servers"' in head and "claude mcp add" in head
    assert "restart the app" in head and "--emulator" in head


def test_readme_sections_come_in_the_order_a_newcomer_needs() -> None:
    headings = [line[3:] for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines() if line[:3] == "## "]
    order = ["Quickstart", "Install", "Register with your assistant", "Tools", "Try it from the shell", "Documentation"]
    assert [h for h in headings if h in order] == order


@pytest.mark.parametrize("name", DOC_PAGES)
def test_each_docs_page_is_linked_from_the_readme_and_opens_with_what_a_reader_does_there(name: str) -> None:
    assert f"](docs/{name})" in (ROOT / "README.md").read_text(encoding="utf-8")
    text = (ROOT / "docs" / name).read_text(encoding="utf-8")
    title, blank, first = text.splitlines()[:3]
    assert title.startswith("# ") and blank == ""
    assert re.match(r"^(Read|Look|Use) ", first), first


def _benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location("benchmark_run", ROOT / "benchmarks" / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


def test_performance_tables_have_the_rows_and_columns_the_benchmark_prints() -> None:
    bench = _benchmark()
    text = (ROOT / "docs" / "performance.md").read_text(encoding="utf-8")
    for _, label, _ in bench.METRICS:
        assert f"\n| {label} |" in text
    header = "| metric | sdk-floor | fastmcp-floor | mix-mcp stdio | direct GET |"
    assert header in text
    http_header = bench.render_http([]).splitlines()[0]
    assert http_header in text
    for server in ("sdk-floor", "fastmcp-floor", "openapi-bridge", "mix-mcp"):
        for mode in ("stateful", "stateless"):
            for generation in bench.GENERATIONS:
                assert f"\n| {server} {mode} {generation} |" in text
    scaling_header = bench.render_scaling([("(default)", 1.0, 4.0)], 2_000).splitlines()[0]
    assert scaling_header in text
    assert "--quick" in text
    assert "python benchmarks/run.py" in text and "load average" in text
    assert "about ten minutes" in (ROOT / "benchmarks" / "run.py").read_text(encoding="utf-8")


def test_the_registry_part_says_it_applies_once_published() -> None:
    text = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    registry = text.split("## MCP Registry", 1)[1].split("\n## ", 1)[0]
    assert registry.lstrip().startswith("This applies once mix-mcp is published")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "Once mix-mcp is published on PyPI" in readme
