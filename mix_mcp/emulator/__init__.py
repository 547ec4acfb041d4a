"""A local emulator of Mix's sessions REST API.

It lets mix-mcp be tried, tested and benchmarked without a Mix installation, and answers the way the
contract says Mix does: same paths, statuses, bodies and error envelopes. With ``--mix-version`` it plays
a given Mix release instead, quirks included (``profiles`` says what each one does). It depends only on the
contract modules (``mix_mcp.mix.models``, ``mix_mcp.mix.endpoints``), Starlette and uvicorn, never on the
client it is used to test.
"""

from __future__ import annotations

from mix_mcp.emulator.app import create_app
from mix_mcp.emulator.runner import BackgroundEmulator, main, serve_emulator
from mix_mcp.emulator.seed import (
    CALLBACKS_SESSION_ID,
    DEMO_SESSION_ID,
    EMPTY_SESSION_ID,
    FORKED_SESSION_ID,
    LARGE_SESSION_ID,
    MIGRATION_SESSION_ID,
    SEED_MAIN_SESSION_IDS,
    SEED_SESSION_IDS,
    SUBAGENT_SESSION_ID,
    SUBAGENT_TOOL_CALL_ID,
    seed_demo_data,
    seed_large_session,
)
from mix_mcp.emulator.store import SessionStore

__all__ = [
    "CALLBACKS_SESSION_ID",
    "DEMO_SESSION_ID",
    "EMPTY_SESSION_ID",
    "FORKED_SESSION_ID",
    "LARGE_SESSION_ID",
    "MIGRATION_SESSION_ID",
    "SEED_MAIN_SESSION_IDS",
    "SEED_SESSION_IDS",
    "SUBAGENT_SESSION_ID",
    "SUBAGENT_TOOL_CALL_ID",
    "BackgroundEmulator",
    "SessionStore",
    "create_app",
    "main",
    "seed_demo_data",
    "seed_large_session",
    "serve_emulator",
]
