"""Tool schemas: portable input schemas for every tool, snapshots and README in sync with the code."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from mix_mcp.tools.arguments import ExportSessionArguments
from mix_mcp.tools.operations import OPERATIONS
from mix_mcp.tools.snapshots import check_snapshots, render_table
from mix_mcp.tools.transcripts import shape_transcript
from tests.unit.fakes import NEWER_SESSION, SESSION, TRANSCRIPT

ROOT = Path(__file__).resolve().parents[2]


def _walk(node: Any, path: str = "$") -> list[tuple[str, Any]]:
    found = [(path, node)]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _walk(value, f"{path}[{index}]")
    return found


def _properties(schema: dict[str, Any], path: str = "$") -> list[tuple[str, dict[str, Any]]]:
    found = []
    for name, prop in schema.get("properties", {}).items():
        found.append((f"{path}.{name}", prop))
        found += _properties(prop, f"{path}.{name}")
        if isinstance(prop.get("items"), dict):
            found += _properties(prop["items"], f"{path}.{name}[]")
    return found


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.name)
def test_input_schema_is_portable(op: Any) -> None:
    schema = op.input_schema
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["type"] == "object"
    assert schema.get("additionalProperties") is False
    for where, node in _walk(schema):
        if isinstance(node, dict):
            assert "$ref" not in node and "$defs" not in node, where
            assert "anyOf" not in node and "oneOf" not in node and "allOf" not in node, where
            assert node.get("type") != "null", where
            assert "default" not in node or node["default"] is not None, where
    for where, prop in _properties(schema):
        assert prop.get("description"), f"{op.name}: {where} has no description"
        assert re.fullmatch(r"\$(\.[a-z_]+(\[\])?)+", where), f"{where} is not snake_case"
    required = set(schema.get("required", []))
    assert required <= set(schema["properties"])


def _objects(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(where, node) for where, node in _walk(schema) if isinstance(node, dict) and "properties" in node]


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.name)
def test_every_optional_argument_is_nullable_and_no_required_one_is(op: Any) -> None:
    """A strict-mode client sends every property: null is its only way to leave an optional one out."""
    objects = _objects(op.input_schema)
    assert objects
    for where, node in objects:
        required = set(node.get("required", []))
        for name, prop in node["properties"].items():
            kind = prop.get("type")
            if name in required:
                assert isinstance(kind, str), f"{where}.{name} is required yet published as {kind}"
                with pytest.raises(jsonschema.ValidationError):
                    jsonschema.validate(None, prop)
                continue
            assert isinstance(kind, list) and kind[-1] == "null" and len(kind) == 2, f"{where}.{name}: {kind}"
            jsonschema.validate(None, prop)
            if "enum" in prop:
                assert prop["enum"][-1] is None and None not in prop["enum"][:-1]
            if "default" in prop:
                jsonschema.validate(prop["default"], prop)


def test_contract_bounds_are_in_the_schemas() -> None:
    by_name = {op.name: op.input_schema["properties"] for op in OPERATIONS}
    assert by_name["fork_session"]["message_index"]["minimum"] == 0
    assert by_name["create_session"]["prompt_mode"]["enum"] == ["default", "append", "replace", None]
    assert by_name["create_session"]["prompt_mode"]["default"] == "default"
    assert by_name["create_session"]["custom_system_prompt"]["maxLength"] == 102_400
    assert by_name["list_sessions"]["include_subagents"]["default"] is False
    assert by_name["rewind_session"]["cleanup_media"]["default"] is False
    callback = by_name["update_session_callbacks"]["callbacks"]["items"]
    assert callback["properties"]["type"]["enum"] == ["bash_script", "sub_agent", "send_message"]
    assert set(callback["required"]) == {"tool_name", "type"}


def test_annotations_follow_the_contract() -> None:
    hints = {op.name: op.annotations for op in OPERATIONS}
    readers = {"list_sessions", "get_session", "export_session", "list_messages"}
    readers |= {"list_session_files", "read_session_file"}
    assert {n for n, h in hints.items() if h["readOnlyHint"]} == readers
    assert {n for n, h in hints.items() if h["destructiveHint"]} == {
        "delete_session",
        "rewind_session",
        "update_session_callbacks",
        "answer_permission",
        # A file of the same name is replaced.
        "upload_session_file",
        "delete_session_file",
    }
    once = {"create_session", "fork_session", "send_message", "answer_permission", "answer_notification"}
    assert {n for n, h in hints.items() if not h["idempotentHint"]} == once
    assert all(isinstance(h["openWorldHint"], bool) for h in hints.values())


@pytest.mark.parametrize(
    ("tool", "sample"),
    [
        ("get_session", SESSION),
        ("get_session", NEWER_SESSION),
        ("get_session", {**SESSION, "parentSessionId": None, "callbacks": [{"toolName": "*", "type": "x"}]}),
        ("export_session", shape_transcript(TRANSCRIPT, ExportSessionArguments(session_id="s")).structured),
        (
            "export_session",
            shape_transcript(
                TRANSCRIPT, ExportSessionArguments(session_id="s", format="markdown", max_chars=2000, limit=1)
            ).structured,
        ),
        (
            "list_sessions",
            {
                "sessions": [NEWER_SESSION, SESSION],
                "count": 2,
                "total": 3,
                "offset": 0,
                "truncated": True,
                "next_arguments": {"limit": 2, "offset": 2},
            },
        ),
        ("delete_session", {"deleted": True, "session_id": "s"}),
    ],
)
def test_output_schema_accepts_what_mix_sends(tool: str, sample: dict[str, Any]) -> None:
    op = next(op for op in OPERATIONS if op.name == tool)
    jsonschema.Draft202012Validator.check_schema(op.output_schema)
    jsonschema.validate(sample, op.output_schema)
    assert "$ref" not in str(op.output_schema)


def test_tool_schema_snapshots_match_the_code() -> None:
    assert check_snapshots(ROOT / "tool_schemas") == []


def test_snapshot_drift_is_detected(tmp_path: Path) -> None:
    assert len(check_snapshots(tmp_path)) == len(OPERATIONS)
    (tmp_path / "ghost.json").write_text("{}")
    assert any("ghost.json: no such tool" in line for line in check_snapshots(tmp_path))


def test_readme_tool_table_matches_the_operation_table() -> None:
    assert render_table() in (ROOT / "README.md").read_text(encoding="utf-8")
