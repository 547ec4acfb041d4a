"""Sessions as MCP resources, and completion of session ids.

Some clients let a person attach context by picking resources rather than by letting the model call
tools. Each resource is served by an operation of the table (the same request, checks and shaping as
the tool), so a resource exists only while its operation is published:

* ``mix://sessions``: the first page of the session list (JSON), from ``list_sessions``;
* ``mix://sessions/{session_id}``: one session's metadata (JSON), from ``get_session``;
* ``mix://sessions/{session_id}/transcript``: its transcript (Markdown, export_session's default window);
* ``mix://sessions/{session_id}/files/{name}``: one of its files (text, or a base64 blob), from
  ``read_session_file`` (a Mix from Feb 2026 on).

Session ids are opaque, so the templates' ``session_id`` completes from the live session list,
matching an id prefix or the beginnings of title words.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import unquote

import mcp_types as types
from mcp.shared.exceptions import MCPError

from mix_mcp.mix.client import MixClient, ProgressFn
from mix_mcp.mix.errors import ArgumentsError, ErrorHints, MixAPIError, MixMCPError
from mix_mcp.mix.models import SessionData
from mix_mcp.tools import files
from mix_mcp.tools.arguments import ReadSessionFileArguments
from mix_mcp.tools.operations import Operation
from mix_mcp.tools.sanitize import clean_text

logger = logging.getLogger("mix_mcp.resources")

SCHEME_ROOT: Final = "mix://sessions"
#: The file template's path after the session id; ``{name}`` is one percent-encoded segment.
_FILE_SUFFIX: Final = "files/{name}"
#: Most values a completion carries (the protocol's own cap).
MAX_COMPLETIONS: Final = 100
RESOURCE_HINTS: Final = ErrorHints(
    not_found="Read mix://sessions (or call list_sessions) to see the session ids that exist."
)


@dataclass(frozen=True, slots=True)
class SessionResource:
    """One resource or resource template, and the operation that serves it."""

    uri: str
    name: str
    title: str
    description: str
    #: ``None`` when it varies (a session's files are of every kind).
    mime_type: str | None
    operation: str
    #: Session id (``None`` for the list) -> the operation's arguments.
    arguments: Callable[[str | None], dict[str, Any]]
    #: The path segment after the session id (``""``: none; only for templates).
    suffix: str = ""

    @property
    def templated(self) -> bool:
        return "{session_id}" in self.uri


RESOURCES: Final[tuple[SessionResource, ...]] = (
    SessionResource(
        uri=SCHEME_ROOT,
        name="sessions",
        title="Mix sessions",
        description="The newest 50 Mix sessions (subagent sessions left out), with ids, titles, counts and cost; "
        "list_sessions reads further pages.",
        mime_type="application/json",
        operation="list_sessions",
        arguments=lambda _session_id: {},
    ),
    SessionResource(
        uri=SCHEME_ROOT + "/{session_id}",
        name="session",
        title="A Mix session",
        description="One session's metadata: title, type, parent, callbacks, message counts, tokens and cost.",
        mime_type="application/json",
        operation="get_session",
        arguments=lambda session_id: {"session_id": session_id},
    ),
    SessionResource(
        uri=SCHEME_ROOT + "/{session_id}/transcript",
        name="transcript",
        title="A Mix session's transcript",
        description="The transcript as Markdown, its first 50,000 characters; each heading shows the message's "
        "index and id, and the footer gives the export_session arguments that read on.",
        mime_type="text/markdown",
        operation="export_session",
        arguments=lambda session_id: {"session_id": session_id, "format": "markdown"},
        suffix="transcript",
    ),
    SessionResource(
        uri=files.FILE_URI,
        name="session_file",
        title="A file of a Mix session",
        description="One file of the session's storage directory (list_session_files names them): text as text, "
        "images and other files as base64 blobs, up to 5 MiB.",
        mime_type=None,
        operation="read_session_file",
        arguments=lambda session_id: {"session_id": session_id},
        suffix=_FILE_SUFFIX,
    ),
)


def published(operations: Mapping[str, Operation]) -> tuple[SessionResource, ...]:
    """The resources whose operation this server publishes."""
    return tuple(resource for resource in RESOURCES if resource.operation in operations)


def resource_listing(resources: Sequence[SessionResource]) -> list[types.Resource]:
    return [
        types.Resource(uri=r.uri, name=r.name, title=r.title, description=r.description, mime_type=r.mime_type)
        for r in resources
        if not r.templated
    ]


def template_listing(resources: Sequence[SessionResource]) -> list[types.ResourceTemplate]:
    return [
        types.ResourceTemplate(
            uri_template=r.uri, name=r.name, title=r.title, description=r.description, mime_type=r.mime_type
        )
        for r in resources
        if r.templated
    ]


def _unknown(uri: str, resources: Sequence[SessionResource]) -> MCPError:
    known = ", ".join(r.uri for r in resources)
    return MCPError(
        code=types.INVALID_PARAMS,
        message=f"Unknown resource {uri!r}. This server's resources are: {known}.",
        data={"uri": uri},
    )


def resolve(uri: str, resources: Sequence[SessionResource]) -> tuple[SessionResource, str | None]:
    """The resource ``uri`` names, and its session id percent-decoded (not yet validated).

    Raises:
        MCPError: INVALID_PARAMS when no published resource has this shape.
    """
    if "?" in uri or "#" in uri:
        raise _unknown(uri, resources)
    if uri == SCHEME_ROOT:
        found = next((r for r in resources if not r.templated), None)
        if found is None:
            raise _unknown(uri, resources)
        return found, None
    prefix = SCHEME_ROOT + "/"
    if not uri.startswith(prefix):
        raise _unknown(uri, resources)
    segments = uri[len(prefix) :].split("/")
    suffix = "/".join(segments[1:])
    if len(segments) == 3 and segments[1] == "files" and segments[2]:
        suffix = _FILE_SUFFIX
    found = next((r for r in resources if r.templated and r.suffix == suffix), None)
    if found is None:
        raise _unknown(uri, resources)
    try:
        session_id = unquote(segments[0], errors="strict")
    except UnicodeDecodeError:
        raise MCPError(
            code=types.INVALID_PARAMS,
            message=f"The session id in {uri!r} is not valid percent-encoded UTF-8.",
            data={"uri": uri},
        ) from None
    return found, session_id


async def read(
    uri: str,
    resources: Sequence[SessionResource],
    operations: Mapping[str, Operation],
    client: MixClient,
    progress: ProgressFn | None = None,
) -> types.ReadResourceResult:
    """Read one resource through its operation; failures become MCP errors that say what to do.

    Raises:
        MCPError: INVALID_PARAMS for a bad URI, an invalid or unknown session id; INTERNAL_ERROR when
            Mix cannot answer (the message names the cause and the next step).
    """
    resource, session_id = resolve(uri, resources)
    op = operations[resource.operation]
    arguments = resource.arguments(session_id)
    if resource.suffix == _FILE_SUFFIX:
        arguments["name"] = unquote(uri.rsplit("/", 1)[1], errors="replace")
    try:
        args = op.parse(arguments)
        if resource.suffix == _FILE_SUFFIX:
            assert isinstance(args, ReadSessionFileArguments)
            return await files.read_resource(client, uri, args)
        shaped = await op.perform(client, args, progress=progress)
    except ArgumentsError as exc:
        problems = "; ".join(exc.problems)
        raise MCPError(
            code=types.INVALID_PARAMS, message=f"Invalid resource URI {uri!r}: {problems}.", data={"uri": uri}
        ) from None
    except MixMCPError as exc:
        # A missing session is a bad URI (the spec's resource-not-found); anything else is Mix failing.
        missing = isinstance(exc, MixAPIError) and exc.status == 404
        code = types.INVALID_PARAMS if missing else types.INTERNAL_ERROR
        message = clean_text(f"Cannot read {uri}: {client.advise(exc, RESOURCE_HINTS)}")
        raise MCPError(code=code, message=message, data={"uri": uri}) from None
    content = types.TextResourceContents(uri=uri, mime_type=resource.mime_type, text=shaped.render_text())
    return types.ReadResourceResult(contents=[content], _meta=shaped.meta)


def match_sessions(sessions: Sequence[SessionData], typed: str) -> list[str]:
    """Ids of the sessions ``typed`` may mean, newest first: id prefixes, then title-word prefixes.

    Case does not matter. Several typed words must each start some word of the title, so that
    'flaky pag' finds 'Fix flaky pagination test'.
    """
    wanted = typed.strip().lower()
    words = wanted.split()
    by_id: list[str] = []
    by_title: list[str] = []
    for session in reversed(sessions):
        if session.id.lower().startswith(wanted):
            by_id.append(session.id)
        elif words:
            title_words = session.title.lower().split()
            if all(any(t.startswith(w) for t in title_words) for w in words):
                by_title.append(session.id)
    return by_id + by_title


async def complete_session_id(client: MixClient, typed: str) -> types.Completion:
    """Completion values for a ``session_id`` from the live session list (best effort: empty if Mix fails)."""
    try:
        sessions = await client.list_sessions(include_subagents=True)
    except MixMCPError as exc:
        logger.warning("cannot complete session ids: %s", exc)
        return types.Completion(values=[], total=0, has_more=False)
    matches = match_sessions(sessions, typed)
    return types.Completion(
        values=matches[:MAX_COMPLETIONS], total=len(matches), has_more=len(matches) > MAX_COMPLETIONS
    )


def completes(ref: Any, argument: str, resources: Sequence[SessionResource]) -> bool:
    """Whether a completion request is for the ``session_id`` of one of the published templates."""
    return (
        isinstance(ref, types.ResourceTemplateReference)
        and argument == "session_id"
        and any(r.templated and r.uri == ref.uri for r in resources)
    )
