"""Reading the project's Markdown the way GitHub renders it: fences, headings (anchors) and links.

Kept apart from the tests so that both the link checks and the runnable-command test share one parser.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The fence info string that marks a shell block whose every line runs in CI.
RUNNABLE_INFO = "sh runnable"
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})(.*)$")
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_INLINE_CODE = re.compile(r"(`+)(.+?)\1")


def markdown_files() -> list[Path]:
    """The README and every page under docs/."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@dataclass(frozen=True)
class Fence:
    info: str
    start: int  # 1-based line of the opening fence
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Parsed:
    fences: tuple[Fence, ...]
    problems: tuple[str, ...]
    prose: tuple[tuple[int, str], ...]  # (1-based line number, text) of every line outside fences


def parse(text: str) -> Parsed:
    """Split ``text`` into fenced blocks and prose, noting every fence that is never closed.

    A fence line with an info string inside an open fence cannot close it (CommonMark), so it is
    reported: it almost always means the fence above was left open and swallowed the text after it.
    """
    fences: list[Fence] = []
    problems: list[str] = []
    prose: list[tuple[int, str]] = []
    opening: tuple[str, str, int] | None = None
    body: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = _FENCE.match(line)
        if opening is None:
            if match:
                opening = (match.group(1), match.group(2).strip(), number)
                body = []
            else:
                prose.append((number, line))
            continue
        marker, info, start = opening
        if match and match.group(1)[0] == marker[0] and len(match.group(1)) >= len(marker):
            if not match.group(2).strip():
                fences.append(Fence(info, start, tuple(body)))
                opening = None
                continue
            problems.append(f"line {number} opens a fence inside the one opened at line {start}: close that first")
        body.append(line)
    if opening is not None:
        problems.append(f"the fence opened at line {opening[2]} is never closed")
    return Parsed(tuple(fences), tuple(problems), tuple(prose))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: inline code unwrapped, lower case, punctuation dropped, spaces to '-'."""
    text = _INLINE_CODE.sub(lambda m: m.group(2), heading).strip().lower()
    kept = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in "LN")
    return kept.replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every anchor the headings of ``text`` get (a repeated heading gets -1, -2, ...)."""
    seen: dict[str, int] = {}
    found: set[str] = set()
    for _, line in parse(text).prose:
        match = _HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def relative_links(text: str) -> list[tuple[int, str]]:
    """(line, target) of every link outside code that points inside the repository."""
    links = []
    for number, line in parse(text).prose:
        for target in _LINK.findall(_INLINE_CODE.sub("", line)):
            if not re.match(r"^[a-z][a-z0-9+.-]*:", target):
                links.append((number, target))
    return links


def runnable_blocks() -> list[tuple[str, Fence]]:
    """(file relative to the root, block) of every block marked runnable, in every Markdown file."""
    return [
        (str(path.relative_to(ROOT)), fence)
        for path in markdown_files()
        for fence in parse(path.read_text(encoding="utf-8")).fences
        if fence.info == RUNNABLE_INFO
    ]


def commands(fence: Fence) -> list[str]:
    """The shell commands of a block: one per line, a trailing backslash joining the next, comments skipped."""
    result: list[str] = []
    pending = ""
    for line in fence.lines:
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        command = (pending + line).strip()
        pending = ""
        if command and not command.startswith("#"):
            result.append(command)
    return result
