"""The eight-tool agent workflow, run by every transport's end-to-end test, against each Mix version."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import mcp_types as types
from mcp import Client
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from tests.support import SchemaChecker, text_of


class ToolListChanges:
    """Counts ``notifications/tools/list_changed`` a handshake-era client hears (pass it as message_handler)."""

    def __init__(self) -> None:
        self.count = 0
        self._changed = anyio.Event()

    async def __call__(self, message: Any) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            self.count += 1
            self._changed.set()

    async def wait(self, seconds: float = 30) -> None:
        with anyio.fail_after(seconds):
            await self._changed.wait()


async def expect_tool_list_change(
    client: Client, changes: ToolListChanges, action: Callable[[], Awaitable[Any]]
) -> Any:
    """Run ``action`` and return its result, failing unless the client hears that the tool list changed.

    On the 2026-07-28 protocol the change arrives on a ``subscriptions/listen`` stream; before it, as a
    plain notification.
    """
    if client.protocol_version in MODERN_PROTOCOL_VERSIONS:
        async with client.listen(tools_list_changed=True) as subscription:
            result = await action()
            with anyio.fail_after(30):
                await subscription.__anext__()
            return result
    result = await action()
    await changes.wait()
    return result


async def run_full_workflow(
    client: Client, label: str, *, mix_version: str = "2025-10", changes: ToolListChanges | None = None
) -> None:
    """create -> get -> update callbacks -> export -> list -> fork -> rewind -> delete, each result schema-checked.

    On a Mix without fork (2026-02), fork_session answers once that this Mix does not offer it, then leaves
    the tool list with a list_changed notification (``changes`` hears it), and the rewind works on a
    session of its own instead of a fork.
    """
    checker = SchemaChecker(await client.list_tools())
    offers_fork = mix_version != "2026-02"

    async def call(tool: str, **arguments: Any) -> dict[str, Any]:
        return checker.check(tool, await client.call_tool(tool, arguments))

    extra: dict[str, Any] = {"browser_mode": "local-browser-service"} if mix_version == "2026-02" else {}
    created = await call(
        "create_session", title=f"e2e {label}", prompt_mode="append", custom_system_prompt="Be brief.", **extra
    )
    assert created.get("sessionType", "main") == "main" and created["title"] == f"e2e {label}"
    session_id = created["id"]

    fetched = await call("get_session", session_id=session_id)
    assert fetched["id"] == session_id

    updated = await call(
        "update_session_callbacks",
        session_id=session_id,
        callbacks=[
            {"tool_name": "Bash", "type": "bash_script", "bash_command": "make lint"},
            {"tool_name": "*", "type": "send_message", "message_content": "Run the tests."},
        ],
    )
    assert [c["type"] for c in updated["callbacks"]] == ["bash_script", "send_message"]
    assert updated["callbacks"][0]["bashCommand"] == "make lint"

    empty = await call("export_session", session_id=session_id)
    assert empty["id"] == session_id and empty["messages"] == []

    listed = await call("list_sessions")
    assert listed["count"] == len(listed["sessions"])
    assert session_id in {s["id"] for s in listed["sessions"]}
    source = next(
        s for s in listed["sessions"] if s.get("sessionType", "main") == "main" and s["userMessageCount"] >= 2
    )

    transcript = await call("export_session", session_id=source["id"])
    messages = transcript["messages"]
    assert len(messages) >= 4
    if not offers_fork:
        assert changes is not None
        refused = await expect_tool_list_change(
            client,
            changes,
            lambda: client.call_tool("fork_session", {"session_id": source["id"], "message_index": 1}),
        )
        assert refused.is_error
        assert "This Mix server does not offer fork_session" in text_of(refused)
        assert "fork_session" not in {tool.name for tool in (await client.list_tools()).tools}
        keep = messages[1]["id"]
        await call("rewind_session", session_id=source["id"], message_id=keep)
        after = (await call("export_session", session_id=source["id"]))["messages"]
        assert [m["id"] for m in after] == [m["id"] for m in messages[:2]]
        assert await call("delete_session", session_id=session_id) == {"deleted": True, "session_id": session_id}
        gone = await client.call_tool("get_session", {"session_id": session_id})
        assert gone.is_error
        return
    fork_at = len(messages) - 2
    fork = await call("fork_session", session_id=source["id"], message_index=fork_at, title="e2e branch")
    assert fork["sessionType"] == "forked" and fork["parentSessionId"] == source["id"]
    fork_messages = (await call("export_session", session_id=fork["id"]))["messages"]
    assert [m["content"] for m in fork_messages] == [m["content"] for m in messages[: fork_at + 1]]

    keep = fork_messages[1]["id"]
    rewound = await call("rewind_session", session_id=fork["id"], message_id=keep)
    assert rewound["id"] == fork["id"]
    after = (await call("export_session", session_id=fork["id"]))["messages"]
    assert [m["id"] for m in after] == [m["id"] for m in fork_messages[:2]]
    untouched = (await call("export_session", session_id=source["id"]))["messages"]
    assert len(untouched) == len(messages)

    for doomed in (fork["id"], session_id):
        assert await call("delete_session", session_id=doomed) == {"deleted": True, "session_id": doomed}
    gone = await client.call_tool("get_session", {"session_id": session_id})
    assert gone.is_error
