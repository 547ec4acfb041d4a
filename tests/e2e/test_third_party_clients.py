"""Clients nobody here wrote call every tool the way they really do, with no model in the loop.

- openai-agents in strict mode: its own ``ensure_strict_json_schema`` turns each published input schema
  into what OpenAI's structured outputs enforce (every property required), so a model can only leave an
  optional argument out by sending ``null``; each tool is called through openai-agents' own MCP client with
  every optional property null, each argument set first checked against the strict schema.
- llama-index's MCP tool spec builds its tools from our server over stdio; calling one with only the
  required arguments sends every optional one as its null default.

Null means left out: the calls succeed and nothing null reaches Mix (tests/faults/test_request_bodies.py
checks the bodies).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import jsonschema
import pytest
from mcp import Client

from tests.e2e.test_model_view import HELLO_ANSWER, NO_FILES, SESSION_TOOLS, _ids, _pending_run, _required
from tests.support import clean_env, stdio_client_for
from tests.system_parts import require_module

#: What mix-mcp says of answer_notification on the emulator these tests use (a Mix without agent questions).
NOT_OFFERED = "This Mix server does not offer answer_notification"

#: Installed by the ``clients`` extra (``pip install -e '.[test,clients]'``), which .ci/run adds for the slow tests.
CLIENTS_EXTRA = "clients"

#: A send_message callback as a strict-mode client writes it: every optional field null.
NULL_CALLBACK: dict[str, Any] = {
    "tool_name": "Bash",
    "type": "send_message",
    "message_content": "tests ran",
    **dict.fromkeys(
        (
            "name",
            "bash_command",
            "bash_timeout",
            "exclude_from_context",
            "include_full_history",
            "sub_agent_prompt",
            "sub_agent_type",
        )
    ),
}


async def _required_arguments(client: Client) -> dict[str, dict[str, Any]]:
    """The required arguments of every tool, naming things made for the occasion on the emulator."""
    session_id, message_id, victim = await _ids(client)
    pending = await _pending_run(client, "third-party client run")
    (permission,) = pending["permissions"]
    return {
        name: _required(name, session_id, message_id, victim, permission["id"])
        for name in (tool.name for tool in (await client.list_tools()).tools)
    }


def _with_nulls(strict: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """What a strict-mode model sends: every property of the strict schema, null where it has no value."""
    assert set(strict["required"]) == set(strict["properties"])
    return {name: given.get(name) for name in strict["properties"]}


@pytest.mark.slow
@pytest.mark.anyio
async def test_openai_agents_in_strict_mode_calls_every_tool_with_nulls(emulator_url: str) -> None:
    agents = require_module("agents", CLIENTS_EXTRA)
    agents_mcp = require_module("agents.mcp", CLIENTS_EXTRA)
    ensure_strict_json_schema = require_module("agents.strict_schema", CLIENTS_EXTRA).ensure_strict_json_schema
    MCPUtil = agents_mcp.MCPUtil
    async with stdio_client_for("--base-url", emulator_url, *NO_FILES, mode="auto") as ours:
        required = await _required_arguments(ours)
    assert sorted(required) == sorted(SESSION_TOOLS)
    params = {"command": sys.executable, "args": ["-m", "mix_mcp", "serve", "--base-url", emulator_url, *NO_FILES]}
    server = agents_mcp.MCPServerStdio(
        {**params, "env": clean_env()},
        name="mix",
        use_structured_content=True,
        client_session_timeout_seconds=60,
    )
    async with server:
        tools = await server.list_tools()
        results: dict[str, dict[str, Any]] = {}
        for tool in tools:
            published = tool.input_schema
            strict = ensure_strict_json_schema(json.loads(json.dumps(published)))
            optional = set(published["properties"]) - set(published.get("required", []))
            for name in optional:
                jsonschema.validate(None, strict["properties"][name])  # the one way a strict model leaves it out
            given = required[tool.name]
            if tool.name == "update_session_callbacks":
                given = {**given, "callbacks": [NULL_CALLBACK]}
            arguments = _with_nulls(strict, given)
            jsonschema.Draft202012Validator(strict).validate(arguments)
            # openai-agents' own conversion and call path, as an Agent uses them.
            function_tool = MCPUtil.to_function_tool(tool, server, convert_schemas_to_strict=True)
            assert function_tool.strict_json_schema is True, tool.name
            assert function_tool.params_json_schema == strict
            output = await MCPUtil.invoke_mcp_tool(server, tool, agents.RunContextWrapper(None), json.dumps(arguments))
            if tool.name == "answer_notification":
                # The arguments were accepted; this Mix (before Feb 2026) has no questions to answer.
                assert NOT_OFFERED in str(output), output
                results[tool.name] = {}
                continue
            assert isinstance(output, str), f"{tool.name} with nulls: {output}"
            results[tool.name] = json.loads(output)
    assert sorted(results) == sorted(SESSION_TOOLS)
    assert results["send_message"]["status"] == "completed" and results["send_message"]["text"] == HELLO_ANSWER
    assert results["answer_permission"]["granted"] is True
    assert results["update_session_callbacks"]["callbacks"] == [
        {"toolName": "Bash", "type": "send_message", "messageContent": "tests ran"}
    ]
    assert results["list_sessions"]["count"] >= 1


@pytest.mark.slow
@pytest.mark.anyio
async def test_llama_index_mcp_tools_call_every_tool_with_their_null_defaults(emulator_url: str) -> None:
    llama_mcp = require_module("llama_index.tools.mcp", CLIENTS_EXTRA)
    BasicMCPClient, McpToolSpec = llama_mcp.BasicMCPClient, llama_mcp.McpToolSpec
    async with stdio_client_for("--base-url", emulator_url, *NO_FILES, mode="auto") as ours:
        required = await _required_arguments(ours)
    client = BasicMCPClient(
        sys.executable,
        args=["-m", "mix_mcp", "serve", "--base-url", emulator_url, *NO_FILES],
        env=clean_env(),
        timeout=60,
    )
    tools = await McpToolSpec(client).to_tool_list_async()
    assert sorted(tool.metadata.name for tool in tools) == sorted(SESSION_TOOLS)
    results: dict[str, dict[str, Any]] = {}
    sent_nulls: dict[str, set[str]] = {}
    for tool in tools:
        name = tool.metadata.name
        # What llama-index shows a model: the optional arguments default to null (or the schema's default).
        shown = tool.metadata.get_parameters_dict()
        optional = set(shown["properties"]) - set(shown.get("required", []))
        # The arguments with llama-index's defaults filled in, as its function-calling agents pass them on.
        arguments = tool.metadata.fn_schema.model_validate(required[name]).model_dump()
        assert set(arguments) == set(shown["properties"])
        nulls = {key for key, value in arguments.items() if value is None}
        assert nulls <= optional
        sent_nulls[name] = nulls
        output = await tool.acall(**arguments)
        result = output.raw_output
        if name == "answer_notification":
            # The arguments were accepted; this Mix (before Feb 2026) has no questions to answer.
            assert result.is_error and NOT_OFFERED in str(result.content), result.content
            results[name] = {}
            continue
        assert not result.is_error, f"{name} with {arguments}: {result.content}"
        results[name] = result.structured_content
    assert sorted(results) == sorted(SESSION_TOOLS)
    # Null defaults were really sent: every optional argument without a default of its own, tool by tool.
    assert {"title_contains", "session_type", "created_after"} <= sent_nulls["list_sessions"]
    assert {"custom_system_prompt", "callbacks", "browser_mode"} <= sent_nulls["create_session"]
    assert {"roles", "after_message_id", "limit"} <= sent_nulls["export_session"]
    assert results["send_message"]["status"] == "completed" and results["send_message"]["text"] == HELLO_ANSWER
    assert results["answer_permission"]["granted"] is True
