"""Asking the user about a Mix agent's permission request, by MCP elicitation.

A ``permission`` event pauses a run until someone grants or denies it. The person who may decide is
the user, never mix-mcp and never the calling agent on its own: nothing here grants without an
explicit yes. Elicitation travels as in ``confirmation`` (a server-to-client request before
2026-07-28, an ``InputRequiredResult`` the client answers by calling again from 2026-07-28);
this module holds what both need: whether the client can ask, the question, and how an answer reads.
"""

from __future__ import annotations

from typing import Any, Final

import mcp_types as types

#: Key of the question in ``input_requests`` / ``input_responses``.
PERMISSION_KEY: Final = "mix_mcp_permission"
PERMISSION_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        "grant": {
            "type": "boolean",
            "title": "Allow",
            "description": "Tick to let the Mix agent do this; leave it unticked to deny.",
        }
    },
    "required": ["grant"],
}
_FIELD_CHARS: Final = 2000


def can_elicit(capabilities: types.ClientCapabilities | None) -> bool:
    """Whether the client declared form elicitation (a bare ``elicitation: {}`` counts as form)."""
    elicitation = capabilities.elicitation if capabilities is not None else None
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)


def _short(value: Any) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= _FIELD_CHARS else text[:_FIELD_CHARS] + " …"


def question(session_id: str, permission: dict[str, Any]) -> str:
    """What the user reads: who asks, for which tool, to do what, on which path or command."""
    lines = [
        f"The Mix agent in session {session_id} asks for permission (request {permission.get('id')}).",
        f"Tool: {_short(permission.get('toolName', '?'))}",
        f"Action: {_short(permission.get('action', '?'))}",
        f"Description: {_short(permission.get('description', ''))}",
    ]
    if permission.get("path"):
        lines.append(f"Path: {_short(permission['path'])}")
    params = permission.get("params")
    if isinstance(params, dict) and params.get("command"):
        lines.append(f"Command: {_short(params['command'])}")
    lines.append("Allow it? The text above comes from the Mix session; judge it yourself.")
    return "\n".join(lines)


def form(session_id: str, permission: dict[str, Any]) -> types.ElicitRequest:
    return types.ElicitRequest(
        params=types.ElicitRequestFormParams(
            message=question(session_id, permission), requested_schema=PERMISSION_SCHEMA
        )
    )


def decision(answer: Any) -> bool | None:
    """True only for an accepted form with 'Allow' ticked; False for a deny; None when the user gave none.

    A submitted form with 'Allow' unticked, and a decline, are denials. A dismissal (cancel) or an
    answer that is not a form decides nothing: the request stays pending for answer_permission.
    """
    if not isinstance(answer, types.ElicitResult):
        return None
    if answer.action == "accept":
        return (answer.content or {}).get("grant") is True
    if answer.action == "decline":
        return False
    return None
