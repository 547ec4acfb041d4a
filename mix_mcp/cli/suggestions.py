"""'Did you mean' for a mistyped flag: the closest option of the subcommand that was typed."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from mix_mcp.suggestions import closest


def unrecognized(unknown: Sequence[str], parser: argparse.ArgumentParser) -> str:
    """The error text for arguments the parser did not take, with the nearest flag for each mistyped one."""
    options = [option for action in parser._actions for option in action.option_strings if option.startswith("--")]
    hints = []
    for word in unknown:
        flag = word.split("=", 1)[0]
        if not flag.startswith("-"):
            continue
        close = closest(flag, options)
        if close is not None:
            hints.append(f"{flag}: did you mean {close}?")
    text = f"unrecognized arguments: {' '.join(unknown)}"
    return f"{text} ({'; '.join(hints)})" if hints else text
