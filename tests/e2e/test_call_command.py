"""``mix-mcp call`` for a person at a shell: key=value arguments, suggestions, readable results, --db."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import run_cli

SESSION = "3f1c9a52-7b2e-4d8a-9c61-0e5b7a2d4f10"  # the emulator's 'Fix flaky pagination test'


def test_key_value_arguments_are_typed_from_the_schema() -> None:
    completed = run_cli(
        "call", "export_session", f"session_id={SESSION}", "limit=2", "roles=user,assistant",
        "include_reasoning=false", "--emulator",
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout)
    assert result["window"]["returned"] == 2 and result["window"]["limit"] == 2
    assert {m["role"] for m in result["messages"]} <= {"user", "assistant"}
    assert all("reasoning" not in m for m in result["messages"])


def test_json_arguments_still_work_and_key_values_add_to_them() -> None:
    completed = run_cli("call", "export_session", json.dumps({"session_id": SESSION}), "limit=1", "--emulator")
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["window"]["returned"] == 1


def test_a_value_of_the_wrong_type_is_refused_before_the_call() -> None:
    completed = run_cli("call", "export_session", f"session_id={SESSION}", "limit=two", "--emulator")
    assert completed.returncode == 2
    assert "limit takes a number (integer), got 'two'" in completed.stderr
    assert "mix-mcp tools export_session" in completed.stderr


def test_a_near_miss_tool_name_gets_a_suggestion() -> None:
    completed = run_cli("call", "list_session", "--emulator")
    assert completed.returncode == 2
    assert "unknown tool 'list_session'. Did you mean 'list_sessions'?" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_a_near_miss_argument_name_gets_a_suggestion_and_the_tool_arguments() -> None:
    completed = run_cli("call", "get_session", "sesion_id=abc", "--emulator")
    assert completed.returncode == 2
    assert "get_session has no argument 'sesion_id'. Did you mean 'session_id'?" in completed.stderr
    assert "Arguments of get_session:\n  session_id (string, required)" in completed.stderr


def test_an_invalid_argument_error_shows_the_tool_arguments() -> None:
    completed = run_cli("call", "fork_session", f"session_id={SESSION}", "message_index=-1", "--emulator")
    assert completed.returncode == 1
    assert "Invalid arguments for fork_session" in completed.stderr
    assert "message_index (integer, required)" in completed.stderr
    assert "`mix-mcp tools fork_session`" in completed.stderr


def test_tools_tool_describes_one_tool_and_suggests_on_a_near_miss() -> None:
    completed = run_cli("tools", "rewind_session")
    assert completed.returncode == 0
    assert "message_id (string, required)" in completed.stdout
    assert "cleanup_media (boolean, optional)" in completed.stdout
    missed = run_cli("tools", "rewind")
    assert missed.returncode == 2 and "Did you mean 'rewind_session'?" in missed.stderr


def test_markdown_results_print_as_markdown() -> None:
    completed = run_cli("call", "export_session", f"session_id={SESSION}", "format=markdown", "limit=1", "--emulator")
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith("# Fix flaky pagination test\n")
    assert "\n## [0] user · msg_" in completed.stdout
    assert "\\n" not in completed.stdout  # not an escaped JSON string


@pytest.mark.slow
def test_emulator_state_outlives_the_call_and_db_keeps_a_private_one(tmp_path: Path) -> None:
    created = run_cli("call", "create_session", "title=kept", "--emulator")
    assert created.returncode == 0, created.stderr
    assert "state lasts this one call" not in created.stderr
    kept = run_cli("call", "list_sessions", "--emulator")
    assert json.loads(created.stdout)["id"] in kept.stdout  # the per-user emulator kept it
    db = tmp_path / "mix.db"
    first = run_cli("call", "create_session", "title=Kept between calls", "--emulator", "--db", str(db))
    assert first.returncode == 0, first.stderr
    session_id = json.loads(first.stdout)["id"]
    listed = run_cli("call", "list_sessions", "--emulator", "--db", str(db))
    assert listed.returncode == 0, listed.stderr
    assert session_id in [s["id"] for s in json.loads(listed.stdout)["sessions"]]
    shared = run_cli("call", "list_sessions", "--emulator")
    assert session_id not in shared.stdout  # --db is its own, private emulator
