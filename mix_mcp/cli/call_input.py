"""What a person types after ``mix-mcp call TOOL``: ``key=value`` pairs (or one JSON object) -> tool arguments.

A shell is not a JSON editor: ``session_id=3f1c... limit=2`` is what people type, so each value is
converted to the type the tool's input schema gives that argument (``limit=2`` the integer 2,
``roles=user,tool`` a list). Near-miss names of tools and arguments get a "did you mean", and every
refusal shows the tool's arguments, so the next attempt is the right one. The server still validates
every call; this only turns text into the JSON it expects.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from mix_mcp.suggestions import did_you_mean
from mix_mcp.tools.arguments import FALSE_WORDS, TRUE_WORDS
from mix_mcp.tools.operations import OPERATIONS, Operation


class CallInputError(ValueError):
    """The command line does not name a tool or its arguments; the message says what to type instead."""


def find_operation(name: str) -> Operation:
    by_name = {op.name: op for op in OPERATIONS}
    if name in by_name:
        return by_name[name]
    raise CallInputError(
        f"unknown tool {name!r}.{did_you_mean(name, by_name)} Tools: {', '.join(by_name)} "
        "(`mix-mcp tools` describes them)."
    )


def _kind(schema: Mapping[str, Any]) -> str | None:
    """The JSON type of a property; ``null`` aside, which optional ones also accept (it means left out)."""
    kind = schema.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        return str(kinds[0]) if len(kinds) == 1 else None
    return kind if isinstance(kind, str) else None


def _type_name(schema: Mapping[str, Any]) -> str:
    kind = _kind(schema) or "any"
    if "enum" in schema:
        return " | ".join(str(v) for v in schema["enum"] if v is not None)
    if kind == "array":
        items = schema.get("items", {})
        return f"list of {_type_name(items) if _kind(items) != 'object' else 'objects (JSON)'}"
    return str(kind)


def argument_lines(op: Operation) -> list[str]:
    """One line per argument: name, type, required or not, and its description."""
    schema = op.input_schema
    required = set(schema.get("required", ()))
    lines = []
    for name, prop in schema.get("properties", {}).items():
        need = "required" if name in required else "optional"
        lines.append(f"  {name} ({_type_name(prop)}, {need}): {prop.get('description', '')}".rstrip())
    return lines or ["  (no arguments)"]


def arguments_help(op: Operation) -> str:
    return f"Arguments of {op.name}:\n" + "\n".join(argument_lines(op))


def _convert(name: str, text: str, schema: Mapping[str, Any]) -> Any:
    kind = _kind(schema)
    try:
        if kind == "integer":
            return int(text)
        if kind == "number":
            return float(text)
    except ValueError:
        raise CallInputError(f"{name} takes a number ({kind}), got {text!r}") from None
    if kind == "boolean":
        if text.lower() in TRUE_WORDS:
            return True
        if text.lower() in FALSE_WORDS:
            return False
        raise CallInputError(f"{name} takes true or false, got {text!r}")
    if kind == "string":
        return text
    if kind == "array":
        if text.lstrip().startswith("["):
            return _json(name, text)
        items = schema.get("items", {})
        if _kind(items) in ("object", "array"):
            raise CallInputError(f"{name} takes a JSON list, e.g. {name}='[{{...}}]'")
        return [_convert(name, part.strip(), items) for part in text.split(",") if part.strip()]
    if kind == "object":
        return _json(name, text)
    # No declared type: JSON when it reads as JSON, else the text itself.
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _json(name: str, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CallInputError(f"{name} is not valid JSON ({exc.msg} at position {exc.pos})") from None


def parse_call_arguments(op: Operation, words: Sequence[str]) -> dict[str, Any]:
    """The arguments object for ``op`` from ``words``: an optional JSON object, then ``key=value`` pairs."""
    schema = op.input_schema
    properties: Mapping[str, Any] = schema.get("properties", {})
    arguments: dict[str, Any] = {}
    for position, word in enumerate(words):
        if position == 0 and word.lstrip().startswith("{"):
            try:
                given = json.loads(word)
            except json.JSONDecodeError as exc:
                raise CallInputError(
                    f"ARGS is not valid JSON ({exc.msg} at position {exc.pos}); pass an object like '{{}}' "
                    "or key=value pairs."
                ) from None
            if not isinstance(given, dict):
                raise CallInputError('ARGS must be a JSON object, e.g. \'{"session_id": "..."}\', or key=value pairs.')
            arguments.update(given)
            continue
        name, sep, value = word.partition("=")
        if not sep or not name:
            raise CallInputError(f"{word!r} is not key=value (e.g. session_id=3f1c...).\n{arguments_help(op)}")
        if name not in properties:
            raise CallInputError(
                f"{op.name} has no argument {name!r}.{did_you_mean(name, properties)}\n{arguments_help(op)}"
            )
        try:
            converted = _convert(name, value, properties[name])
        except CallInputError as exc:
            raise CallInputError(f"{exc} (`mix-mcp tools {op.name}` lists the arguments and their types)") from None
        if name in arguments and isinstance(arguments[name], list) and isinstance(converted, list):
            arguments[name] = [*arguments[name], *converted]
        else:
            arguments[name] = converted
    for name in arguments:
        if name not in properties:
            raise CallInputError(
                f"{op.name} has no argument {name!r}.{did_you_mean(name, properties)}\n{arguments_help(op)}"
            )
    return arguments


def printable_result(structured: Any, text: str) -> str:
    """What ``call`` prints: the result's text when it is not JSON (a Markdown transcript), else the JSON, indented."""
    try:
        json.loads(text)
    except (json.JSONDecodeError, TypeError):
        if text.strip():
            return text
    return json.dumps(structured, indent=2, ensure_ascii=False)
