"""What each Mix version does differently, in one declarative table.

The emulator plays one profile at a time (``--mix-version``). Every behaviour that differs between
Mix releases is a field here, read by the app in one place each; a new Mix release is one more
``MixProfile`` entry, not a hunt for ``if`` statements.

* ``2025-10`` plays the seed contract (``openapi.yaml``) as written: the eight operations, lenient
  bodies, every failure in Mix's JSON envelope. It is the default.
* ``2026-02`` plays the Feb 2026 Mix: no fork route, a storage directory per session (``files``: list,
  multipart upload, download with ``thumb``, delete; see ``files`` for what the emulator chooses where the
  contract is silent, e.g. thumbnails only of PNGs, the same bytes for other images); ``browserMode``
  required on create (and reported
  in ``SessionData``) with optional ``cdpUrl``, ``modelId`` and ``provider``; list items without
  ``callbacks`` and ``firstUserMessage``; strict body decoding; Go's router answers (text/plain 404
  and 405) for routes it lacks; validation messages with their ``Validation error for field`` prefix;
  ``cleanupMedia`` false when omitted.
* ``2025-09`` plays an early REST-era Mix: no callbacks or rewind routes, an empty list as ``null``,
  no ``sessionType`` in ``SessionData``, a 500 ``sql: no rows`` for deleting an unknown id, a 500
  for forking an unknown session, a missing ``messageIndex`` read as 0 and index 0 refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from mix_mcp.mix import endpoints

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
}
#: Create fields that Feb 2026 added; they come back in ``SessionData`` when set.
SESSION_SETTINGS: Final = ("browserMode", "cdpUrl", "modelId", "provider")


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
    body_fields={
        **_SEED_FIELDS,
        endpoints.CREATE_SESSION.operation_id: _SEED_FIELDS[endpoints.CREATE_SESSION.operation_id]
        | frozenset(SESSION_SETTINGS),
    },
    strict_bodies=True,
    required_create=("title", "browserMode"),
    router_text=True,
    validation_prefix=True,
    absent_list_fields=frozenset({"callbacks", "firstUserMessage"}),
    cleanup_media_default=False,
    default_browser_mode="local-browser-service",
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
