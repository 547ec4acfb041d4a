"""Contract models: lenient toward what a newer Mix sends, strict toward what an agent asks."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from mix_mcp.mix.models import CallbackInput, ExportSession, SessionData, callback_rule_violations
from tests.unit.fakes import NEWER_SESSION, SESSION, TRANSCRIPT


def test_unknown_session_fields_pass_through() -> None:
    session = SessionData.model_validate(NEWER_SESSION)
    dumped = session.model_dump(exclude_none=True)
    assert dumped["modelId"] == "gemini-3-flash-preview"
    assert dumped["browserMode"] == "local-browser-service"
    assert dumped["createdAt"] == SESSION["createdAt"]


def test_newer_tool_call_shape_parses() -> None:
    export = ExportSession.model_validate(TRANSCRIPT)
    call = export.messages[1].tool_calls
    assert call is not None and call[0].is_error is None
    assert call[0].model_extra == {"screenshotUrls": []}


def test_null_optional_fields_are_accepted() -> None:
    assert SessionData.model_validate({**SESSION, "parentSessionId": None}).parent_session_id is None


def test_missing_required_field_is_rejected() -> None:
    broken = dict(SESSION)
    del broken["title"]
    with pytest.raises(ValidationError, match="title"):
        SessionData.model_validate(broken)


def test_a_new_callback_type_from_mix_still_parses() -> None:
    session = SessionData.model_validate({**SESSION, "callbacks": [{"toolName": "*", "type": "webhook", "url": "u"}]})
    assert session.callbacks is not None and session.callbacks[0].type == "webhook"


@pytest.mark.parametrize(
    ("callback", "problem"),
    [
        ({"tool_name": "*", "type": "bash_script"}, "bash_command is required"),
        ({"tool_name": "*", "type": "sub_agent"}, "sub_agent_prompt is required"),
        ({"tool_name": "*", "type": "send_message"}, "message_content is required"),
        (
            {"tool_name": "*", "type": "send_message", "message_content": "x", "exclude_from_context": False},
            "exclude_from_context is not allowed",
        ),
        ({"type": "bash_script", "bash_command": "ls"}, "tool_name"),
    ],
)
def test_callback_rules(callback: dict[str, object], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        CallbackInput.model_validate(callback)


def test_valid_callbacks_serialize_to_wire_names() -> None:
    callback = CallbackInput.model_validate(
        {"tool_name": "Bash", "type": "sub_agent", "sub_agent_prompt": "check", "include_full_history": True}
    )
    assert callback.model_dump(exclude_none=True) == {
        "toolName": "Bash",
        "type": "sub_agent",
        "subAgentPrompt": "check",
        "includeFullHistory": True,
    }


def test_rules_speak_wire_names_for_the_emulator() -> None:
    assert callback_rule_violations("bash_script", {}, wire_names=True) == [
        "bashCommand is required for bash_script callbacks"
    ]
