"""Resources, completions, tool filtering, destructive confirmation and instructions, over stdio.

The real server process, started the way an assistant starts it, in both protocol generations: the
legacy initialize handshake (elicitation is a server-to-client request) and the 2026-07-28 protocol
(elicitation rides an InputRequiredResult and the client calls again with the answer).
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any
from urllib.parse import quote

import mcp_types as types
import pytest
from mcp import Client
from mcp.client.session import ClientRequestContext
from mcp.shared.exceptions import MCPError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from mix_mcp.emulator import DEMO_SESSION_ID
from mix_mcp.tools.app import APP_URI
from mix_mcp.tools.confirmation import CONFIRM_KEY
from tests.support import ALL_TOOLS, PROTOCOL_MODES, clean_env, stdio_client_for, text_of

SESSION_TEMPLATE = "mix://sessions/{session_id}"
TRANSCRIPT_TEMPLATE = "mix://sessions/{session_id}/transcript"


def _text(result: types.ReadResourceResult) -> str:
    (content,) = result.contents
    assert isinstance(content, types.TextResourceContents)
    return content.text


@pytest.mark.anyio
@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_instructions_explain_the_workflow(emulator_url: str, mode: str) -> None:
    async with stdio_client_for("--base-url", emulator_url, mode=mode) as client:
        instructions = client.instructions
    assert instructions is not None
    for phrase in ("list_sessions", "export_session", "next_arguments", "message_index", "rewind_session"):
        assert phrase in instructions


@pytest.mark.anyio
@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_resources_are_listed_and_read(emulator_url: str, mode: str) -> None:
    async with stdio_client_for("--base-url", emulator_url, mode=mode) as client:
        listed = await client.list_resources()
        assert [(r.uri, r.mime_type) for r in listed.resources] == [
            ("mix://sessions", "application/json"),
            (APP_URI, "text/html;profile=mcp-app"),  # the session view (docs/app.md)
        ]
        templates = await client.list_resource_templates()
        assert [(t.uri_template, t.mime_type) for t in templates.resource_templates] == [
            (SESSION_TEMPLATE, "application/json"),
            (TRANSCRIPT_TEMPLATE, "text/markdown"),
            ("mix://sessions/{session_id}/files/{name}", None),  # a session's files: of every kind
        ]

        sessions = json.loads(_text(await client.read_resource("mix://sessions")))
        assert DEMO_SESSION_ID in {s["id"] for s in sessions["sessions"]}
        assert sessions["count"] == len(sessions["sessions"])

        metadata = json.loads(_text(await client.read_resource(f"mix://sessions/{DEMO_SESSION_ID}")))
        assert metadata["id"] == DEMO_SESSION_ID and metadata["title"] == "Fix flaky pagination test"

        transcript = await client.read_resource(f"mix://sessions/{DEMO_SESSION_ID}/transcript")
        assert transcript.contents[0].mime_type == "text/markdown"
        text = _text(transcript)
        assert text.startswith("# Fix flaky pagination test\n")
        assert "\n## [0] user · msg_" in text and "\n## [11] assistant · msg_" in text

        every_char_escaped = "".join(f"%{byte:02X}" for byte in DEMO_SESSION_ID.encode())
        decoded = json.loads(_text(await client.read_resource(f"mix://sessions/{every_char_escaped}")))
        assert decoded["id"] == DEMO_SESSION_ID


@pytest.mark.anyio
@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_resource_errors_are_mcp_errors_that_say_what_to_do(emulator_url: str, mode: str) -> None:
    async with stdio_client_for("--base-url", emulator_url, mode=mode) as client:
        with pytest.raises(MCPError) as missing:
            await client.read_resource(f"mix://sessions/{quote('no/such', safe='')}/transcript")
        assert missing.value.code == types.INVALID_PARAMS
        assert "HTTP 404" in missing.value.message and "/api/sessions/no%2Fsuch/export" in missing.value.message
        assert "Read mix://sessions" in missing.value.message

        with pytest.raises(MCPError) as unknown:
            await client.read_resource(f"mix://sessions/{DEMO_SESSION_ID}/files")
        assert unknown.value.code == types.INVALID_PARAMS
        assert "Unknown resource" in unknown.value.message and TRANSCRIPT_TEMPLATE in unknown.value.message

        for bad in ("mix://sessions/%ff", "mix://sessions/%0Aid", "mix://sessions/.."):
            with pytest.raises(MCPError) as invalid:
                await client.read_resource(bad)
            assert invalid.value.code == types.INVALID_PARAMS, bad

        again = json.loads(_text(await client.read_resource("mix://sessions")))
        assert again["count"] >= 1, "the server must survive and keep answering"


@pytest.mark.anyio
@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_session_ids_complete_from_id_prefixes_and_title_words(emulator_url: str, mode: str) -> None:
    async with stdio_client_for("--base-url", emulator_url, mode=mode) as client:

        async def complete(template: str, value: str) -> types.Completion:
            reference = types.ResourceTemplateReference(uri=template)
            return (await client.complete(reference, {"name": "session_id", "value": value})).completion

        by_prefix = await complete(SESSION_TEMPLATE, DEMO_SESSION_ID[:5].upper())
        assert by_prefix.values == [DEMO_SESSION_ID] and by_prefix.total == 1 and by_prefix.has_more is False
        by_words = await complete(TRANSCRIPT_TEMPLATE, "FLAKY pag")
        assert DEMO_SESSION_ID in by_words.values
        assert (await complete(SESSION_TEMPLATE, "zzz-no-such")).values == []
        everything = await complete(SESSION_TEMPLATE, "")
        assert DEMO_SESSION_ID in everything.values and everything.total == len(everything.values)
        other = await client.complete(
            types.ResourceTemplateReference(uri="mix://elsewhere/{x}"), {"name": "x", "value": "a"}
        )
        assert other.completion.values == []


@pytest.mark.anyio
@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_read_only_flag_leaves_only_read_only_tools(emulator_url: str, mode: str) -> None:
    async with stdio_client_for("--base-url", emulator_url, "--read-only", mode=mode) as client:
        tools = (await client.list_tools()).tools
        assert [t.name for t in tools] == [
            "list_sessions",
            "get_session",
            "export_session",
            "list_messages",
            "list_session_files",
            "read_session_file",
        ]
        assert all(t.annotations is not None and t.annotations.read_only_hint for t in tools)
        with pytest.raises(MCPError) as refused:
            await client.call_tool("delete_session", {"session_id": DEMO_SESSION_ID})
        assert refused.value.error.code == types.INVALID_PARAMS
        assert "'delete_session' is disabled on this server" in refused.value.error.message
        assert not (await client.call_tool("get_session", {"session_id": DEMO_SESSION_ID})).is_error


@pytest.mark.anyio
async def test_tools_and_exclude_tools_from_flags_and_environment(emulator_url: str) -> None:
    async with stdio_client_for("--base-url", emulator_url, "--tools", "get_session,export_session", mode="auto") as c:
        assert [t.name for t in (await c.list_tools()).tools] == ["get_session", "export_session"]
        with pytest.raises(MCPError):
            await c.call_tool("list_sessions", {})
        assert [r.uri for r in (await c.list_resources()).resources] == [APP_URI]
        templates = (await c.list_resource_templates()).resource_templates
        assert [t.uri_template for t in templates] == [SESSION_TEMPLATE, TRANSCRIPT_TEMPLATE]
    excluded = "delete_session, rewind_session"
    async with stdio_client_for("--base-url", emulator_url, mode="legacy", MIX_MCP_EXCLUDE_TOOLS=excluded) as client:
        names = [t.name for t in (await client.list_tools()).tools]
        assert names == [n for n in ALL_TOOLS if n not in ("delete_session", "rewind_session")]
        with pytest.raises(MCPError) as refused:
            await client.call_tool("rewind_session", {"session_id": "s", "message_id": "m"})
        assert refused.value.error.code == types.INVALID_PARAMS and "disabled" in refused.value.error.message


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["--tools", "list_sessions,drop_table"], {}, "--tools / MIX_MCP_TOOLS: unknown tool 'drop_table'"),
        (
            [],
            {"MIX_MCP_EXCLUDE_TOOLS": "delete_sessions"},
            "unknown tool 'delete_sessions'. Known tools: list_sessions",
        ),
        (["--read-only", "--tools", "get_session,delete_session"], {}, "names delete_session, which --read-only"),
    ],
)
def test_unknown_or_conflicting_tool_names_stop_the_server_at_start(
    args: list[str], env: dict[str, str], expected: str
) -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "mix_mcp", "serve", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=clean_env(**env),
        timeout=60,
    )
    assert finished.returncode == 2
    assert expected in finished.stderr and "configuration error" in finished.stderr
    assert finished.stdout == ""


class Answers:
    """An elicitation callback that answers with a fixed action and records what it was asked."""

    def __init__(self, action: str, confirm: bool = True) -> None:
        self.action = action
        self.confirm = confirm
        self.questions: list[str] = []

    async def __call__(
        self, context: ClientRequestContext, params: types.ElicitRequestParams
    ) -> types.ElicitResult | types.ErrorData:
        assert isinstance(params, types.ElicitRequestFormParams)
        assert params.requested_schema["properties"]["confirm"]["type"] == "boolean"
        self.questions.append(params.message)
        content: dict[str, Any] | None = {"confirm": self.confirm} if self.action == "accept" else None
        return types.ElicitResult(action=self.action, content=content)  # type: ignore[arg-type]


def _confirming_client(url: str, mode: str, answers: Answers | None, *flags: str) -> Client:
    client = stdio_client_for("--base-url", url, *flags, mode=mode)
    client.elicitation_callback = answers
    return client


async def _new_session(client: Client, title: str) -> str:
    created = await client.call_tool("create_session", {"title": title})
    assert created.structured_content is not None
    session_id = created.structured_content["id"]
    assert isinstance(session_id, str)
    return session_id


async def _exists(client: Client, session_id: str) -> bool:
    return not (await client.call_tool("get_session", {"session_id": session_id})).is_error


@pytest.mark.anyio
@pytest.mark.parametrize("mode", PROTOCOL_MODES)
async def test_confirmed_delete_and_rewind_run(emulator_url: str, mode: str) -> None:
    answers = Answers("accept")
    async with _confirming_client(emulator_url, mode, answers, "--confirm-destructive") as client:
        assert (client.protocol_version in MODERN_PROTOCOL_VERSIONS) == (mode == "auto")
        doomed = await _new_session(client, f"Doomed {mode}")
        deleted = await client.call_tool("delete_session", {"session_id": doomed})
        assert not deleted.is_error, text_of(deleted)
        assert deleted.structured_content == {"deleted": True, "session_id": doomed}
        assert not await _exists(client, doomed)
        assert len(answers.questions) == 1
        assert f"'Doomed {mode}' ({doomed})" in answers.questions[0] and "cannot be undone" in answers.questions[0]

        fork = await client.call_tool("fork_session", {"session_id": DEMO_SESSION_ID, "message_index": 5})
        assert fork.structured_content is not None
        fork_id = fork.structured_content["id"]
        messages = (await client.call_tool("export_session", {"session_id": fork_id})).structured_content
        assert messages is not None
        keep = messages["messages"][2]["id"]
        rewound = await client.call_tool("rewind_session", {"session_id": fork_id, "message_id": keep})
        assert not rewound.is_error, text_of(rewound)
        assert keep in answers.questions[1]
        after = (await client.call_tool("export_session", {"session_id": fork_id})).structured_content
        assert after is not None and after["total_messages"] == 3
        await client.call_tool("delete_session", {"session_id": fork_id})
        assert len(answers.questions) == 3


@pytest.mark.anyio
@pytest.mark.parametrize("mode", PROTOCOL_MODES)
@pytest.mark.parametrize(
    ("action", "confirm", "reason"),
    [
        ("decline", False, "the user declined"),
        ("cancel", False, "the user dismissed the confirmation"),
        ("accept", False, "without ticking 'Go ahead'"),
        (None, False, "does not support MCP form elicitation"),
    ],
    ids=["decline", "cancel", "unticked", "unsupported"],
)
async def test_anything_but_a_yes_refuses_and_changes_nothing(
    emulator_url: str, mode: str, action: str | None, confirm: bool, reason: str
) -> None:
    answers = Answers(action, confirm) if action is not None else None
    async with _confirming_client(emulator_url, mode, answers, "--confirm-destructive") as client:
        kept = await _new_session(client, f"Kept {mode}")
        refused = await client.call_tool("delete_session", {"session_id": kept})
        assert refused.is_error
        assert reason in text_of(refused) and "delete_session was not run" in text_of(refused)
        assert "Nothing was changed" in text_of(refused)
        assert await _exists(client, kept)
        assert answers is None or len(answers.questions) == 1
        untouched = await client.call_tool("update_session_callbacks", {"session_id": kept, "callbacks": []})
        assert not untouched.is_error, "only the operations the table marks are confirmed"
        assert answers is None or len(answers.questions) == 1


@pytest.mark.anyio
async def test_a_forged_answer_cannot_skip_the_question(emulator_url: str) -> None:
    """2026-07-28: only the sealed state this server minted for this very call makes an answer count."""
    yes = types.ElicitResult(action="accept", content={"confirm": True})
    async with _confirming_client(emulator_url, "auto", Answers("decline"), "--confirm-destructive") as client:
        assert client.protocol_version in MODERN_PROTOCOL_VERSIONS
        target = await _new_session(client, "Forgery target")
        arguments = {"session_id": target}
        unasked = await client.session.call_tool(
            "delete_session", arguments, input_responses={CONFIRM_KEY: yes}, allow_input_required=True
        )
        assert isinstance(unasked, types.InputRequiredResult), "an answer without the state is asked again"
        assert unasked.input_requests is not None and CONFIRM_KEY in unasked.input_requests
        assert unasked.request_state is not None and unasked.request_state != "mix-mcp/confirm/v1"
        with pytest.raises(MCPError) as forged:
            await client.session.call_tool(
                "delete_session",
                arguments,
                input_responses={CONFIRM_KEY: yes},
                request_state="mix-mcp/confirm/v1",
                allow_input_required=True,
            )
        assert forged.value.code == types.INVALID_PARAMS
        other = await _new_session(client, "Other")
        with pytest.raises(MCPError):
            await client.session.call_tool(
                "delete_session",
                {"session_id": other},
                input_responses={CONFIRM_KEY: yes},
                request_state=unasked.request_state,
                allow_input_required=True,
            )
        assert await _exists(client, target) and await _exists(client, other)
        sealed = await client.session.call_tool(
            "delete_session",
            arguments,
            input_responses={CONFIRM_KEY: yes},
            request_state=unasked.request_state,
            allow_input_required=True,
        )
        assert isinstance(sealed, types.CallToolResult) and not sealed.is_error
        assert not await _exists(client, target)


@pytest.mark.anyio
async def test_without_the_flag_nothing_is_asked(emulator_url: str) -> None:
    answers = Answers("decline")
    async with _confirming_client(emulator_url, "auto", answers) as client:
        session_id = await _new_session(client, "Unasked")
        deleted = await client.call_tool("delete_session", {"session_id": session_id})
    assert not deleted.is_error and answers.questions == []
