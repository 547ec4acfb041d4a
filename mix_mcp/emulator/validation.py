"""Request-body checks with Mix's own status codes, error types and messages.

The emulator exists so that the client can be tested against the answers Mix gives, so the messages
here are the contract's, word for word where the contract spells them out. A body that is not a JSON
object is a ``bad_request``; anything wrong inside an object is a ``validation_error``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Final, NoReturn

from mix_mcp.mix.models import CALLBACK_TYPES, PROMPT_LIMIT_BYTES, PROMPT_MODES, callback_rule_violations

DEFAULT_FORK_TITLE: Final = "Forked Session"

#: JSON type of every optional callback field the contract defines (``toolName`` and ``type`` are checked apart).
_CALLBACK_FIELD_TYPES: Final[dict[str, type]] = {
    "name": str,
    "bashCommand": str,
    "bashTimeout": int,
    "excludeFromContext": bool,
    "includeFullHistory": bool,
    "messageContent": str,
    "subAgentPrompt": str,
    "subAgentType": str,
}

_TYPE_NAMES: Final[dict[type, str]] = {str: "a string", int: "an integer", bool: "a boolean"}

_PROMPT_MODE_MESSAGE: Final = "promptMode must be 'default', 'append', or 'replace'"
_CALLBACK_TYPE_MESSAGE: Final = (
    "type must be " + ", ".join(f"'{t}'" for t in CALLBACK_TYPES[:-1]) + f", or '{CALLBACK_TYPES[-1]}'"
)
_SESSION_TYPE_MESSAGE: Final = (
    "API can only create main sessions. Use /fork endpoint for forked sessions. "
    "Subagent sessions are created automatically."
)
_SUBAGENT_TYPE_MESSAGE: Final = (
    "subagentType cannot be set for API-created sessions. "
    "Subagent sessions are created programmatically by the task delegation system."
)


class RequestError(Exception):
    """A request Mix would refuse, carrying the pieces of its error envelope."""

    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message


def _invalid(message: str) -> NoReturn:
    raise RequestError(400, "validation_error", message)


@dataclass(frozen=True, slots=True)
class CreateSessionRequest:
    title: str
    prompt_mode: str
    custom_system_prompt: str | None
    callbacks: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class ForkRequest:
    message_index: int
    title: str


@dataclass(frozen=True, slots=True)
class RewindRequest:
    message_id: str
    cleanup_media: bool


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """Decode a request body that must be a JSON object (NaN and Infinity are not JSON)."""
    try:
        body = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise RequestError(400, "bad_request", "Invalid JSON in request body") from None
    if not isinstance(body, dict):
        raise RequestError(400, "bad_request", "Request body must be a JSON object")
    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        # JSON's \ud83d escape is grammatical but names no character (half of an emoji cut in two).
        raise RequestError(
            400, "bad_request", "Request body holds a string that is not valid Unicode (a lone surrogate escape)"
        ) from None
    return body


def _is_int(value: object) -> bool:
    """A JSON integer: ``true`` is not one, and neither is ``1.0`` (Mix decodes into an int)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _has_type(value: object, expected: type) -> bool:
    return _is_int(value) if expected is int else isinstance(value, expected)


def _optional_str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        _invalid(f"{key} must be a string")
    return value


def _kilobytes(size: int) -> int:
    """Rounded up, so that 51,201 bytes reads as 51KB over a 50KB limit rather than 50KB over 50KB."""
    return math.ceil(size / 1024)


def parse_create_session(
    body: dict[str, Any], session_type_message: str = _SESSION_TYPE_MESSAGE
) -> CreateSessionRequest:
    title = body.get("title")
    if title is not None and not isinstance(title, str):
        _invalid("title must be a string")
    if title is None or not title.strip():
        _invalid("title is required")

    prompt_mode = body.get("promptMode")
    if prompt_mode is None:
        prompt_mode = "default"
    elif prompt_mode not in PROMPT_MODES:
        _invalid(_PROMPT_MODE_MESSAGE)

    prompt = _optional_str(body, "customSystemPrompt")
    limit = PROMPT_LIMIT_BYTES.get(prompt_mode)
    if prompt is not None and limit is not None:
        size = len(prompt.encode("utf-8"))
        if size > limit:
            _invalid(f"Custom prompt size ({_kilobytes(size)}KB) exceeds {prompt_mode} mode limit of {limit // 1024}KB")

    session_type = body.get("sessionType")
    if session_type is not None and session_type != "main":
        _invalid(session_type_message)
    if body.get("subagentType") is not None:
        _invalid(_SUBAGENT_TYPE_MESSAGE)

    callbacks = parse_callbacks(body["callbacks"]) if body.get("callbacks") is not None else []
    return CreateSessionRequest(title=title, prompt_mode=prompt_mode, custom_system_prompt=prompt, callbacks=callbacks)


def parse_callbacks_update(body: dict[str, Any]) -> list[dict[str, Any]]:
    """``{"callbacks": [...]}``: the key is required, ``[]`` clears."""
    if body.get("callbacks") is None:
        _invalid("callbacks is required")
    return parse_callbacks(body["callbacks"])


def parse_callbacks(value: object) -> list[dict[str, Any]]:
    """Check each callback and keep only the contract's fields, dropping nulls (Mix has no use for them)."""
    if not isinstance(value, list):
        _invalid("callbacks must be an array")
    cleaned: list[dict[str, Any]] = []
    problems: list[str] = []
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            problems.append(f"callbacks[{index}]: must be an object")
            continue
        callback, item_problems = _check_callback(item)
        problems.extend(f"callbacks[{index}]: {problem}" for problem in item_problems)
        cleaned.append(callback)
    if problems:
        _invalid("; ".join(problems))
    return cleaned


def _check_callback(item: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    problems: list[str] = []
    tool_name = item.get("toolName")
    if tool_name is not None and not isinstance(tool_name, str):
        problems.append("toolName must be a string")
    elif not tool_name:
        problems.append("toolName is required")
    callback_type = item.get("type")
    if callback_type is None or callback_type == "":
        problems.append("type is required")
    elif callback_type not in CALLBACK_TYPES:
        problems.append(_CALLBACK_TYPE_MESSAGE)
    callback: dict[str, Any] = {"toolName": tool_name, "type": callback_type}
    for key, expected in _CALLBACK_FIELD_TYPES.items():
        value = item.get(key)
        if value is None:
            continue
        if not _has_type(value, expected):
            problems.append(f"{key} must be {_TYPE_NAMES[expected]}")
            continue
        callback[key] = value
    if not problems:
        problems.extend(callback_rule_violations(str(callback_type), callback, wire_names=True))
    return callback, problems


def parse_fork(body: dict[str, Any]) -> ForkRequest:
    index = body.get("messageIndex")
    if index is None:
        _invalid("messageIndex is required")
    if not _is_int(index):
        _invalid("messageIndex must be an integer")
    if index < 0:
        _invalid("messageIndex must be >= 0")
    title = _optional_str(body, "title")
    return ForkRequest(message_index=index, title=title or DEFAULT_FORK_TITLE)


def parse_rewind(body: dict[str, Any]) -> RewindRequest:
    message_id = _optional_str(body, "messageId")
    if not message_id:
        _invalid("messageId is required")
    cleanup = body.get("cleanupMedia")
    if cleanup is not None and not isinstance(cleanup, bool):
        _invalid("cleanupMedia must be a boolean")
    return RewindRequest(message_id=message_id, cleanup_media=True if cleanup is None else cleanup)


#: ``thinking_level`` values of a message (Feb 2026); ``null`` means "decided by the message's wording".
THINKING_LEVELS: Final = ("off", "basic", "medium", "maximum")
#: ``type`` values of a notification answer.
NOTIFICATION_ANSWER_TYPES: Final = ("acknowledge", "text", "choice")


@dataclass(frozen=True, slots=True)
class MessageRequest:
    text: str
    plan_mode: bool
    max_steps: int | None
    thinking_level: str | None


def parse_message(body: dict[str, Any], accepted: frozenset[str]) -> MessageRequest:
    """A ``sendMessage`` body; ``accepted`` is the field set of the Mix version (older ones lack the Feb 2026 ones)."""
    unknown = sorted(set(body) - accepted)
    if unknown:
        _invalid(f"unknown field(s): {', '.join(unknown)}")
    text, plan_mode = body.get("text"), body.get("plan_mode")
    if not isinstance(text, str) or not text.strip():
        _invalid("text is required")
    if plan_mode is None:
        plan_mode = False
    elif not isinstance(plan_mode, bool):
        _invalid("plan_mode must be a boolean")
    max_steps = body.get("max_steps")
    if max_steps is not None and (not _is_int(max_steps) or max_steps < 1):
        _invalid("max_steps must be an integer >= 1")
    level = body.get("thinking_level")
    if level is not None and level not in THINKING_LEVELS:
        _invalid("thinking_level must be one of " + ", ".join(f"'{v}'" for v in THINKING_LEVELS))
    return MessageRequest(text=text, plan_mode=plan_mode, max_steps=max_steps, thinking_level=level)


def parse_notification_answer(body: dict[str, Any], response_type: str, choices: tuple[str, ...]) -> str:
    """The value of a ``respondToNotification`` body, checked against the question it answers.

    The contract lists no 400 for this route; a body that cannot answer the question (another type, a
    choice that was not offered) is refused here as any malformed body is, so a client hears of it
    instead of the agent going on with a wrong answer.
    """
    answer_type, value = body.get("type"), body.get("value")
    if answer_type is None or answer_type == "":
        _invalid("type is required")
    if answer_type not in NOTIFICATION_ANSWER_TYPES:
        _invalid("type must be " + ", ".join(f"'{t}'" for t in NOTIFICATION_ANSWER_TYPES[:-1]) + ", or 'choice'")
    if value is not None and not isinstance(value, str):
        _invalid("value must be a string")
    if answer_type != response_type:
        _invalid(f"type must be '{response_type}' for this notification")
    if answer_type == "acknowledge":
        return value or ""
    if not value:
        _invalid(f"value is required for a {answer_type} answer")
    if answer_type == "choice" and value not in choices:
        _invalid("value must be one of the choices: " + ", ".join(f"'{c}'" for c in choices))
    return value


#: Boolean spellings accepted in query flags (the usual server-side set, not only 'true' and 'false').
_TRUE: Final = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE: Final = frozenset({"0", "f", "F", "FALSE", "false", "False"})


def parse_bool_query(name: str, value: str | None, *, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    _invalid(f"{name} must be 'true' or 'false'")
