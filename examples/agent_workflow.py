"""A scripted agent: launch mix-mcp over stdio on the built-in emulator and branch a conversation.

Run it with ``python examples/agent_workflow.py`` (or pass ``--base-url URL`` to use a real Mix).
It creates a session, exports a seeded transcript, forks it at a message index, rewinds the fork
to a message id, and deletes what it created.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import anyio
from mcp import Client, StdioServerParameters


def _server(argv: list[str]) -> StdioServerParameters:
    target = argv if argv else ["--emulator"]
    # This environment, not the client's minimal default: --emulator finds the per-user emulator through
    # MIX_MCP_HOME / XDG_DATA_HOME, like every other mix-mcp command run from this shell.
    return StdioServerParameters(command=sys.executable, args=["-m", "mix_mcp", "serve", *target], env=dict(os.environ))


async def run(argv: list[str]) -> dict[str, Any]:
    async with Client(_server(argv)) as client:

        async def call(tool: str, **arguments: Any) -> dict[str, Any]:
            result = await client.call_tool(tool, arguments)
            if result.is_error:
                raise RuntimeError(getattr(result.content[0], "text", "tool error"))
            assert isinstance(result.structured_content, dict)
            return result.structured_content

        created = await call("create_session", title="Scripted agent scratchpad")
        sessions = (await call("list_sessions"))["sessions"]
        source = next(s for s in sessions if s["userMessageCount"] >= 2)
        messages = (await call("export_session", session_id=source["id"]))["messages"]
        fork = await call("fork_session", session_id=source["id"], message_index=len(messages) - 2, title="Branch")
        fork_messages = (await call("export_session", session_id=fork["id"]))["messages"]
        rewound = await call("rewind_session", session_id=fork["id"], message_id=fork_messages[0]["id"])
        for session_id in (fork["id"], created["id"]):
            await call("delete_session", session_id=session_id)
        return {
            "source": source["title"],
            "source_messages": len(messages),
            "fork_messages": len(fork_messages),
            "after_rewind_user_messages": rewound["userMessageCount"],
        }


def main() -> None:
    summary = anyio.run(run, sys.argv[1:])
    for key, value in summary.items():
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()
