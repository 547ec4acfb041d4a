"""'Did you mean': the closest of the names something knows, for a name it does not.

Shared by every layer that refuses a name (the MCP server for a tool, the command line for a tool,
an argument or a flag), so that a near miss gets the same help wherever it is made.
"""

from __future__ import annotations

from collections.abc import Iterable


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice nearest to ``word``, or ``None`` when none is near enough to be a typo of it."""
    import difflib  # only when a name is refused: not worth its import at every start

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return close[0] if close else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` Did you mean 'x'?`` for the closest choice, or nothing when none is close."""
    found = closest(word, choices)
    return f" Did you mean {found!r}?" if found is not None else ""
