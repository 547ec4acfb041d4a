"""list_sessions' page: filters, newest first, a bounded size, and the arguments that read on.

Mix lists every session at once (ten thousand sessions are megabytes), so the page is cut here:
the sessions matching the filters, newest first (the ones an agent most often wants), at most
``limit`` of them and at most ``DEFAULT_MAX_CHARS`` characters of JSON. ``next_arguments`` is the
call that returns the next page.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from mix_mcp.mix.models import SessionData
from mix_mcp.tools.arguments import DEFAULT_MAX_CHARS, ListSessionsArguments, ToolArguments
from mix_mcp.tools.rendering import Shaped, compact_json


class SessionList(BaseModel):
    """One page of the sessions Mix holds, newest first."""

    sessions: list[SessionData] = Field(description="Sessions with their metadata, newest first.")
    count: int = Field(description="Number of sessions in this page.")
    total: int = Field(description="Number of sessions that match the filters, in all pages.")
    offset: int = Field(description="How many matching sessions (newest first) come before this page.")
    truncated: bool = Field(description="True when more matching sessions follow: call again with next_arguments.")
    next_arguments: dict[str, Any] | None = Field(
        description="Arguments of the list_sessions call that returns the next page, or null on the last page."
    )


def _created(session: dict[str, Any]) -> datetime | None:
    value = session.get("createdAt")
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _matches(session: dict[str, Any], args: ListSessionsArguments, after: datetime | None) -> bool:
    if args.title_contains is not None:
        title = session.get("title")
        if not isinstance(title, str) or args.title_contains.casefold() not in title.casefold():
            return False
    if args.session_type is not None and session.get("sessionType") != args.session_type:
        return False
    if after is not None:
        created = _created(session)
        if created is None or created <= after:
            return False
    return True


def newest_first(sessions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sessions by creation time, newest first; ties and unreadable times keep Mix's order, reversed."""
    oldest = datetime.min.replace(tzinfo=UTC)
    return sorted(reversed(sessions), key=lambda s: _created(s) or oldest, reverse=True)


def shape_session_list(data: Any, args: ToolArguments) -> Shaped:
    """Mix's session list -> the page ``args`` asks for."""
    data = data if data is not None else []  # early Mix versions send null for an empty list
    assert isinstance(data, list)
    assert isinstance(args, ListSessionsArguments)
    after = datetime.fromisoformat(args.created_after) if args.created_after is not None else None
    matching = [s for s in newest_first(data) if _matches(s, args, after)]
    page: list[dict[str, Any]] = []
    used = 0
    for session in matching[args.offset : args.offset + args.limit]:
        size = len(compact_json(session)) + 1
        if page and used + size > DEFAULT_MAX_CHARS:
            break
        page.append(session)
        used += size
    next_offset = args.offset + len(page)
    more = next_offset < len(matching)
    next_arguments = None
    if more:
        given = args.model_dump(exclude_unset=True, exclude={"offset"}, by_alias=False, mode="json")
        next_arguments = {**given, "offset": next_offset}
    return Shaped(
        {
            "sessions": page,
            "count": len(page),
            "total": len(matching),
            "offset": args.offset,
            "truncated": more,
            "next_arguments": next_arguments,
        }
    )
