"""What each Mix version does differently, in one declarative table.

The emulator plays one profile at a time (``--mix-version``). Every behaviour that differs between
Mix releases is a field here, read by the app in one place each; a new Mix release is one more
``MixProfile`` entry, not a hunt for ``if`` statements.

* ``2025-10`` plays the seed contract (``openapi.yaml``) as written: the eight operations, lenient
  bodies, every failure in Mix's JSON envelope, no agent questions. It is the default.

* ``2026-02`` plays the Feb 2026 Mix: no fork route, a storage directory per session (``files``: list,
  multipart upload, download with ``thumb``, delete; see ``files`` for what the emulator chooses where the
  contract is silent, e.g. thumbnails only of PNGs, the same bytes for other images); ``browserMode``
  required on create (and reported
  in ``SessionData``) with optional ``cdpUrl``, ``modelId`` and ``provider``; list items without
  ``callbacks`` and ``firstUserMessage``; strict body decoding; Go's router answers (text/plain 404
  and 405) for routes it lacks; validation messages with their ``Validation error for field`` prefix;
  ``cleanupMedia`` false when omitted; no forked sessions at all (a seed without one, and a
  forked session from another version's ``--db`` reads as main); ``max_steps`` and ``thinking_level``
  on messages; ``excludeFromContext: false`` accepted on a send_message callback (the SDK sends it);
  exports without ``isError`` in tool calls; agent questions (``notification`` events and the
  notification respond route).
* ``2025-09`` plays an early REST-era Mix: no callbacks or rewind routes, an empty list as ``null``,
  no ``sessionType`` in ``SessionData``, a 500 ``sql: no rows`` for deleting an unknown id, a 500
  for forking an unknown session, a missing ``messageIndex`` read as 0 and index 0 refused.

Every version streams the run events of the Feb 2026 contract's ``SSEEventStream``; the older
contract's ``tool`` and ``tool_parameter_delta`` are not played (Mix's SDK, generated from the Feb 2026
contract, is the judge of the emulator, and it knows neither).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from mix_mcp.mix import endpoints

#: Create fields that Feb 2026 added; they come back in ``SessionData`` when set.
SESSION_SETTINGS: Final = ("browserMode", "cdpUrl", "modelId", "provider")
#: Every operation id of the sessions API the emulator can serve.
_ALL: Final = frozenset(e.operation_id for e in endpoints.ALL_ENDPOINTS)
#: A session's storage directory: only from Feb 2026 on (older versions answer the router's 404).
_FILES: Final = frozenset(e.operation_id for e in endpoints.FILE_ENDPOINTS)
#: Body fields of the seed contract, by operation id (what strict decoding lets through).
_SEED_FIELDS: Final[dict[str, frozenset[str]]] = {
    endpoints.CREATE_SESSION.operation_id: frozenset(
        {"title", "promptMode", "customSystemPrompt", "callbacks", "sessionType", "subagentType"}
    ),
    endpoints.UPDATE_SESSION_CALLBACKS.operation_id: frozenset({"callbacks"}),
    endpoints.FORK_SESSION.operation_id: frozenset({"messageIndex", "title"}),
    endpoints.REWIND_SESSION.operation_id: frozenset({"messageId", "cleanupMedia"}),
    endpoints.SEND_MESSAGE.operation_id: frozenset({"text", "plan_mode"}),
}
#: Fields Feb 2026 added, by operation id.
_FEB_2026_FIELDS: Final[dict[str, frozenset[str]]] = {
    endpoints.CREATE_SESSION.operation_id: _SEED_FIELDS[endpoints.CREATE_SESSION.operation_id]
    | frozenset(SESSION_SETTINGS),
    endpoints.SEND_MESSAGE.operation_id: frozenset({"text", "plan_mode", "max_steps", "thinking_level"}),
    endpoints.RESPOND_TO_NOTIFICATION.operation_id: frozenset({"type", "value"}),
}
#: What refusing a ``sessionType`` other than main says, before and after the fork route went away.
SESSION_TYPE_MESSAGE: Final = (
    "API can only create main sessions. Use /fork endpoint for forked sessions. "
    "Subagent sessions are created automatically."
)
SESSION_TYPE_MESSAGE_NO_FORK: Final = "API can only create main sessions. Subagent sessions are created automatically."


@dataclass(frozen=True, slots=True)
class MixProfile:
    """One Mix version's behaviour, as far as the sessions API shows it."""

    version: str
    summary: str
    #: Operation ids this version routes; any other sessions path gets the router's 404.
    operations: frozenset[str] = _ALL
    #: Body fields each operation accepts; with ``strict_bodies`` any other field is a 400.
    body_fields: dict[str, frozenset[str]] = field(default_factory=lambda: dict(_SEED_FIELDS))
    #: Unknown fields and empty bodies are 400s (Go's ``DisallowUnknownFields`` decoder).
    strict_bodies: bool = False
    #: Create fields without which the request is refused.
    required_create: tuple[str, ...] = ("title",)
    #: Unknown routes and wrong methods answer as Go's router does (text/plain), not in the envelope.
    router_text: bool = False
    #: Validation messages carry ``Validation error for field '<name>': `` in front.
    validation_prefix: bool = False
    #: Fields never reported in ``SessionData`` (a version that predates them).
    absent_session_fields: frozenset[str] = frozenset()
    #: Fields left out of ``GET /api/sessions`` items (still in get and create answers).
    absent_list_fields: frozenset[str] = frozenset()
    #: An empty session list is JSON ``null`` rather than ``[]``.
    null_empty_list: bool = False
    #: ``DELETE`` of an unknown id is a 500 "sql: no rows in result set" rather than a 404.
    delete_unknown_no_rows: bool = False
    #: Fork of an unknown source session is a 500 internal error rather than a 404.
    fork_unknown_500: bool = False
    #: A missing ``messageIndex`` is read as 0 rather than refused.
    message_index_defaults_to_zero: bool = False
    #: Smallest ``messageIndex`` accepted (early versions refused 0).
    min_message_index: int = 0
    #: What an omitted ``cleanupMedia`` means.
    cleanup_media_default: bool = True
    #: ``browserMode`` reported for sessions created without one (seeded ones), when the version reports it.
    default_browser_mode: str | None = None
    #: The version knows forked sessions. Without them the seed has none, and a forked session left in a
    #: ``--db`` file by another version reads as a main one (``sessionType`` main, no parent).
    forked_sessions: bool = True
    #: What a create with a ``sessionType`` other than main is told.
    session_type_message: str = SESSION_TYPE_MESSAGE
    #: ``excludeFromContext: false`` on a send_message callback is accepted (only ``true`` is refused).
    #: Go decodes a plain bool, so false and absent are one; Mix's SDK sends the default false.
    send_message_exclude_false: bool = False
    #: Tool-call fields left out of an export (the version's ``ExportToolCall`` lacks them).
    absent_export_tool_call_fields: frozenset[str] = frozenset()
    #: Agent questions: ``ask:`` messages get a ``notification`` and ``/api/notifications/{id}/respond`` is routed.
    questions: bool = False

    def offers(self, endpoint: endpoints.Endpoint) -> bool:
        return endpoint.operation_id in self.operations


SEED: Final = MixProfile(
    version="2025-10",
    summary="the seed contract (openapi.yaml): all eight operations, lenient bodies, JSON errors everywhere",
)

FEB_2026: Final = MixProfile(
    version="2026-02",
    summary="Feb 2026 (openapi-2026-02.yaml): no fork; browserMode required on create; strict bodies",
    operations=(_ALL | _FILES) - {endpoints.FORK_SESSION.operation_id},
    body_fields={**_SEED_FIELDS, **_FEB_2026_FIELDS},
    strict_bodies=True,
    required_create=("title", "browserMode"),
    router_text=True,
    validation_prefix=True,
    absent_list_fields=frozenset({"callbacks", "firstUserMessage"}),
    cleanup_media_default=False,
    default_browser_mode="local-browser-service",
    forked_sessions=False,
    session_type_message=SESSION_TYPE_MESSAGE_NO_FORK,
    send_message_exclude_false=True,
    absent_export_tool_call_fields=frozenset({"isError", "metadata"}),
    questions=True,
)

EARLY_2025: Final = MixProfile(
    version="2025-09",
    summary="an early REST-era Mix: no callbacks or rewind routes, null empty list, no sessionType",
    operations=_ALL - {endpoints.UPDATE_SESSION_CALLBACKS.operation_id, endpoints.REWIND_SESSION.operation_id},
    strict_bodies=True,
    router_text=True,
    validation_prefix=True,
    absent_session_fields=frozenset({"sessionType"}),
    null_empty_list=True,
    delete_unknown_no_rows=True,
    fork_unknown_500=True,
    message_index_defaults_to_zero=True,
    min_message_index=1,
    cleanup_media_default=False,
)

PROFILES: Final[dict[str, MixProfile]] = {p.version: p for p in (SEED, FEB_2026, EARLY_2025)}
DEFAULT_VERSION: Final = SEED.version


def profile_for(version: str) -> MixProfile:
    """The profile of ``version``, or a ValueError that lists the versions the emulator plays."""
    try:
        return PROFILES[version]
    except KeyError:
        raise ValueError(f"unknown Mix version {version!r}; the emulator plays {', '.join(PROFILES)}") from None
