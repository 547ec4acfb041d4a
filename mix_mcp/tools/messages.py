"""list_messages: a session's messages as Mix stores them, shaped exactly like export_session's.

Mix's ``getSessionMessages`` returns every message at once, like the export; the window, filters,
character budget and Markdown form are the export's own (``transcripts.shape_transcript``), so that
both tools read long sessions the same way and any rule added to that path applies to both.
"""

from __future__ import annotations

from typing import Any, Final

from pydantic import ConfigDict, Field, TypeAdapter

from mix_mcp.mix.models import BackendMessage, MixModel
from mix_mcp.tools.arguments import ListMessagesArguments, ToolArguments
from mix_mcp.tools.rendering import Shaped
from mix_mcp.tools.transcripts import TranscriptWindow, shape_transcript

MESSAGES: Final = TypeAdapter(list[BackendMessage], config=ConfigDict(defer_build=True))


class ListedMessage(BackendMessage):
    """One stored message, less what the options left out, with its position in the session."""

    index: int = Field(description="Position of the message in the session: the message_index fork_session takes.")
    truncated: bool | None = Field(
        default=None,
        description="True when max_chars cut this message's texts; list_messages with offset=index, limit=1 "
        "and no max_chars returns it whole.",
    )


class MessageListing(MixModel):
    """A session's stored messages, or the window of them that was asked for."""

    id: str = Field(description="Id of the session.")
    messages: list[ListedMessage] | None = Field(
        default=None, description="The window's messages, oldest first (format 'json' only)."
    )
    total_messages: int = Field(alias="total_messages", description="Number of messages in the whole session.")
    window: TranscriptWindow = Field(alias="window", description="The part of the session returned.")
    truncated: bool = Field(
        alias="truncated",
        description="True when max_chars ended the window before its limit or the end, or cut a message's texts.",
    )
    next_arguments: dict[str, Any] | None = Field(
        alias="next_arguments",
        description="Arguments of the list_messages call that returns the next window, or null when nothing is left.",
    )
    format: str = Field(alias="format", description="'json' or 'markdown', as asked.")
    markdown: str | None = Field(
        default=None, alias="markdown", description="The window as Markdown (format 'markdown' only)."
    )


def shape_messages(data: Any, args: ToolArguments) -> Shaped:
    """Mix's message list -> the window, filters and format asked for, through the export's shaping."""
    assert isinstance(data, list)
    assert isinstance(args, ListMessagesArguments)
    return shape_transcript({"id": args.session_id, "messages": data}, args)
