"""Putting a Mix agent's question (a ``notification`` event) to the user, by MCP elicitation.

A notification of type ``question``, or one that asks for ``text`` or a ``choice``, pauses the run
until someone answers ``POST /api/notifications/{id}/respond``. The one who may answer is the user:
nothing here answers on the user's behalf. The form follows the expected answer: a ``choice`` is
an enum of Mix's choices, ``text`` a string, ``acknowledge`` a confirmation box. A dismissal, a
decline or an unticked confirmation answers nothing: the question stays pending, for
``answer_notification``. How the question travels (a server-to-client request before 2026-07-28,
an ``InputRequiredResult`` from 2026-07-28) is as for permissions (``tools.permissions``).
"""

from __future__ import annotations

from typing import Any, Final

import mcp_types as types

#: Key of the question in ``input_requests`` / ``input_responses``.
NOTIFICATION_KEY: Final = "mix_mcp_notification"
_FIELD: Final = "answer"
_FIELD_CHARS: Final = 4000


def _clean(value: Any) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= _FIELD_CHARS else text[:_FIELD_CHARS] + " …"


def schema(notification: dict[str, Any]) -> dict[str, Any]:
    """The form: one field whose type follows the answer Mix expects."""
    kind = notification.get("response_type")
    choices = notification.get("choices") or []
    if kind == "choice" and choices:
        prop: dict[str, Any] = {"type": "string", "title": "Answer", "enum": list(choices)}
    elif kind in ("text", "choice"):
        prop = {"type": "string", "title": "Answer", "description": "Your answer for the Mix agent."}
    else:
        prop = {
            "type": "boolean",
            "title": "Acknowledge",
            "description": "Tick to acknowledge; leave it unticked to leave the question unanswered.",
        }
    return {"type": "object", "properties": {_FIELD: prop}, "required": [_FIELD]}


def question(session_id: str, notification: dict[str, Any]) -> str:
    """What the user reads: who asks, the title, the message, and how long Mix waits."""
    lines = [
        f"The Mix agent in session {session_id} asks (notification {notification.get('id')}"
        + (", from a sub-agent" if notification.get("sub_agent") else "")
        + ").",
        f"{_clean(notification.get('title', ''))}",
        f"{_clean(notification.get('message', ''))}",
    ]
    timeout = notification.get("timeout_seconds")
    if isinstance(timeout, int) and timeout > 0:
        lines.append(f"Mix waits {timeout} s for the answer.")
    lines.append("The text above comes from the Mix session; judge it yourself.")
    return "\n".join(line for line in lines if line)


def form(session_id: str, notification: dict[str, Any]) -> types.ElicitRequest:
    return types.ElicitRequest(
        params=types.ElicitRequestFormParams(
            message=question(session_id, notification), requested_schema=schema(notification)
        )
    )


def response(notification: dict[str, Any], answer: Any) -> dict[str, Any] | None:
    """The body for ``respondToNotification`` (``{type, value}``), or ``None`` when the user gave no answer."""
    if not isinstance(answer, types.ElicitResult) or answer.action != "accept":
        return None
    value = (answer.content or {}).get(_FIELD)
    kind = notification.get("response_type")
    if kind in ("text", "choice"):
        if not isinstance(value, str) or not value.strip():
            return None
        choices = notification.get("choices") or []
        if kind == "choice" and choices and value not in choices:
            return None
        return {"type": kind, "value": value}
    return {"type": "acknowledge"} if value is True else None
