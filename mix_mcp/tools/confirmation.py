"""Asking the user before an irreversible tool runs (opt-in: ``--confirm-destructive``).

An agent may be wrong about which session to delete; the user is the one who can tell. The question
travels by MCP elicitation, which the two protocol generations carry differently:

* before 2026-07-28 (the initialize handshake), the server sends ``elicitation/create`` to the client
  in the middle of the call and waits for the answer;
* from 2026-07-28, servers send no requests of their own: the call returns an ``InputRequiredResult``
  holding the question, and the client asks the user and calls again with the answer
  (``input_responses``) and the opaque ``request_state`` it was given. The SDK's
  ``RequestStateBoundary`` seals that state and binds it to this tool and these exact arguments, so
  an answer cannot be replayed onto another call.

Whatever the generation, the tool runs only on an explicit yes. A client that cannot ask, a decline,
a dismissal or a failure to ask all refuse the call with a message saying nothing was changed.
"""

from __future__ import annotations

import logging
from typing import Any, Final

import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.shared.exceptions import MCPError, NoBackChannelError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import ValidationError

from mix_mcp.mix.client import MixClient
from mix_mcp.mix.errors import ErrorHints, MixMCPError
from mix_mcp.tools.arguments import ToolArguments
from mix_mcp.tools.operations import Operation
from mix_mcp.tools.permissions import can_elicit
from mix_mcp.tools.sanitize import clean_text

logger = logging.getLogger("mix_mcp.confirmation")

#: Key of the question in ``input_requests`` / ``input_responses``.
CONFIRM_KEY: Final = "mix_mcp_confirm"
#: The state the retry must echo (sealed on the wire by the SDK's request-state boundary).
_STATE: Final = "mix-mcp/confirm/v1"
CONFIRM_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        "confirm": {
            "type": "boolean",
            "title": "Go ahead",
            "description": "Tick to let the agent run this irreversible action.",
        }
    },
    "required": ["confirm"],
}


class ConfirmationRefused(MixMCPError):
    """The user did not say yes (or could not be asked): the tool did not run."""

    def describe(self, hints: ErrorHints) -> str:
        return str(self)


async def _session_label(client: MixClient, session_id: str) -> str:
    """The session as a person knows it, its title, with the id that removes any doubt."""
    try:
        session = await client.get_session(session_id)
    except MixMCPError:
        return repr(session_id)
    return f"'{clean_text(session.title)}' ({session_id})"


async def _question(client: MixClient, op: Operation, args: ToolArguments) -> str:
    assert op.confirm is not None
    fields = args.model_dump(by_alias=False)
    session_id = fields.get("session_id")
    label = await _session_label(client, session_id) if isinstance(session_id, str) else ""
    return op.confirm.format_map({**fields, "session": label})


def _refusal(op: Operation, reason: str) -> ConfirmationRefused:
    return ConfirmationRefused(f"{op.name} was not run: {reason} Nothing was changed.")


def _judge(op: Operation, answer: Any) -> None:
    """Return only on an explicit yes; raise the refusal that fits any other answer."""
    if not isinstance(answer, types.ElicitResult):
        raise _refusal(op, "the client answered the confirmation with something other than a form.")
    if answer.action == "accept":
        if (answer.content or {}).get("confirm") is True:
            return
        raise _refusal(op, "the user submitted the confirmation without ticking 'Go ahead'.")
    if answer.action == "decline":
        raise _refusal(op, "the user declined. Do not retry unless the user asks for it.")
    raise _refusal(op, "the user dismissed the confirmation. Do not retry unless the user asks for it.")


async def confirm(
    ctx: ServerRequestContext[Any],
    params: types.CallToolRequestParams,
    client: MixClient,
    op: Operation,
    args: ToolArguments,
) -> types.InputRequiredResult | None:
    """``None`` once the user said yes; an ``InputRequiredResult`` to ask (2026-07-28); else raises.

    Raises:
        ConfirmationRefused: the client cannot ask, the user did not say yes, or asking failed.
    """
    if op.confirm is None:
        return None
    if not can_elicit(ctx.session.client_capabilities):
        raise _refusal(
            op,
            "this server asks the user to confirm irreversible tools (--confirm-destructive), but this client "
            "cannot ask: it does not support MCP form elicitation. Ask the user to run it from a client that "
            "supports elicitation, or the operator to turn MIX_MCP_CONFIRM_DESTRUCTIVE off.",
        )
    if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
        if params.request_state == _STATE:
            answer = (params.input_responses or {}).get(CONFIRM_KEY)
            if answer is not None:
                _judge(op, answer)
                return None
        question = types.ElicitRequest(
            params=types.ElicitRequestFormParams(
                message=await _question(client, op, args), requested_schema=CONFIRM_SCHEMA
            )
        )
        return types.InputRequiredResult(input_requests={CONFIRM_KEY: question}, request_state=_STATE)
    try:
        answer = await ctx.session.elicit_form(
            await _question(client, op, args), CONFIRM_SCHEMA, related_request_id=ctx.request_id
        )
    except (MCPError, NoBackChannelError, ValidationError) as exc:
        logger.warning("could not ask for confirmation of %s: %s", op.name, exc)
        reason = "the user could not be asked to confirm it (the client did not answer the request)."
        raise _refusal(op, reason) from None
    _judge(op, answer)
    return None
