"""``python -m mix_mcp.emulator``: the same as ``mix-mcp emulator``, without needing the CLI entry point."""

from __future__ import annotations

import sys

from mix_mcp.emulator.runner import main

if __name__ == "__main__":
    sys.exit(main())
