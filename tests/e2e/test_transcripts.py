"""export_session's shaping, end to end: mcp Client <-> `mix-mcp serve` (stdio) <-> emulator with 2,000 messages."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from mcp import Client

from mix_mcp.emulator import DEMO_SESSION_ID, LARGE_SESSION_ID
from tests.e2e.conftest import LARGE_MESSAGES
from tests.support import PROTOCOL_MODES, SchemaChecker, stdio_client_for, text_of

HEADING = re.compile(r"^## \[(\d+)\] (\w+) · (\S+)$", re.MULTILINE)


class Exporter:
    """Calls export_session, checks every result against the advertised outputSchema."""

    def __init__(self, client: Client, checker: SchemaChecker) -> None:
        self.client = client
        self.checker = checker

    async def __call__(self, **arguments: Any) -> tuple[dict[str, Any], str]:
        result = await self.client.call_tool("export_session", arguments)
        return self.checker.check("export_session", result), text_of(result)


async def _exporter(client: Client) -> Exporter:
    return Exporter(client, SchemaChecker(await client.list_tools()))


@pytest.mark.anyio
@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_each_shaping_option_on_a_2000_message_session(large_emulator_url: str, mode: str) -> None:
    async with stdio_client_for("--base-url", large_emulator_url, mode=mode) as client:
        export = await _exporter(client)

        full, full_text = await export(session_id=LARGE_SESSION_ID, unbounded=True)
        messages = full["messages"]
        assert full["total_messages"] == len(messages) == LARGE_MESSAGES
        assert [m["index"] for m in messages] == list(range(LARGE_MESSAGES))
        assert full["window"] == {"offset": 0, "limit": None, "returned": LARGE_MESSAGES, "next_offset": None}
        assert full["truncated"] is False and full["next_arguments"] is None
        assert json.loads(full_text) == full
        assert all(m["toolCalls"][0]["result"] == "12 passed" for m in messages[1::2])

        window, _ = await export(session_id=LARGE_SESSION_ID, offset=100, limit=20)
        assert [m["index"] for m in window["messages"]] == list(range(100, 120))
        assert window["messages"] == messages[100:120]
        assert window["window"] == {"offset": 100, "limit": 20, "returned": 20, "next_offset": 120}
        assert window["next_arguments"] == {"session_id": LARGE_SESSION_ID, "limit": 20, "offset": 120}

        tail, _ = await export(session_id=LARGE_SESSION_ID, after_message_id=messages[1994]["id"])
        assert [m["index"] for m in tail["messages"]] == list(range(1995, 2000))
        assert tail["window"]["offset"] == 1995 and tail["window"]["next_offset"] is None

        users, _ = await export(session_id=LARGE_SESSION_ID, roles=["user"], limit=3, offset=7)
        assert [(m["index"], m["role"]) for m in users["messages"]] == [(8, "user"), (10, "user"), (12, "user")]
        assert users["window"]["next_offset"] == 14

        no_results, _ = await export(session_id=LARGE_SESSION_ID, include_tool_results=False, limit=4)
        assert no_results["messages"][1]["toolCalls"][0]["name"] == "Bash"
        assert all("result" not in call for m in no_results["messages"] for call in m.get("toolCalls", []))

        no_calls, _ = await export(session_id=LARGE_SESSION_ID, include_tool_calls=False, limit=4)
        assert all("toolCalls" not in m for m in no_calls["messages"])

        demo, _ = await export(session_id=DEMO_SESSION_ID, include_reasoning=False)
        assert demo["total_messages"] == len(demo["messages"]) == 12
        assert all("reasoning" not in m for m in demo["messages"])
        assert "tool" not in {
            m["role"] for m in (await export(session_id=DEMO_SESSION_ID, include_tool_results=False))[0]["messages"]
        }

        capped, capped_text = await export(session_id=LARGE_SESSION_ID, max_chars=20_000)
        assert len(capped_text) <= 20_000 and capped["truncated"] is True
        assert capped["messages"] == messages[: capped["window"]["returned"]]
        assert capped["next_arguments"] == {
            "session_id": LARGE_SESSION_ID,
            "max_chars": 20_000,
            "offset": capped["window"]["next_offset"],
        }

        bad = await client.call_tool("export_session", {"session_id": LARGE_SESSION_ID, "after_message_id": "msg_x"})
        assert bad.is_error and "after_message_id 'msg_x' is not a message" in text_of(bad)
        both = await client.call_tool(
            "export_session", {"session_id": LARGE_SESSION_ID, "offset": 1, "after_message_id": "msg_x"}
        )
        assert both.is_error and "either offset or after_message_id" in text_of(both)


@pytest.mark.anyio
@pytest.mark.parametrize(
    "options",
    [{"max_chars": 60_000}, {"format": "markdown", "max_chars": 50_000}, {"roles": ["assistant"], "limit": 400}],
    ids=["json-max-chars", "markdown-max-chars", "roles-limit"],
)
async def test_following_next_arguments_reads_every_message_exactly_once(
    large_emulator_url: str, options: dict[str, Any]
) -> None:
    async with stdio_client_for("--base-url", large_emulator_url, mode="auto") as client:
        export = await _exporter(client)
        full, _ = await export(session_id=LARGE_SESSION_ID, unbounded=True)
        wanted = [m for m in full["messages"] if m["role"] in options.get("roles", ("user", "assistant"))]

        arguments: dict[str, Any] | None = {"session_id": LARGE_SESSION_ID, **options}
        seen: list[tuple[int, str]] = []
        previous_next: int | None = None
        windows = 0
        while arguments is not None:
            windows += 1
            assert windows <= 100, "the windows never reach the end"
            result, text = await export(**arguments)
            if "max_chars" in options:
                assert len(text) <= options["max_chars"]
            if result["format"] == "markdown":
                found = [(int(i), message_id) for i, _role, message_id in HEADING.findall(text)]
            else:
                found = [(m["index"], m["id"]) for m in result["messages"]]
            assert len(found) == result["window"]["returned"]
            if seen:
                assert found[0][0] == previous_next, "a window must start exactly where the last one said"
            seen += found
            previous_next = result["window"]["next_offset"]
            arguments = result["next_arguments"]
        assert windows > 2
        assert seen == [(m["index"], m["id"]) for m in wanted]


@pytest.mark.anyio
@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_markdown_indexes_and_ids_drive_fork_and_rewind(large_emulator_url: str, mode: str) -> None:
    async with stdio_client_for("--base-url", large_emulator_url, mode=mode) as client:
        checker = SchemaChecker(await client.list_tools())
        export = Exporter(client, checker)

        _, text = await export(session_id=LARGE_SESSION_ID, format="markdown", offset=1990, limit=5)
        headings = HEADING.findall(text)
        assert [int(i) for i, _, _ in headings] == [1990, 1991, 1992, 1993, 1994]
        fork_at = int(headings[2][0])

        fork = checker.check(
            "fork_session",
            await client.call_tool(
                "fork_session", {"session_id": LARGE_SESSION_ID, "message_index": fork_at, "title": f"fork {mode}"}
            ),
        )
        try:
            forked, _ = await export(session_id=fork["id"], limit=1)
            assert forked["total_messages"] == fork_at + 1

            _, fork_text = await export(session_id=fork["id"], format="markdown", offset=fork_at - 3)
            fork_headings = HEADING.findall(fork_text)
            assert [int(i) for i, _, _ in fork_headings] == list(range(fork_at - 3, fork_at + 1))
            keep_index, _, keep_id = fork_headings[1]
            rewound = checker.check(
                "rewind_session",
                await client.call_tool("rewind_session", {"session_id": fork["id"], "message_id": keep_id}),
            )
            assert rewound["id"] == fork["id"]
            after, _ = await export(session_id=fork["id"], offset=int(keep_index) - 1)
            assert after["total_messages"] == int(keep_index) + 1
            assert after["messages"][-1]["id"] == keep_id
        finally:
            await client.call_tool("delete_session", {"session_id": fork["id"]})


@pytest.mark.anyio
@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_export_reports_progress_to_a_client_that_asks(large_emulator_url: str, mode: str) -> None:
    reports: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        reports.append((progress, total, message))

    async with stdio_client_for("--base-url", large_emulator_url, mode=mode) as client:
        result = await client.call_tool(
            "export_session", {"session_id": LARGE_SESSION_ID}, progress_callback=on_progress
        )
        assert not result.is_error
    assert len(reports) >= 2
    values = [progress for progress, _, _ in reports]
    assert values == sorted(values) and len(set(values)) == len(values), "progress only grows"
    final, total, message = reports[-1]
    assert total is not None and final == total > 1_000_000
    assert message is not None and "bytes of Mix's answer received" in message
