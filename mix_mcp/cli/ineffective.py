"""Flags that the chosen mode ignores, reported in one warning line instead of silently.

A person who types ``--auth-token`` for a stdio server believes the server is protected; one who
types ``--base-url`` together with ``--emulator`` believes a real Mix is used. Neither is true, and
saying so at start costs one line on stderr.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable

from mix_mcp.config import SETTINGS, Settings

_FLAG = {s.name: s.flag for s in SETTINGS}
#: Settings that only a network transport uses (everything in the "serve" group but the transport itself).
_NETWORK_ONLY = tuple(s.name for s in SETTINGS if s.group == "serve" and s.name != "transport")
#: Settings that decide which tools are published, which doctor does not look at.
_TOOL_SELECTION = ("read_only", "tools", "exclude_tools", "confirm_destructive")


def _given(ns: argparse.Namespace, names: Iterable[str]) -> list[str]:
    """The flags among ``names`` that were typed on this command line."""
    return [_FLAG[name] for name in names if getattr(ns, name, None) not in (None, False, [])]


def _line(flags: list[str], why: str) -> str:
    subject = flags[0] if len(flags) == 1 else ", ".join(flags[:-1]) + " and " + flags[-1]
    verb = "has" if len(flags) == 1 else "have"
    return f"mix-mcp: warning: {subject} {verb} no effect {why}"


def ineffective_flags(command: str, ns: argparse.Namespace, settings: Settings) -> list[str]:
    """One warning line per reason a typed flag is ignored in this mode (empty when all take effect)."""
    warnings = []
    if command == "serve" and settings.transport == "stdio":
        flags = _given(ns, _NETWORK_ONLY)
        if flags:
            warnings.append(_line(flags, "over stdio; they apply with --transport http or sse"))
    if not settings.use_emulator:
        flags = _given(ns, ("emulator_mode", "home"))
        if flags:
            warnings.append(_line(flags, "without --emulator: they choose which built-in emulator is used"))
    if settings.use_emulator and getattr(ns, "base_url", None) is not None:
        warnings.append(_line(["--base-url"], "with --emulator: the built-in emulator stands in for Mix"))
    if command == "doctor":
        flags = _given(ns, _TOOL_SELECTION)
        if flags:
            warnings.append(_line(flags, "on doctor: it checks the connection to Mix, not the tools"))
    if command == "call" and getattr(ns, "db", None) is not None and not settings.use_emulator:
        warnings.append(_line(["--db"], "without --emulator: it holds the built-in emulator's sessions"))
    return warnings
