"""The ``mix-mcp`` command: flags -> Settings -> the chosen action; doctor; client registration snippets.

Top layer: it may use every folder below it (serving, tools, mix, observe) and the emulator.
"""

from mix_mcp.cli.command import main

__all__ = ["main"]
