"""The shaping function alone: windows, filters, budgets and formats over a synthetic transcript."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mix_mcp.mix.errors import ErrorHints
from mix_mcp.tools.arguments import ExportSessionArguments
from mix_mcp.tools.operations import OPERATIONS_BY_NAME
from mix_mcp.tools.rendering import Shaped
from mix_mcp.tools.transcripts import UnknownMessageError, shape_transcript

EXPORT_SCHEMA = OPERATIONS_BY_NAME["export_session"].output_schema
ROLES = ("user", "assistant", "tool")


def _message(index: int, size: int = 40) -> dict[str, Any]:
    role = ROLES[index % 3]
    message: dict[str, Any] = {
        "id": f"msg_{index:04d}",
        "role": role,
        "content": f"[{index}] " + "x" * size + ' "quoted" `code` \n line',
        "createdAt": "2026-01-05T10:00:00Z",
        "updatedAt": "2026-01-05T10:00:00Z",
        "futureField": {"kept": True},
    }
    if role == "assistant":
        message["reasoning"] = f"think {index}"
        message["toolCalls"] = [
            {
                "id": f"t{index}",
                "name": "Bash",
                "input": '{"command": "ls"}',
                "inputJson": {"command": "ls"},
                "type": "function",
                "finished": True,
                "result": "r" * size,
            }
        ]
    return message


def _export(count: int, size: int = 40) -> dict[str, Any]:
    return {"id": "s1", "title": "Synthetic", "cost": 1.5, "messages": [_message(i, size) for i in range(count)]}


def shape(export: dict[str, Any], **options: Any) -> Shaped:
    shaped = shape_transcript(export, ExportSessionArguments.model_validate({"session_id": "s1", **options}))
    jsonschema.validate(shaped.structured, EXPORT_SCHEMA)
    return shaped


def test_default_returns_every_message_as_mix_sent_it_with_its_index() -> None:
    export = _export(7)
    shaped = shape(export)
    result = shaped.structured
    assert shaped.text == json.dumps(result, ensure_ascii=False, separators=(",", ":"))
    assert [m["index"] for m in result["messages"]] == list(range(7))
    for original, returned in zip(export["messages"], result["messages"], strict=True):
        assert {k: v for k, v in returned.items() if k != "index"} == original
    assert result["total_messages"] == 7 and result["truncated"] is False and result["next_arguments"] is None
    assert result["window"] == {"offset": 0, "limit": None, "returned": 7, "next_offset": None}
    assert result["cost"] == 1.5 and result["format"] == "json"


def test_roles_filter_keeps_the_indexes_of_the_full_transcript() -> None:
    result = shape(_export(10), roles=["user"]).structured
    assert [m["index"] for m in result["messages"]] == [0, 3, 6, 9]
    assert {m["role"] for m in result["messages"]} == {"user"}


def test_window_arithmetic_with_offset_limit_and_a_filter() -> None:
    export = _export(20)
    first = shape(export, roles=["assistant"], limit=3, offset=2).structured
    assert [m["index"] for m in first["messages"]] == [4, 7, 10]
    assert first["window"] == {"offset": 2, "limit": 3, "returned": 3, "next_offset": 13}
    assert first["next_arguments"] == {"session_id": "s1", "roles": ["assistant"], "limit": 3, "offset": 13}
    last = shape(export, **first["next_arguments"]).structured
    assert [m["index"] for m in last["messages"]] == [13, 16, 19]
    assert last["window"]["next_offset"] is None and last["next_arguments"] is None
    beyond = shape(export, offset=25).structured
    assert beyond["messages"] == [] and beyond["window"]["next_offset"] is None


def test_a_limit_that_ends_exactly_at_the_last_kept_message_has_no_next_window() -> None:
    result = shape(_export(9), roles=["tool"], limit=3).structured
    assert [m["index"] for m in result["messages"]] == [2, 5, 8]
    assert result["window"]["next_offset"] is None


def test_after_message_id_starts_just_after_it_and_an_unknown_id_is_an_actionable_error() -> None:
    export = _export(6)
    result = shape(export, after_message_id="msg_0003").structured
    assert [m["index"] for m in result["messages"]] == [4, 5]
    assert result["window"]["offset"] == 4
    with pytest.raises(UnknownMessageError) as caught:
        shape(export, after_message_id="msg_nope")
    text = caught.value.describe(ErrorHints())
    assert "msg_nope" in text and "6 messages" in text and "offset" in text


def test_offset_and_after_message_id_are_exclusive() -> None:
    with pytest.raises(ValueError, match="either offset or after_message_id"):
        ExportSessionArguments.model_validate({"session_id": "s", "offset": 1, "after_message_id": "m"})


def test_reasoning_tool_calls_and_tool_results_can_be_left_out() -> None:
    export = _export(6)
    no_reasoning = shape(export, include_reasoning=False).structured["messages"]
    assert all("reasoning" not in m for m in no_reasoning)
    assert no_reasoning[1]["toolCalls"][0]["result"]
    no_calls = shape(export, include_tool_calls=False).structured["messages"]
    assert all("toolCalls" not in m for m in no_calls) and no_calls[1]["reasoning"] == "think 1"
    no_results = shape(export, include_tool_results=False).structured["messages"]
    assert [m["index"] for m in no_results] == [0, 1, 3, 4]  # role 'tool' messages hold tool output
    assert no_results[1]["toolCalls"][0] == {k: v for k, v in _message(1)["toolCalls"][0].items() if k != "result"}
    assert export["messages"][1]["toolCalls"][0]["result"], "shaping must not change Mix's data"


def _read_all(export: dict[str, Any], **options: Any) -> tuple[list[int], list[Shaped]]:
    """Follow next_arguments from the first window to the last; return the indexes seen and the results."""
    arguments: dict[str, Any] | None = {"session_id": "s1", **options}
    seen: list[int] = []
    results: list[Shaped] = []
    for _ in range(len(export["messages"]) + 1):
        if arguments is None:
            break
        shaped = shape(export, **arguments)
        results.append(shaped)
        structured = shaped.structured
        if structured["format"] == "json":
            seen += [m["index"] for m in structured["messages"]]
        else:
            seen += [int(i) for i in re.findall(r"^## \[(\d+)\]", shaped.render_text(), re.MULTILINE)]
        arguments = structured["next_arguments"]
    assert arguments is None, "the windows never reached the end"
    return seen, results


@pytest.mark.parametrize("form", ["json", "markdown"])
@pytest.mark.parametrize("max_chars", [2_000, 2_345, 5_000, 40_000])
def test_max_chars_windows_cover_the_transcript_once_and_each_fits(form: str, max_chars: int) -> None:
    export = _export(60, size=150)
    seen, results = _read_all(export, max_chars=max_chars, format=form)
    assert seen == list(range(60))
    for shaped in results:
        assert len(shaped.render_text()) <= max_chars
        if form == "json":
            assert json.loads(shaped.render_text()) == shaped.structured
    assert all(r.structured["truncated"] for r in results[:-1])


@settings(max_examples=25, deadline=None)
@given(
    count=st.integers(min_value=0, max_value=40),
    size=st.integers(min_value=0, max_value=2_500),
    max_chars=st.integers(min_value=2_000, max_value=20_000),
    limit=st.one_of(st.none(), st.integers(min_value=1, max_value=7)),
    roles=st.one_of(st.none(), st.lists(st.sampled_from(ROLES), min_size=1, max_size=3, unique=True)),
    form=st.sampled_from(["json", "markdown"]),
)
def test_any_window_sequence_returns_each_kept_message_once_within_budget(
    count: int, size: int, max_chars: int, limit: int | None, roles: list[str] | None, form: str
) -> None:
    export = _export(count, size)
    options: dict[str, Any] = {"max_chars": max_chars, "format": form}
    if limit is not None:
        options["limit"] = limit
    if roles is not None:
        options["roles"] = roles
    seen, results = _read_all(export, **options)
    kept = [i for i, m in enumerate(export["messages"]) if roles is None or m["role"] in roles]
    assert seen == kept
    assert all(len(r.render_text()) <= max_chars for r in results)


def test_a_message_larger_than_the_budget_is_cut_marked_and_the_next_window_follows_it() -> None:
    export = _export(3, size=50_000)
    shaped = shape(export, max_chars=5_000)
    result = shaped.structured
    assert len(shaped.render_text()) <= 5_000
    (message,) = result["messages"]
    assert message["index"] == 0 and message["truncated"] is True
    assert re.search(r"… \[cut [\d,]+ characters\]$", message["content"])
    assert result["truncated"] is True and result["window"]["next_offset"] == 1
    assert export["messages"][0]["content"].startswith(message["content"].split(" … [cut")[0])
    seen, _ = _read_all(export, max_chars=5_000, format="markdown")
    assert seen == [0, 1, 2]


def test_markdown_shows_index_id_role_reasoning_and_tool_calls() -> None:
    export = _export(3)
    export["messages"][1]["toolCalls"][0]["result"] = "has ``` fences"
    shaped = shape(export, format="markdown")
    text = shaped.render_text()
    assert shaped.structured["markdown"] == text and "messages" not in shaped.structured
    assert text.startswith("# Synthetic\n")
    for index in range(3):
        assert f"## [{index}] {ROLES[index]} · msg_{index:04d}\n" in text
    assert "> think 1" in text and "**Tool call** `Bash` · t1" in text
    assert "````text\nhas ``` fences\n````" in text
    assert "This is the end of the transcript." in text


def test_markdown_continuation_names_the_exact_next_call() -> None:
    shaped = shape(_export(5), format="markdown", limit=2)
    arguments = {"session_id": "s1", "limit": 2, "format": "markdown", "offset": 2}
    assert shaped.structured["next_arguments"] == arguments
    assert json.dumps(arguments, separators=(",", ":")) in shaped.render_text()
