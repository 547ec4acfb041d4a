"""Transcript shaping: the window, filters and text form of an exported session.

Mix exports a session whole, and a long session is tens of megabytes: more than any model's context.
``shape_transcript`` turns Mix's export into the part an agent asked for, in one pass over the
messages: a window (offset or after a message id, a limit), filters (roles, reasoning, tool calls,
tool output), a character budget, and JSON or Markdown. Every message keeps the index it has in the
full transcript, because that index is what ``fork_session`` takes, whatever was filtered out.

A window that stops early says exactly where the next one starts (``window.next_offset``) and gives
the arguments of the call that returns it (``next_arguments``), so that reading window after window
returns every message once, with no gap and no repeat. Text is assembled from parts and joined once;
the budget is kept by measuring each message's text as it is added, never by re-serialising the whole.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from pydantic import BaseModel, Field

from mix_mcp.mix.errors import ErrorHints, MixMCPError
from mix_mcp.mix.models import ExportMessage, ExportSummary
from mix_mcp.tools.arguments import ExportSessionArguments, ToolArguments
from mix_mcp.tools.rendering import Shaped, compact_json
from mix_mcp.tools.sanitize import cut_inside

_BACKTICKS: Final = re.compile(r"`{3,}")
#: A message's own texts, in reading order: an export's ``content``, or the ``userInput`` and
#: ``assistantResponse`` of a stored message (list_messages), then its reasoning.
_TEXT_KEYS: Final = ("content", "userInput", "assistantResponse", "reasoning")

Message = dict[str, Any]
Render = Callable[[Message], str]


class ShapedMessage(ExportMessage):
    """One exported message, as Mix sent it less what the options left out, with its position."""

    index: int = Field(
        description="Position of the message in the full transcript: the message_index fork_session takes."
    )
    truncated: bool | None = Field(
        default=None,
        description="True when max_chars cut this message's texts (each cut ends with a '[cut N characters]' "
        "mark); export_session with offset=index, limit=1 and unbounded=true returns it whole.",
    )


class TranscriptWindow(BaseModel):
    """Which part of the transcript a result holds, in the positions of the full transcript."""

    offset: int = Field(description="Index in the full transcript where this window starts.")
    limit: int | None = Field(description="The limit that was asked for, or null for none.")
    returned: int = Field(description="Number of messages in this window.")
    next_offset: int | None = Field(
        description="Index of the next message to read (pass it as offset), or null when nothing is left."
    )


class TranscriptExport(ExportSummary):
    """A session's transcript, or the window of it that was asked for."""

    messages: list[ShapedMessage] | None = Field(
        default=None,
        description="The window's messages, oldest first, each with its index in the full transcript "
        "(format 'json' only).",
    )
    total_messages: int = Field(alias="total_messages", description="Number of messages in the whole session.")
    window: TranscriptWindow = Field(alias="window", description="The part of the transcript returned.")
    truncated: bool = Field(
        alias="truncated",
        description="True when the character budget (max_chars, 50,000 unless given) ended the window before its "
        "limit or the end, or cut a message's texts; next_arguments then reads on.",
    )
    next_arguments: dict[str, Any] | None = Field(
        alias="next_arguments",
        description="Arguments of the export_session call that returns the next window, or null when nothing is left.",
    )
    format: str = Field(alias="format", description="'json' or 'markdown', as asked.")
    markdown: str | None = Field(
        default=None, alias="markdown", description="The window as Markdown (format 'markdown' only)."
    )


class UnknownMessageError(MixMCPError):
    """``after_message_id`` names no message of the session: nothing to start the window after."""

    def __init__(self, message_id: str, session_id: str, total: int) -> None:
        super().__init__(
            f"export_session failed: after_message_id {message_id!r} is not a message of session {session_id!r} "
            f"(it has {total:,} messages). Call export_session with offset instead, or with format='markdown' "
            "and a limit to see the message ids."
        )

    def describe(self, hints: ErrorHints) -> str:
        return str(self)


class _View:
    """The per-message part of the options: which messages are kept, and what each keeps."""

    def __init__(self, args: ExportSessionArguments) -> None:
        self.roles = frozenset(args.roles) if args.roles else None
        self.drop_tool_messages = not args.include_tool_results
        self.limit = args.limit
        dropped = set()
        if not args.include_reasoning:
            dropped.add("reasoning")
        if not args.include_tool_calls:
            dropped.add("toolCalls")
        self.dropped = frozenset(dropped)
        self.strip_results = args.include_tool_calls and not args.include_tool_results

    def keeps(self, message: Message) -> bool:
        role = message.get("role")
        if self.roles is not None and role not in self.roles:
            return False
        return not (self.drop_tool_messages and role == "tool")

    def shape(self, message: Message, index: int) -> Message:
        shaped: Message = {"index": index}
        if self.dropped:
            shaped.update((key, value) for key, value in message.items() if key not in self.dropped)
        else:
            shaped.update(message)
        shaped["index"] = index
        calls = shaped.get("toolCalls")
        if self.strip_results and isinstance(calls, list):
            shaped["toolCalls"] = [_without(call, "result") for call in calls]
        return shaped


def _without(call: Any, key: str) -> Any:
    return {k: v for k, v in call.items() if k != key} if isinstance(call, dict) else call


@dataclass(slots=True)
class _Selection:
    messages: list[Message]
    texts: list[str]
    next_offset: int | None
    truncated: bool


def _next_kept(messages: Sequence[Message], start: int, view: _View) -> int | None:
    return next((i for i in range(start, len(messages)) if view.keeps(messages[i])), None)


def _select(
    messages: Sequence[Message], start: int, view: _View, render: Render | None, room: int | None
) -> _Selection:
    """One pass from ``start``: keep, shape and (under a budget) measure each message until a limit is met.

    ``room`` is what the messages' texts may use together. The window ends before the first message
    that does not fit; when not even the first one fits, it is returned with its texts cut to fit.
    """
    chosen: list[Message] = []
    texts: list[str] = []
    used = 0
    for index in range(start, len(messages)):
        message = messages[index]
        if not view.keeps(message):
            continue
        if view.limit is not None and len(chosen) == view.limit:
            return _Selection(chosen, texts, index, False)
        shaped = view.shape(message, index)
        if render is not None:
            text = render(shaped)
            if room is not None and used + len(text) > room:
                if chosen:
                    return _Selection(chosen, texts, index, True)
                shaped, text = _fit(shaped, render, room)
                return _Selection([shaped], [text], _next_kept(messages, index + 1, view), True)
            used += len(text)
            texts.append(text)
        chosen.append(shaped)
    return _Selection(chosen, texts, None, False)


def _cut_mark(removed: int) -> str:
    return f" … [cut {removed:,} characters]"


def _cut(message: Message, allowance: int) -> Message:
    """A copy of ``message`` whose long texts share ``allowance`` characters, in reading order."""
    cut: Message = dict(message)
    cut["truncated"] = True
    remaining = allowance

    def take(container: dict[str, Any], key: str) -> None:
        nonlocal remaining
        value = container.get(key)
        if not isinstance(value, str):
            return
        keep = min(len(value), remaining)
        remaining -= keep
        if keep < len(value):
            container[key] = cut_inside(value, keep, _cut_mark)

    for key in _TEXT_KEYS:
        take(cut, key)
    calls = cut.get("toolCalls")
    if isinstance(calls, list):
        copies = [_without(call, "inputJson") for call in calls]
        for call in copies:
            if isinstance(call, dict):
                take(call, "input")
                take(call, "result")
        cut["toolCalls"] = copies
    return cut


def _text_size(message: Message) -> int:
    size = 0
    for key in _TEXT_KEYS:
        value = message.get(key)
        size += len(value) if isinstance(value, str) else 0
    for call in message.get("toolCalls") or ():
        if isinstance(call, dict):
            for key in ("input", "result"):
                value = call.get(key)
                size += len(value) if isinstance(value, str) else 0
    return size


def _fit(message: Message, render: Render, room: int) -> tuple[Message, str]:
    """The largest cut of ``message`` whose text fits ``room`` (binary search over the characters kept)."""
    low, high = 0, _text_size(message)
    best = _cut(message, 0)
    best_text = render(best)
    if len(best_text) > room:
        return best, best_text  # even its ids and headings do not fit: the smallest form is all there is
    while low < high:
        middle = (low + high + 1) // 2
        candidate = _cut(message, middle)
        text = render(candidate)
        if len(text) <= room:
            low, best, best_text = middle, candidate, text
        else:
            high = middle - 1
    return best, best_text


def _window_start(messages: Sequence[Message], args: ExportSessionArguments) -> int:
    if args.after_message_id is None:
        return args.offset
    for index, message in enumerate(messages):
        if message.get("id") == args.after_message_id:
            return index + 1
    raise UnknownMessageError(args.after_message_id, args.session_id, len(messages))


def _continuation(args: ExportSessionArguments, next_offset: int | None) -> dict[str, Any] | None:
    if next_offset is None:
        return None
    given = args.model_dump(exclude_unset=True, exclude={"offset", "after_message_id"}, by_alias=False, mode="json")
    return {**given, "offset": next_offset}


@dataclass(frozen=True, slots=True)
class _Frame:
    """Everything a result holds besides its messages."""

    summary: dict[str, Any]
    args: ExportSessionArguments
    total: int
    start: int

    def structured(self, returned: int, next_offset: int | None, truncated: bool, **content: Any) -> dict[str, Any]:
        return {
            **self.summary,
            **content,
            "total_messages": self.total,
            "window": {
                "offset": self.start,
                "limit": self.args.limit,
                "returned": returned,
                "next_offset": next_offset,
            },
            "truncated": truncated,
            "next_arguments": _continuation(self.args, next_offset),
            "format": self.args.format,
        }


def _json_result(frame: _Frame, messages: Sequence[Message], view: _View) -> Shaped:
    max_chars = frame.args.budget
    if max_chars is None:
        selection = _select(messages, frame.start, view, None, None)
        structured = frame.structured(
            len(selection.messages), selection.next_offset, selection.truncated, messages=selection.messages
        )
        return Shaped(structured)
    # The largest the envelope can get: every number at its widest, 'false' rather than 'true'.
    widest = frame.structured(frame.total, frame.total, False, messages=[])
    # Each message costs its JSON plus one comma.
    selection = _select(
        messages, frame.start, view, lambda m: compact_json(m) + ",", max_chars - len(compact_json(widest))
    )
    structured = frame.structured(
        len(selection.messages), selection.next_offset, selection.truncated, messages=selection.messages
    )
    return Shaped(structured, compact_json(structured))


def _fenced(text: str, language: str) -> str:
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=2)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text}\n{fence}\n"


def _one_line(text: Any) -> str:
    return " ".join(str(text).split())


def _verbatim_id(value: Any) -> str:
    """An id exactly as Mix wrote it (it is what the next tool takes), kept on the heading's line."""
    return str(value).replace("\r", " ").replace("\n", " ")


def markdown_block(message: Message) -> str:
    """One message in Markdown; its heading carries the index and id that fork and rewind take."""
    index = message.get("index")
    parts = [f"\n## [{index}] {_one_line(message.get('role', '?'))} · {_verbatim_id(message.get('id', '?'))}\n"]
    details = [str(message[key]) for key in ("createdAt", "model", "finishReason") if message.get(key)]
    if details:
        parts.append(_one_line(" · ".join(details)) + "\n")
    if message.get("truncated"):
        parts.append(
            f"_Texts cut to fit max_chars: export_session with offset={index}, limit=1 and unbounded=true "
            "returns this message whole._\n"
        )
    for key in ("content", "userInput", "assistantResponse"):
        content = message.get(key)
        if isinstance(content, str) and content:
            parts.append(f"\n{content}\n")
    reasoning = message.get("reasoning")
    if isinstance(reasoning, str) and reasoning:
        quoted = reasoning.replace("\n", "\n> ")
        parts.append(f"\n**Reasoning**\n\n> {quoted}\n")
    for call in message.get("toolCalls") or ():
        if not isinstance(call, dict):
            continue
        failed = " · failed" if call.get("isError") else ""
        name, call_id = _one_line(call.get("name", "?")), _verbatim_id(call.get("id", "?"))
        parts.append(f"\n**Tool call** `{name}` · {call_id}{failed}\n")
        tool_input = call.get("input")
        if isinstance(tool_input, str) and tool_input:
            parts.append(_fenced(tool_input, "json"))
        result = call.get("result")
        if isinstance(result, str):
            parts.append("Result:\n" + _fenced(result, "text"))
    return "".join(parts)


def _markdown_header(frame: _Frame) -> str:
    title = _one_line(frame.summary.get("title", "")) or "Messages"
    return (
        f"# {title}\n\n"
        f"Session `{frame.summary.get('id', '')}` · {frame.total:,} messages in all. Each heading reads "
        "[index] role · id: the index is the message_index fork_session takes, the id the message_id "
        "rewind_session takes.\n"
        f"{_totals(frame.summary)}"
    )


def _totals(summary: dict[str, Any]) -> str:
    """The session's token and cost totals, so that the Markdown alone says what the JSON says."""
    names = {"promptTokens": "prompt tokens", "completionTokens": "completion tokens", "cost": "cost"}
    parts = [f"{label} {summary[key]}" for key, label in names.items() if summary.get(key) is not None]
    return f"Totals: {', '.join(parts)}.\n" if parts else ""


def _markdown_footer(frame: _Frame, returned: int, next_offset: int | None, truncated: bool) -> str:
    where = f"{returned:,} of {frame.total:,} messages returned, window from index {frame.start}"
    cut = f"; truncated to max_chars={frame.args.budget} (unbounded=true reads without a budget)" if truncated else ""
    if next_offset is None:
        return f"\n---\n{where}{cut}. This is the end of the transcript.\n"
    arguments = compact_json(_continuation(frame.args, next_offset))
    return (
        f"\n---\n{where}{cut}. More follows from index {next_offset}: call export_session with {arguments} "
        "to read it.\n"
    )


def _markdown_result(frame: _Frame, messages: Sequence[Message], view: _View) -> Shaped:
    header = _markdown_header(frame)
    room = None
    if frame.args.budget is not None:
        widest_footer = max(
            len(_markdown_footer(frame, frame.total, frame.total, True)),
            len(_markdown_footer(frame, frame.total, None, True)),
        )
        room = frame.args.budget - len(header) - widest_footer
    selection = _select(messages, frame.start, view, markdown_block, room)
    footer = _markdown_footer(frame, len(selection.texts), selection.next_offset, selection.truncated)
    text = "".join([header, *selection.texts, footer])
    structured = frame.structured(len(selection.texts), selection.next_offset, selection.truncated, markdown=text)
    return Shaped(structured, text)


def shape_transcript(data: Any, args: ToolArguments) -> Shaped:
    """Mix's export -> the window, filters and format ``args`` ask for. Linear in the messages scanned."""
    assert isinstance(data, dict)
    assert isinstance(args, ExportSessionArguments)
    messages: list[Message] = data["messages"]
    frame = _Frame(
        summary={key: value for key, value in data.items() if key != "messages"},
        args=args,
        total=len(messages),
        start=_window_start(messages, args),
    )
    view = _View(args)
    if args.format == "markdown":
        return _markdown_result(frame, messages, view)
    return _json_result(frame, messages, view)
