"""A version profile applied to requests and answers: the only code that reads ``MixProfile`` fields.

The handlers in ``app`` stay version-free; they call these functions at the few points where Mix
versions differ (decoding a body, refusing a request, shaping a session or a list, routing errors).
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from starlette.responses import PlainTextResponse, Response

from mix_mcp.emulator.profiles import SESSION_SETTINGS, MixProfile
from mix_mcp.emulator.validation import RequestError, parse_json_object
from mix_mcp.mix.models import BROWSER_MODES

#: Go's ``http.ServeMux`` bodies for a path it does not route and a method a path does not take.
ROUTER_NOT_FOUND: Final = "404 page not found\n"
ROUTER_METHOD_NOT_ALLOWED: Final = "Method Not Allowed\n"
NO_ROWS_MESSAGE: Final = "Internal error during deleting session: sql: no rows in result set"
FORK_INTERNAL_MESSAGE: Final = "Internal error during forking session"
_FIELD_FIRST: Final = re.compile(r"^([A-Za-z][A-Za-z0-9]*)(?:\[\d+\])?[ :]")


def router_answer(profile: MixProfile, status: int, allow: str | None) -> Response | None:
    """Go's text/plain 404/405 when the version routes like Go does, else ``None`` (the JSON envelope)."""
    if not profile.router_text or status not in (404, 405):
        return None
    if status == 404:
        return PlainTextResponse(ROUTER_NOT_FOUND, status_code=404)
    headers = {"Allow": allow} if allow else None
    return PlainTextResponse(ROUTER_METHOD_NOT_ALLOWED, status_code=405, headers=headers)


def validation_message(profile: MixProfile, message: str) -> str:
    """The message as this version words it: with ``Validation error for field 'x': `` when it does."""
    if not profile.validation_prefix:
        return message
    match = _FIELD_FIRST.match(message)
    name = match.group(1) if match else "body"
    return f"Validation error for field '{name}': {message}"


def decode_body(profile: MixProfile, operation_id: str, raw: bytes) -> dict[str, Any]:
    """The body as a JSON object; a strict version also refuses an empty body and unknown fields."""
    if profile.strict_bodies and not raw.strip():
        raise RequestError(400, "bad_request", "Invalid request format for 'body': EOF")
    body = parse_json_object(raw)
    if profile.strict_bodies:
        accepted = profile.body_fields.get(operation_id, frozenset())
        unknown = sorted(set(body) - accepted)
        if unknown:
            raise RequestError(400, "bad_request", f"Invalid request format for 'body': unknown field {unknown[0]!r}")
    return body


def _invalid(message: str) -> RequestError:
    return RequestError(400, "validation_error", message)


def session_settings(profile: MixProfile, body: dict[str, Any]) -> dict[str, str]:
    """The Feb 2026 create fields (browserMode, cdpUrl, modelId, provider), checked as that Mix does."""
    for name in profile.required_create:
        if name != "title" and body.get(name) in (None, ""):
            raise _invalid(f"{name} is required")
    settings: dict[str, str] = {}
    for name in SESSION_SETTINGS:
        value = body.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise _invalid(f"{name} must be a string")
        settings[name] = value
    mode = settings.get("browserMode")
    if mode is not None and mode not in BROWSER_MODES:
        raise _invalid("browserMode must be one of " + ", ".join(f"'{m}'" for m in BROWSER_MODES))
    cdp = settings.get("cdpUrl")
    if mode == "remote-cdp-websocket" and not cdp:
        raise _invalid("cdpUrl is required when browserMode is 'remote-cdp-websocket'")
    if cdp is not None and not cdp.startswith(("ws://", "wss://")):
        raise _invalid("cdpUrl must start with 'ws://' or 'wss://'")
    if "modelId" in settings and "provider" not in settings:
        raise _invalid("provider is required when modelId is set")
    return settings


def fork_index(profile: MixProfile, body: dict[str, Any]) -> dict[str, Any]:
    """The fork body with this version's ``messageIndex`` habits applied (default 0, smallest index)."""
    if profile.message_index_defaults_to_zero and body.get("messageIndex") is None:
        body = {**body, "messageIndex": 0}
    index = body.get("messageIndex")
    if isinstance(index, int) and not isinstance(index, bool) and 0 <= index < profile.min_message_index:
        raise _invalid(f"message index must be > {profile.min_message_index - 1}")
    return body


def cleanup_media(profile: MixProfile, body: dict[str, Any], given: bool) -> bool:
    """What the rewind's ``cleanupMedia`` means here: as sent, else this version's default."""
    return given if "cleanupMedia" in body else profile.cleanup_media_default


def present_session(profile: MixProfile, data: dict[str, Any], settings: dict[str, str] | None) -> dict[str, Any]:
    """A ``SessionData`` body as this version sends it (a version without forks shows a fork as main)."""
    shaped = {k: v for k, v in data.items() if k not in profile.absent_session_fields}
    if not profile.forked_sessions and shaped.get("sessionType") == "forked":
        shaped["sessionType"] = "main"
        shaped.pop("parentSessionId", None)
    if profile.default_browser_mode is not None:
        shaped["browserMode"] = profile.default_browser_mode
    if settings:
        shaped.update(settings)
    return shaped


def present_list(
    profile: MixProfile, sessions: list[dict[str, Any]], settings: dict[str, dict[str, str]]
) -> list[dict[str, Any]] | None:
    """The list body as this version sends it: items trimmed, and ``null`` for none where it did that."""
    if not sessions and profile.null_empty_list:
        return None
    items = []
    for data in sessions:
        shaped = present_session(profile, data, settings.get(str(data["id"])))
        items.append({k: v for k, v in shaped.items() if k not in profile.absent_list_fields})
    return items


def callbacks_for(profile: MixProfile, body: dict[str, Any]) -> dict[str, Any]:
    """The body with ``excludeFromContext: false`` dropped from send_message callbacks where the version allows it.

    Go decodes the field into a plain bool, so such a Mix cannot tell false from absent; only ``true`` is
    refused. Mix's SDK serialises every callback with its defaults, false included.
    """
    callbacks = body.get("callbacks")
    if not profile.send_message_exclude_false or not isinstance(callbacks, list):
        return body
    cleaned = [
        {k: v for k, v in item.items() if not (k == "excludeFromContext" and v is False)}
        if isinstance(item, dict) and item.get("type") == "send_message"
        else item
        for item in callbacks
    ]
    return {**body, "callbacks": cleaned}


def present_export(profile: MixProfile, document: bytes) -> bytes:
    """An ``ExportSession`` document as this version sends it (tool calls without the fields it lacks)."""
    if not profile.absent_export_tool_call_fields:
        return document
    data = json.loads(document)
    for message in data["messages"]:
        calls = message.get("toolCalls")
        if calls:
            message["toolCalls"] = [
                {k: v for k, v in call.items() if k not in profile.absent_export_tool_call_fields} for call in calls
            ]
    return json_bytes(data)


def json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
