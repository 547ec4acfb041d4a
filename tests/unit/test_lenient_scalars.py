"""Numbers and booleans sent as text: read as the value they spell where the argument takes no text."""

from __future__ import annotations

from typing import Any

import pytest

from mix_mcp.cli.call_input import argument_lines
from mix_mcp.mix.errors import ArgumentsError
from mix_mcp.tools.arguments import lenient_scalar
from mix_mcp.tools.operations import OPERATIONS_BY_NAME


@pytest.mark.parametrize(
    ("value", "annotation", "expected"),
    [
        ("2", int, 2),
        (" -3 ", int | None, -3),
        ("2", float, 2.0),
        ("2.5e1", float | None, 25.0),
        ("yes", bool, True),
        ("Off", bool | None, False),
        ("0", bool, False),
        ("2", str, "2"),  # text stays text
        ("2", str | None, "2"),
        ("two", int, "two"),  # spells no number: left for validation to refuse
        ("2.5", int, "2.5"),
        ("maybe", bool, "maybe"),
        (2, int, 2),
        (1, bool, 1),  # not text: untouched, and strict validation refuses it
    ],
)
def test_lenient_scalar(value: Any, annotation: Any, expected: Any) -> None:
    result = lenient_scalar(value, annotation)
    assert result == expected and type(result) is type(expected)


def test_nested_callback_fields_are_read_too() -> None:
    args = OPERATIONS_BY_NAME["create_session"].parse(
        {
            "title": "t",
            "callbacks": [
                {"tool_name": "*", "type": "bash_script", "bash_command": "ls", "bash_timeout": "100", "name": "7"}
            ],
        }
    )
    (callback,) = args.callbacks  # type: ignore[attr-defined]
    assert callback.bash_timeout == 100 and callback.name == "7"


def test_text_that_spells_no_value_is_still_refused() -> None:
    with pytest.raises(ArgumentsError) as caught:
        OPERATIONS_BY_NAME["answer_permission"].parse({"permission_id": "p", "grant": "perhaps"})
    assert "grant" in str(caught.value)


def test_the_command_line_names_the_type_of_a_nullable_argument() -> None:
    lines = "\n".join(argument_lines(OPERATIONS_BY_NAME["export_session"]))
    assert "limit (integer, optional)" in lines and "format (json | markdown, optional)" in lines
    assert "None" not in lines and "null" not in lines
