"""Agent runs: sending a message, following its run on Mix's event stream, and the questions it asks."""

from mix_mcp.tools.runs.tools import *  # noqa: F403
