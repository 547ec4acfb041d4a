"""What a model sees, end to end: mcp Client <-> `mix-mcp serve` (stdio) <-> emulator, both protocol generations.

Lenient inputs (``null`` and strict-mode argument sets), results complete in either form, bounded
default pages, sanitised and optionally spotlighted transcripts, and the protocol details (unknown
tool, icons, cache hints).
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import jsonschema
import mcp_types as types
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from mix_mcp.emulator import DEMO_SESSION_ID, LARGE_SESSION_ID, SUBAGENT_SESSION_ID
from mix_mcp.tools.rendering import compact_json
from tests.e2e.conftest import CROWDED_SESSIONS, HIDDEN, HOSTILE_SESSION_ID, LARGE_MESSAGES, hidden
from tests.support import ALL_TOOLS, PROTOCOL_MODES, SchemaChecker, stdio_client_for, text_of

#: Session files need a Mix from Feb 2026 on, and these tests run on the 2025-10 emulator (they fork);
#: tests/e2e/test_session_files.py holds the file tools to the same standards there.
FILE_TOOLS = ("list_session_files", "read_session_file", "upload_session_file", "delete_session_file")
NO_FILES = ("--exclude-tools", ",".join(FILE_TOOLS))
SESSION_TOOLS = [name for name in ALL_TOOLS if name not in FILE_TOOLS]

BOUNDARY = re.compile(r"<untrusted-([0-9a-f]{16})>")


def assert_complete(result: Any, schema: dict[str, Any]) -> dict[str, Any]:
    """Each form of a successful result holds everything on its own: the text is the structured content
    (as JSON), or for a Markdown transcript the very Markdown, whose text holds totals and next_arguments."""
    assert not result.is_error, text_of(result)
    structured = result.structured_content
    assert isinstance(structured, dict)
    jsonschema.validate(structured, schema)
    text = text_of(result)
    if structured.get("format") == "markdown":
        assert structured["markdown"] == text
        assert f"{structured['total_messages']:,} messages" in text
        if structured["next_arguments"] is not None:
            assert compact_json(structured["next_arguments"]) in text
        if structured["truncated"]:
            assert "truncated" in text
    else:
        assert json.loads(text) == structured
    return structured


def assert_error_stands_alone(result: Any, *words: str) -> str:
    """An error's text says what went wrong and what to do, with nothing in structured content to lean on."""
    assert result.is_error
    assert result.structured_content is None
    text = text_of(result)
    assert len(text) > 40
    for word in words:
        assert word in text, text
    return text


async def _ids(client: Client) -> tuple[str, str, str]:
    """A fresh session (copied from the demo) and one of its message ids, for the tools that change things."""
    fork = _structured(await client.call_tool("fork_session", {"session_id": DEMO_SESSION_ID, "message_index": 3}))
    session_id = str(fork["id"])
    export = _structured(await client.call_tool("export_session", {"session_id": session_id, "limit": 2}))
    message_id = str(export["messages"][1]["id"])
    victim = _structured(await client.call_tool("create_session", {"title": "to delete"}))
    return session_id, message_id, str(victim["id"])


#: What the emulator's scripted agent answers to "hello agent", and to a granted "run: make test".
HELLO_ANSWER = "You said: hello agent. I read README.md, which says hello."
MAKE_TEST_ANSWER = "I ran `make test` and it printed (pretend output of make test)."


async def _session(client: Client, title: str) -> str:
    """A fresh, empty session's id."""
    return str(_structured(await client.call_tool("create_session", {"title": title}))["id"])


async def _pending_run(client: Client, title: str) -> dict[str, Any]:
    """A run in a fresh session that waits for permission to run a command (the client cannot ask the user)."""
    session_id = await _session(client, title)
    pending = _structured(await client.call_tool("send_message", {"session_id": session_id, "text": "run: make test"}))
    assert pending["status"] == "permission_pending", pending
    return pending


def _structured(result: Any) -> dict[str, Any]:
    assert not result.is_error, text_of(result)
    structured = result.structured_content
    assert isinstance(structured, dict)
    return structured


def _required(tool: str, session_id: str, message_id: str, victim: str, permission_id: str) -> dict[str, Any]:
    required: dict[str, dict[str, Any]] = {
        "list_sessions": {},
        "create_session": {"title": "made by a lenient client"},
        "get_session": {"session_id": session_id},
        "delete_session": {"session_id": victim},
        "update_session_callbacks": {"session_id": session_id, "callbacks": []},
        "export_session": {"session_id": session_id},
        "fork_session": {"session_id": session_id, "message_index": 0},
        "rewind_session": {"session_id": session_id, "message_id": message_id},
        "send_message": {"session_id": session_id, "text": "hello agent"},
        "answer_permission": {"permission_id": permission_id, "grant": True},
        "cancel_run": {"session_id": session_id},
        "list_messages": {"session_id": session_id},
    }
    return required[tool]


@pytest.mark.anyio
@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_null_for_every_optional_argument_means_left_out(emulator_url: str, mode: str) -> None:
    async with stdio_client_for("--base-url", emulator_url, *NO_FILES, mode=mode) as client:
        listed = await client.list_tools()
        checker = SchemaChecker(listed)
        session_id, message_id, victim = await _ids(client)
        pending = await _pending_run(client, "null run")
        (permission,) = pending["permissions"]
        results = {}
        for tool in listed.tools:
            arguments = _required(tool.name, session_id, message_id, victim, permission["id"])
            required = set(tool.input_schema.get("required", []))
            # Every optional argument the call does not need (send_message needs text or follow_from_event_id).
            nulls = {name: None for name in tool.input_schema["properties"] if name not in required | set(arguments)}
            no_options = (
                "get_session",
                "delete_session",
                "update_session_callbacks",
                "answer_permission",
                "cancel_run",
            )
            assert nulls or tool.name in no_options, tool.name
            result = await client.call_tool(tool.name, {**arguments, **nulls})
            results[tool.name] = checker.check(tool.name, result)
        assert sorted(results) == sorted(SESSION_TOOLS)
        assert results["send_message"]["status"] == "completed" and results["send_message"]["text"] == HELLO_ANSWER
        assert results["answer_permission"]["granted"] is True
        assert results["cancel_run"]["cancelled"] is False  # the run above had finished
        assert results["list_messages"]["messages"][-1]["assistantResponse"] == HELLO_ANSWER
        # Following a run: text null, follow_from_event_id given, the other options null.
        follow = {"text": None, "plan_mode": None, "wait": None, "max_wait_seconds": None}
        followed = checker.check(
            "send_message", await client.call_tool("send_message", {**pending["next_arguments"], **follow})
        )
        assert followed["status"] == "completed" and followed["text"] == MAKE_TEST_ANSWER
        # Nested too: a callback whose optional fields are all null.
        callback: dict[str, Any] = {"tool_name": "Bash", "type": "send_message", "message_content": "tests ran"}
        callback |= {name: None for name in ("name", "bash_command", "bash_timeout", "exclude_from_context")}
        callback |= {name: None for name in ("include_full_history", "sub_agent_prompt", "sub_agent_type")}
        updated = await client.call_tool(
            "update_session_callbacks", {"session_id": session_id, "callbacks": [callback]}
        )
        assert checker.check("update_session_callbacks", updated)["callbacks"] == [
            {"toolName": "Bash", "type": "send_message", "messageContent": "tests ran"}
        ]
        # A required argument is still required: null there is an error that says so.
        missing = await client.call_tool("get_session", {"session_id": None})
        assert_error_stands_alone(missing, "session_id", "nothing was sent to Mix")


def _strict_arguments(tool: types.Tool, values: dict[str, Any]) -> dict[str, Any]:
    """What a strict-mode client sends: every property, its default where the schema has one, else a value."""
    arguments: dict[str, Any] = {}
    for name, prop in tool.input_schema["properties"].items():
        if name in values:
            arguments[name] = values[name]
        elif "default" in prop:
            arguments[name] = prop["default"]
        else:
            raise AssertionError(f"{tool.name}.{name}: no default and no reasonable value in the test")
    return arguments


STRICT_CALLBACK = {
    "tool_name": "Bash",
    "type": "send_message",
    "name": "",
    "bash_command": "",
    "bash_timeout": 120_000,
    "exclude_from_context": False,
    "include_full_history": False,
    "message_content": "The tests ran.",
    "sub_agent_prompt": "",
    "sub_agent_type": "",
}


@pytest.mark.anyio
@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_each_tool_accepts_the_argument_set_a_strict_mode_client_sends(emulator_url: str, mode: str) -> None:
    async with stdio_client_for("--base-url", emulator_url, *NO_FILES, mode=mode) as client:
        listed = await client.list_tools()
        checker = SchemaChecker(listed)
        session_id, message_id, victim = await _ids(client)
        pending = await _pending_run(client, "strict run")
        (permission,) = pending["permissions"]
        # A strict client fills the options it does not use: "" where a text is optional, a wait it can live with.
        strict_send = {"plan_mode": False, "wait": True, "max_wait_seconds": 120}
        reasonable: dict[str, dict[str, Any]] = {
            "list_sessions": {"title_contains": "", "session_type": "main", "created_after": "2000-01-01T00:00:00Z"},
            "create_session": {
                "title": "Strict",
                "custom_system_prompt": "",
                "callbacks": [],
                # An enum must be given a value; empty strings are what strict clients send for "no value".
                "browser_mode": "electron-embedded-browser",
                "cdp_url": "",
                "model_id": "",
                "provider": "",
            },
            "get_session": {"session_id": session_id},
            "delete_session": {"session_id": victim},
            "update_session_callbacks": {"session_id": session_id, "callbacks": [STRICT_CALLBACK]},
            "export_session": {
                "session_id": session_id,
                "roles": ["user", "assistant", "tool"],
                "after_message_id": message_id,
                "limit": 10,
            },
            "fork_session": {"session_id": session_id, "message_index": 0, "title": "Strict fork"},
            "rewind_session": {"session_id": session_id, "message_id": message_id},
            "send_message": {
                "session_id": session_id,
                "text": "hello agent",
                "follow_from_event_id": "",
                **strict_send,
            },
            "answer_permission": {"permission_id": permission["id"], "grant": True},
            "cancel_run": {"session_id": session_id},
            "list_messages": {
                "session_id": session_id,
                "roles": ["user", "assistant", "tool"],
                "after_message_id": message_id,
                "limit": 10,
            },
        }
        assert sorted(reasonable) == sorted(SESSION_TOOLS)
        results = {}
        for tool in listed.tools:
            arguments = _strict_arguments(tool, reasonable[tool.name])
            assert set(arguments) == set(tool.input_schema["properties"])
            results[tool.name] = checker.check(tool.name, await client.call_tool(tool.name, arguments))
        # offset 0 (its default) does not conflict with after_message_id: the window starts after the message.
        assert results["export_session"]["window"]["offset"] == 2
        assert results["list_sessions"]["count"] >= 1
        assert all(s["sessionType"] == "main" for s in results["list_sessions"]["sessions"])
        assert results["send_message"]["status"] == "completed" and results["send_message"]["text"] == HELLO_ANSWER
        assert results["answer_permission"]["granted"] is True
        assert results["cancel_run"]["cancelled"] is False
        # The rewind kept two messages; the run added its question and answer after them.
        listed_messages = results["list_messages"]
        assert listed_messages["window"]["offset"] == 2
        assert [m["role"] for m in listed_messages["messages"]] == ["user", "assistant"]
        assert listed_messages["messages"][1]["assistantResponse"] == HELLO_ANSWER
        # Following a run the strict way: text "" and plan_mode false (its default) are "not chosen".
        send_tool = next(tool for tool in listed.tools if tool.name == "send_message")
        follow = _strict_arguments(send_tool, {**pending["next_arguments"], "text": "", **strict_send})
        followed = checker.check("send_message", await client.call_tool("send_message", follow))
        assert followed["status"] == "completed" and followed["text"] == MAKE_TEST_ANSWER
        planned = await client.call_tool("send_message", {**follow, "plan_mode": True})
        assert_error_stands_alone(planned, "plan_mode only applies to a new message")
        # An offset that is not the default still conflicts, with an error that says so.
        both = await client.call_tool(
            "export_session", {"session_id": session_id, "offset": 1, "after_message_id": message_id}
        )
        assert_error_stands_alone(both, "either offset or after_message_id")


@pytest.mark.anyio
@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_every_result_kind_is_complete_in_each_form(large_emulator_url: str, mode: str) -> None:
    async with stdio_client_for("--base-url", large_emulator_url, *NO_FILES, mode=mode) as client:
        listed = await client.list_tools()
        schemas = {tool.name: tool.output_schema or {} for tool in listed.tools}
        session_id, message_id, victim = await _ids(client)
        calls: list[tuple[str, dict[str, Any]]] = [
            ("list_sessions", {}),
            ("list_sessions", {"limit": 2}),  # a page with next_arguments
            ("create_session", {"title": "complete"}),
            ("get_session", {"session_id": session_id}),
            ("update_session_callbacks", {"session_id": session_id, "callbacks": []}),
            ("export_session", {"session_id": session_id}),
            ("export_session", {"session_id": LARGE_SESSION_ID}),  # the default window: truncated, next_arguments
            ("export_session", {"session_id": LARGE_SESSION_ID, "format": "markdown"}),
            ("export_session", {"session_id": LARGE_SESSION_ID, "format": "markdown", "limit": 3}),
            ("export_session", {"session_id": LARGE_SESSION_ID, "max_chars": 2_000, "limit": 1}),  # a cut message
            ("fork_session", {"session_id": session_id, "message_index": 1}),
            ("rewind_session", {"session_id": session_id, "message_id": message_id}),
            ("delete_session", {"session_id": victim}),
        ]
        seen = set()
        for tool, arguments in calls:
            structured = assert_complete(await client.call_tool(tool, arguments), schemas[tool])
            seen.add(tool)
            if arguments.get("limit") == 2:
                assert structured["truncated"] is True and structured["next_arguments"] == {"limit": 2, "offset": 2}

        async def complete(tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
            seen.add(tool)
            return assert_complete(await client.call_tool(tool, arguments), schemas[tool])

        # The run tools, one result kind after the other: each holds its answer, or its next step with the
        # arguments that take it, in either form.
        done = await complete("send_message", {"session_id": session_id, "text": "hello agent"})
        assert done["status"] == "completed" and done["text"] == HELLO_ANSWER and done["next_arguments"] is None
        run_session = await _session(client, "runs")
        pending = await complete("send_message", {"session_id": run_session, "text": "run: make test"})
        (permission,) = pending["permissions"]
        assert pending["status"] == "permission_pending" and permission["command"] == "make test"
        assert permission["id"] in pending["next_step"] and "answer_permission" in pending["next_step"]
        assert set(pending["next_arguments"]) == {"session_id", "follow_from_event_id"}
        answered = await complete("answer_permission", {"permission_id": permission["id"], "grant": True})
        assert answered["granted"] is True and "send_message" in answered["next_step"]
        followed = await complete("send_message", pending["next_arguments"])
        assert followed["status"] == "completed" and followed["text"] == MAKE_TEST_ANSWER
        # Unfinished: wait=false returns once Mix has the message, with the arguments that follow the run on.
        running = await complete("send_message", {"session_id": run_session, "text": "run: deploy", "wait": False})
        assert running["status"] == "running" and running["finished"] is False
        assert running["next_arguments"]["session_id"] == run_session and "next_arguments" in running["next_step"]
        stopped = await complete("cancel_run", {"session_id": run_session})  # the run waits for permission
        assert stopped["cancelled"] is True and "list_messages" in stopped["next_step"]
        idle = await complete("cancel_run", {"session_id": run_session})
        assert idle["cancelled"] is False and "No run was in progress" in idle["next_step"]
        # list_messages: a default window of the large session (truncated, next_arguments), Markdown, a page.
        window = await complete("list_messages", {"session_id": LARGE_SESSION_ID})
        assert window["truncated"] is True and window["next_arguments"]["session_id"] == LARGE_SESSION_ID
        following = await complete("list_messages", window["next_arguments"])
        assert following["window"]["offset"] == window["window"]["next_offset"]
        markdown = await complete("list_messages", {"session_id": LARGE_SESSION_ID, "format": "markdown", "limit": 3})
        assert markdown["next_arguments"] == {
            "session_id": LARGE_SESSION_ID,
            "format": "markdown",
            "limit": 3,
            "offset": 3,
        }
        await complete("list_messages", {"session_id": run_session, "roles": ["assistant"]})
        assert seen == set(SESSION_TOOLS)

        # Errors: the text alone says what happened and what to call next, for every tool.
        errors: dict[str, tuple[dict[str, Any], list[str]]] = {
            "list_sessions": ({"limit": 0}, ["limit", "nothing was sent to Mix"]),
            "create_session": ({}, ["title: required argument is missing"]),
            "get_session": ({"session_id": "sess_nope"}, ["HTTP 404", "list_sessions"]),
            "delete_session": ({"session_id": victim}, ["HTTP 404", "list_sessions"]),
            "update_session_callbacks": ({"session_id": "sess_nope", "callbacks": []}, ["HTTP 404"]),
            "export_session": ({"session_id": session_id, "after_message_id": "msg_x"}, ["msg_x", "offset"]),
            "fork_session": ({"session_id": session_id, "message_index": 999}, ["export_session"]),
            "rewind_session": ({"session_id": session_id, "message_id": "msg_x"}, ["HTTP 404", "export_session"]),
            "send_message": ({"session_id": "sess_nope", "text": "hello"}, ["HTTP 404", "list_sessions"]),
            "answer_permission": ({"permission_id": permission["id"], "grant": True}, ["no longer pending"]),
            "cancel_run": ({"session_id": "sess_nope"}, ["HTTP 404", "list_sessions"]),
            "list_messages": ({"session_id": session_id, "after_message_id": "msg_x"}, ["msg_x", "offset"]),
        }
        assert sorted(errors) == sorted(SESSION_TOOLS)
        for tool, (arguments, words) in errors.items():
            assert_error_stands_alone(await client.call_tool(tool, arguments), *words)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_a_refused_confirmation_is_complete_as_text(emulator_url: str, mode: str) -> None:
    async with stdio_client_for("--base-url", emulator_url, "--confirm-destructive", mode=mode) as client:
        refused = await client.call_tool("delete_session", {"session_id": DEMO_SESSION_ID})
        assert_error_stands_alone(refused, "delete_session was not run", "Nothing was changed")


@pytest.mark.anyio
@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_default_export_of_2000_messages_fits_and_next_arguments_read_the_rest(
    large_emulator_url: str, mode: str
) -> None:
    async with stdio_client_for("--base-url", large_emulator_url, mode=mode) as client:
        checker = SchemaChecker(await client.list_tools())
        whole = checker.check(
            "export_session",
            await client.call_tool("export_session", {"session_id": LARGE_SESSION_ID, "unbounded": True}),
        )
        assert len(whole["messages"]) == whole["total_messages"] == LARGE_MESSAGES
        assert whole["truncated"] is False and whole["next_arguments"] is None

        arguments: dict[str, Any] | None = {"session_id": LARGE_SESSION_ID}
        read: list[dict[str, Any]] = []
        windows = 0
        while arguments is not None:
            windows += 1
            assert windows <= 50, "the windows never reach the end"
            result = await client.call_tool("export_session", arguments)
            page = checker.check("export_session", result)
            assert len(text_of(result)) <= 50_000
            assert page["total_messages"] == LARGE_MESSAGES
            assert page["truncated"] is (page["next_arguments"] is not None)
            read.extend(page["messages"])
            arguments = page["next_arguments"]
        assert windows > 1
        assert read == whole["messages"]


@pytest.mark.anyio
@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_list_sessions_pages_newest_first_with_filters(crowded_emulator_url: str, mode: str) -> None:
    async with stdio_client_for("--base-url", crowded_emulator_url, mode=mode) as client:
        checker = SchemaChecker(await client.list_tools())

        async def page(**arguments: Any) -> dict[str, Any]:
            return checker.check("list_sessions", await client.call_tool("list_sessions", arguments))

        first = await page()
        assert first["count"] == 50 and first["total"] == CROWDED_SESSIONS + 1 and first["truncated"] is True
        assert first["sessions"][0]["id"] == HOSTILE_SESSION_ID  # the newest
        assert first["next_arguments"] == {"offset": 50}
        collected = list(first["sessions"])
        arguments = first["next_arguments"]
        while arguments is not None:
            following = await page(**arguments)
            collected.extend(following["sessions"])
            arguments = following["next_arguments"]
        stamps = [s["createdAt"] for s in collected]
        assert len(collected) == CROWDED_SESSIONS + 1 and len({s["id"] for s in collected}) == len(collected)
        assert stamps == sorted(stamps, reverse=True)

        forked = await page(session_type="forked")
        assert forked["total"] == CROWDED_SESSIONS // 10 and {s["sessionType"] for s in forked["sessions"]} == {
            "forked"
        }
        titled = await page(title_contains="CROWD 12", limit=5)
        assert [s["title"] for s in titled["sessions"]] == [
            "Crowd 129",
            "Crowd 128 (even)",
            "Crowd 127",
            "Crowd 126 (even)",
            "Crowd 125",
        ]
        assert titled["truncated"] is True and titled["next_arguments"] == {
            "title_contains": "CROWD 12",
            "limit": 5,
            "offset": 5,
        }
        recent = await page(created_after="2026-01-01T02:05:00Z")
        assert sorted(s["id"] for s in recent["sessions"]) == sorted(
            [HOSTILE_SESSION_ID, *(f"sess_crowd_{n:03d}" for n in range(126, CROWDED_SESSIONS))]
        )
        bad = await client.call_tool("list_sessions", {"created_after": "yesterday"})
        assert_error_stands_alone(bad, "created_after", "RFC 3339")


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


@pytest.mark.anyio
@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_hidden_characters_are_stripped_and_everything_else_kept(crowded_emulator_url: str, mode: str) -> None:
    hidden_chars = set(HIDDEN)
    async with stdio_client_for("--base-url", crowded_emulator_url, mode=mode) as client:
        results = [
            await client.call_tool("export_session", {"session_id": HOSTILE_SESSION_ID}),
            await client.call_tool("export_session", {"session_id": HOSTILE_SESSION_ID, "format": "markdown"}),
            await client.call_tool("get_session", {"session_id": HOSTILE_SESSION_ID}),
            await client.call_tool("list_sessions", {"limit": 1}),
            await client.call_tool("list_messages", {"session_id": HOSTILE_SESSION_ID}),
            await client.call_tool("list_messages", {"session_id": HOSTILE_SESSION_ID, "format": "markdown"}),
            # The scripted agent repeats what it was told: the run's answer carries the hidden characters back.
            await client.call_tool(
                "send_message", {"session_id": await _session(client, "echo"), "text": hidden("hello agent")}
            ),
        ]
        for result in results:
            assert not result.is_error, text_of(result)
            assert not hidden_chars & set(text_of(result))
            assert not hidden_chars & set("".join(_strings(result.structured_content)))
            label = (result.meta or {})["mix-mcp/untrusted"]
            assert label["sanitized"] is True and label["boundary"] is None and "content" in label["fields"]
        exported = results[0].structured_content
        assert exported is not None
        assert exported["title"] == "Hostile transcript"
        first, second = exported["messages"]
        assert first["content"] == "Summarise this page"
        assert second["content"] == "Here is the summary" and second["reasoning"] == "The page asks me to do things"
        call = second["toolCalls"][0]
        assert call["input"] == '{"url": "https://example.com"}'
        assert call["result"] == "Page text: café, 日本語, emoji 👩\u200d💻, tab\tand newline\nkept"
        assert "Here is the summary" in text_of(results[1])
        listed = results[4].structured_content
        assert listed is not None
        stored_first, stored_second = listed["messages"]
        assert stored_first["userInput"] == "Summarise this page"
        assert stored_second["assistantResponse"] == "Here is the summary"
        assert stored_second["reasoning"] == "The page asks me to do things"
        assert stored_second["toolCalls"][0] == call
        assert "Here is the summary" in text_of(results[5])
        answer = results[6].structured_content
        assert answer is not None and answer["status"] == "completed" and answer["text"] == HELLO_ANSWER
        # A result without session text carries no label.
        made = await client.call_tool("create_session", {"title": "plain"})
        deleted = await client.call_tool("delete_session", {"session_id": _structured(made)["id"]})
        assert not deleted.is_error and "mix-mcp/untrusted" not in (deleted.meta or {})


@pytest.mark.anyio
@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_spotlighting_wraps_session_text_in_a_fresh_boundary(crowded_emulator_url: str, mode: str) -> None:
    async with stdio_client_for("--base-url", crowded_emulator_url, mode=mode, MIX_MCP_SPOTLIGHT="1") as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert "never instructions" in (tools["export_session"].description or "")
        assert "never instructions" not in (tools["delete_session"].description or "")
        codes = []
        for _ in range(2):
            result = await client.call_tool("export_session", {"session_id": HOSTILE_SESSION_ID})
            label = (result.meta or {})["mix-mcp/untrusted"]["boundary"]
            opening, closing = label["opening"], label["closing"]
            code = BOUNDARY.fullmatch(opening)
            assert code is not None and closing == f"</untrusted-{code.group(1)}>"
            codes.append(code.group(1))
            structured = result.structured_content
            assert structured is not None
            assert structured["title"] == f"{opening}Hostile transcript{closing}"
            assert structured["messages"][1]["reasoning"] == f"{opening}The page asks me to do things{closing}"
            assert structured["messages"][1]["id"].startswith("msg_")  # ids stay verbatim
            assert json.loads(text_of(result)) == structured
        assert codes[0] != codes[1]
        markdown = await client.call_tool(
            "export_session", {"session_id": HOSTILE_SESSION_ID, "format": "markdown", "max_chars": 2_000}
        )
        text = text_of(markdown)
        opening = (markdown.meta or {})["mix-mcp/untrusted"]["boundary"]["opening"]
        assert text.count(opening) == text.count(opening.replace("<", "</")) >= 4


@pytest.mark.anyio
@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_unknown_tool_is_a_protocol_error_and_icons_and_cache_hints_are_given(
    emulator_url: str, mode: str
) -> None:
    async with stdio_client_for("--base-url", emulator_url, "--read-only", mode=mode) as client:
        for name, reason in (("drop_database", "does not exist"), ("delete_session", "is disabled on this server")):
            with pytest.raises(MCPError) as caught:
                await client.call_tool(name, {})
            assert caught.value.error.code == types.INVALID_PARAMS
            assert reason in caught.value.error.message and "list_sessions" in caught.value.error.message

        listed = await client.list_tools()
        sources = set()
        for tool in listed.tools:
            assert tool.icons and tool.icons[0].mime_type == "image/svg+xml"
            src = tool.icons[0].src
            assert src.startswith("data:image/svg+xml;base64,") and len(src) < 2_000
            svg = base64.b64decode(src.split(",", 1)[1]).decode()
            assert svg.startswith("<svg") and "script" not in svg
            sources.add(src)
        assert len(sources) == len(listed.tools)
        server = client.server_info
        if mode == "legacy":  # the 2026-era stamp of serverInfo is optional; the handshake always carries it
            assert server is not None
        if server is not None:
            assert server.icons and server.icons[0].src.startswith("data:image/svg+xml;base64,")
        if mode == "auto":
            assert listed.ttl_ms == 3_600_000 and listed.cache_scope == "public"
            read = await client.read_resource(f"mix://sessions/{DEMO_SESSION_ID}")
            assert read.ttl_ms == 0 and read.cache_scope == "private"


@pytest.mark.anyio
async def test_filtering_on_subagent_sessions_asks_mix_for_them(emulator_url: str) -> None:
    async with stdio_client_for("--base-url", emulator_url, mode="auto") as client:
        result = await client.call_tool("list_sessions", {"session_type": "subagent"})
        page = _structured(result)
        assert [s["id"] for s in page["sessions"]] == [SUBAGENT_SESSION_ID]
        hidden_by_default = _structured(await client.call_tool("list_sessions", {}))
        assert SUBAGENT_SESSION_ID not in {s["id"] for s in hidden_by_default["sessions"]}
