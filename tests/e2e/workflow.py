"""The eight-tool agent workflow, run by every transport's end-to-end test."""

from __future__ import annotations

from typing import Any

from mcp import Client

from tests.support import SchemaChecker


async def run_full_workflow(client: Client, label: str) -> None:
    """create -> get -> update callbacks -> export -> list -> fork -> rewind -> delete, each result schema-checked."""
    checker = SchemaChecker(await client.list_tools())

    async def call(tool: str, **arguments: Any) -> dict[str, Any]:
        return checker.check(tool, await client.call_tool(tool, arguments))

    created = await call("create_session", title=f"e2e {label}", prompt_mode="append", custom_system_prompt="Be brief.")
    assert created["sessionType"] == "main" and created["title"] == f"e2e {label}"
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
    source = next(s for s in listed["sessions"] if s["sessionType"] == "main" and s["userMessageCount"] >= 2)

    transcript = await call("export_session", session_id=source["id"])
    messages = transcript["messages"]
    assert len(messages) >= 4
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
