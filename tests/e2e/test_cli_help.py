"""``--help`` reads the way people think: flags grouped by purpose, the top level ending with examples."""

from __future__ import annotations

import re

from mix_mcp.cli.help_sections import HELP_SECTIONS
from mix_mcp.config import SETTINGS
from tests.support import run_cli


def _sections(help_text: str) -> dict[str, list[str]]:
    """Heading -> the flags listed under it, in the order shown."""
    sections: dict[str, list[str]] = {}
    current = ""
    for line in help_text.splitlines():
        if re.match(r"^\S.*:$", line):
            current = line[:-1]
            sections[current] = []
        elif (flag := re.match(r"^  (--[a-z-]+)", line)) and current:
            sections[current].append(flag.group(1))
    return sections


def test_serve_help_groups_the_flags_by_purpose() -> None:
    completed = run_cli("serve", "--help")
    assert completed.returncode == 0
    sections = _sections(completed.stdout)
    expected = [
        "Mix connection",
        "Tool selection and confirmation",
        "Network serving and security",
        "Logging and tracing",
    ]
    assert [title for title in sections if title in expected] == expected
    assert sections["Mix connection"][:3] == ["--base-url", "--api-key", "--header"]
    assert "--emulator" in sections["Mix connection"]
    assert sections["Tool selection and confirmation"] == [
        "--read-only",
        "--tools",
        "--exclude-tools",
        "--confirm-destructive",
    ]
    assert {"--transport", "--port", "--auth-token", "--allowed-hosts"} <= set(sections["Network serving and security"])
    assert sections["Logging and tracing"] == ["--log-level", "--log-format"]
    listed = [flag for flags in sections.values() for flag in flags]
    assert sorted(listed) == sorted({*listed}), "a flag is listed twice"
    assert {s.flag for s in SETTINGS if s.group in ("mix", "serve")} <= set(listed), "a serve setting is missing"


def test_call_help_has_no_network_section() -> None:
    sections = _sections(run_cli("call", "--help").stdout)
    assert "Network serving and security" not in sections
    assert "--read-only" in sections["Tool selection and confirmation"]


def test_every_section_names_only_settings_that_exist() -> None:
    names = {s.name for s in SETTINGS}
    for section in HELP_SECTIONS:
        assert set(section.settings) <= names, section.title
