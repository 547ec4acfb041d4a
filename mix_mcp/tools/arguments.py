"""Tool argument models: snake_case for agents, validated before any request, mapped to Mix's camelCase.

Bounds come from the contract (``message_index >= 0``, prompt sizes, enums); the rest are
limits that keep hostile or runaway input from ever reaching Mix (ids of a sane length, no
control characters).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Final, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel
from pydantic.fields import FieldInfo

from mix_mcp.mix.models import (
    PROMPT_LIMIT_BYTES,
    PROMPT_MAX_LENGTH,
    BrowserMode,
    CallbackInput,
    PromptMode,
    reject_null,
)

MAX_ID_LENGTH: Final = 256
MAX_TITLE_LENGTH: Final = 1024
MAX_CALLBACKS: Final = 64
MAX_URL_LENGTH: Final = 2048
MAX_NAME_LENGTH: Final = 256
MAX_MESSAGE_POSITION: Final = 10_000_000
MESSAGE_ROLES: Final = ("user", "assistant", "tool")
MessageRole = Literal["user", "assistant", "tool"]
TRANSCRIPT_FORMATS: Final = ("json", "markdown")
TranscriptFormat = Literal["json", "markdown"]
#: Bounds of ``max_chars``: below the minimum not even one message's ids and headings fit.
MIN_MAX_CHARS: Final = 2_000
MAX_MAX_CHARS: Final = 100_000_000
#: The default character budget of a transcript window: fits a model's context with room to spare
#: (Claude Code, for one, cuts a tool result near 25,000 tokens).
DEFAULT_MAX_CHARS: Final = 50_000
#: The default and largest page of list_sessions.
DEFAULT_SESSION_PAGE: Final = 50
MAX_SESSION_PAGE: Final = 1_000
SessionType = Literal["main", "forked", "subagent"]


def _printable_id(value: str) -> str:
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise ValueError("must not contain control characters")
    if value != value.strip():
        raise ValueError("must not start or end with whitespace")
    if value in (".", ".."):
        raise ValueError(f"{value!r} is not a valid id")
    return value


def _id(description: str) -> Any:
    return Field(min_length=1, max_length=MAX_ID_LENGTH, description=description)


SessionId = Annotated[str, AfterValidator(_printable_id)]


def _timestamp(value: str) -> str:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("must be an RFC 3339 timestamp such as '2026-01-31T09:00:00Z'") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).isoformat()


Timestamp = Annotated[str, AfterValidator(_timestamp)]


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    """The model inside ``list[Model] | None``, ``Model | None`` or ``Model``, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _nested_model(arg)
        if found is not None:
            return found
    return None


#: The words a boolean argument accepts as text, as models (and people on the command line) write them.
TRUE_WORDS: Final = frozenset({"true", "yes", "on", "1"})
FALSE_WORDS: Final = frozenset({"false", "no", "off", "0"})
_INTEGER_TEXT: Final = re.compile(r"[+-]?\d{1,30}")
_NUMBER_TEXT: Final = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _scalar_types(annotation: Any) -> set[Any]:
    """The plain types (``int``, ``bool``, ``str``...) an annotation such as ``int | None`` admits."""
    if isinstance(annotation, type):
        return {annotation}
    found: set[Any] = set()
    for arg in get_args(annotation):
        found |= _scalar_types(arg)
    return found


def lenient_scalar(value: Any, annotation: Any) -> Any:
    """A number or a boolean sent as text (``"2"``, ``"yes"``) as the number or boolean it spells.

    Models often quote numbers and write booleans as words; the command line accepts both too. Only
    an argument that takes no text is read this way, and only text that spells exactly one value: the
    rest is left for validation to refuse, with the schema's own words.
    """
    if not isinstance(value, str):
        return value
    kinds = _scalar_types(annotation)
    if str in kinds:
        return value
    text = value.strip()
    if bool in kinds:
        if text.lower() in TRUE_WORDS:
            return True
        if text.lower() in FALSE_WORDS:
            return False
    elif int in kinds and _INTEGER_TEXT.fullmatch(text):
        return int(text)
    elif float in kinds and _NUMBER_TEXT.fullmatch(text):
        return float(text)
    return value


def _left_out(value: Any, info: FieldInfo) -> bool:
    """Whether an optional argument's value means "not given": ``null``, or an emptiness it forbids.

    Many clients send ``null`` for every optional argument they do not use, and strict-mode
    clients must send every argument, so they fill the unused ones with ``""`` or ``[]``. Where the
    argument cannot be empty anyway (a minimum length of one), empty can only mean "left out".
    """
    if info.is_required():
        return False
    if value is None:
        return True
    if isinstance(value, str | list) and not value:
        return any(getattr(m, "min_length", 0) >= 1 for m in info.metadata)
    return False


def drop_left_out(model: type[BaseModel], data: Any) -> Any:
    """``data`` without the optional arguments that mean "left out", in nested models too, and with
    numbers and booleans sent as text read as such (``lenient_scalar``).

    Accepts each field under its name or its alias, as the model does; anything else passes
    through untouched for validation to judge.
    """
    if not isinstance(data, dict):
        return data
    fields = {**{f.alias: f for f in model.model_fields.values() if f.alias}, **model.model_fields}
    kept: dict[str, Any] = {}
    for key, value in data.items():
        info = fields.get(key) if isinstance(key, str) else None
        if info is None:
            kept[key] = value
            continue
        if _left_out(value, info):
            continue
        nested = _nested_model(info.annotation)
        if nested is not None and isinstance(value, list):
            value = [drop_left_out(nested, item) for item in value]
        elif nested is not None:
            value = drop_left_out(nested, value)
        else:
            value = lenient_scalar(value, info.annotation)
        kept[key] = value
    return kept


class ToolArguments(BaseModel):
    """Base of every tool's arguments: unknown names are errors, wire names are camelCase.

    Strict, but for the one leniency models need: ``"5"`` is read as 5 and ``"yes"`` as true where the
    argument takes a number or a boolean (``lenient_scalar``). ``1`` is not a boolean, ``"two"`` not a
    number: input that spells no value of the schema's type never turns into a request.
    """

    model_config = ConfigDict(
        # Built at a tool's first call, not at import: a server's start skips the cost for every tool.
        defer_build=True,
        strict=True,
        extra="forbid",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=False,
        serialize_by_alias=True,
        loc_by_alias=False,
    )

    _no_null = field_validator("*", mode="before")(reject_null)

    @model_validator(mode="before")
    @classmethod
    def _null_is_left_out(cls, data: Any) -> Any:
        return drop_left_out(cls, data)

    def chose(self, name: str) -> bool:
        """Whether the caller chose this argument: given, and not just its default repeated.

        Strict-mode clients send every argument, so a default sent back means "not chosen".
        """
        if name not in self.model_fields_set:
            return False
        return bool(getattr(self, name) != type(self).model_fields[name].get_default(call_default_factory=True))


def _unchosen_callback_fields(value: Any) -> Any:
    """Callbacks without the fields a strict-mode client had to fill but Mix forbids for the type.

    ``exclude_from_context: false`` on a send_message callback says what Mix does anyway, yet Mix
    refuses the field there; a client that must send every property has no other choice.
    """
    if not isinstance(value, list):
        return value
    cleaned = []
    for item in value:
        if isinstance(item, dict) and item.get("type") == "send_message":
            item = {
                k: v
                for k, v in item.items()
                if not (k in ("exclude_from_context", "excludeFromContext") and v is False)
            }
        cleaned.append(item)
    return cleaned


class ListSessionsArguments(ToolArguments):
    include_subagents: bool = Field(
        default=False,
        description="Also list subagent sessions (workers spawned by task delegation), hidden by default.",
    )
    title_contains: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_TITLE_LENGTH,
        description="Only sessions whose title contains this text (case does not matter).",
    )
    session_type: SessionType | None = Field(
        default=None, description="Only sessions of this type: 'main', 'forked' or 'subagent'."
    )
    created_after: Timestamp | None = Field(
        default=None,
        max_length=64,
        description="Only sessions created after this RFC 3339 timestamp, e.g. '2026-01-31T09:00:00Z'.",
    )
    limit: int = Field(
        default=DEFAULT_SESSION_PAGE,
        ge=1,
        le=MAX_SESSION_PAGE,
        description="Most sessions in one page (newest first); next_arguments reads the next page.",
    )
    offset: int = Field(
        default=0,
        ge=0,
        le=MAX_MESSAGE_POSITION,
        description="How many matching sessions (newest first) to skip: take it from next_arguments.",
    )

    @model_validator(mode="after")
    def _subagents_when_asked_for(self) -> ListSessionsArguments:
        # Mix hides subagent sessions unless asked: a filter on them asks.
        if self.session_type == "subagent" and not self.chose("include_subagents"):
            self.include_subagents = True
        return self


class CreateSessionArguments(ToolArguments):
    title: str = Field(min_length=1, max_length=MAX_TITLE_LENGTH, description="Title of the new session.")
    prompt_mode: PromptMode = Field(
        default="default",
        description=(
            "How custom_system_prompt is used: 'default' ignores it, 'append' adds it to Mix's base prompt "
            "(at most 51,200 bytes), 'replace' replaces the base prompt (at most 102,400 bytes)."
        ),
    )
    custom_system_prompt: str | None = Field(
        default=None,
        max_length=PROMPT_MAX_LENGTH,
        description=(
            "Custom system prompt text; needs prompt_mode 'append' or 'replace'. Supports $<variable> "
            "substitution. Size limit in UTF-8 bytes: 51,200 (append) or 102,400 (replace)."
        ),
    )
    callbacks: list[CallbackInput] | None = Field(
        default=None,
        max_length=MAX_CALLBACKS,
        description="Session-level callbacks run after tool executions (see update_session_callbacks).",
    )
    # The four below arrived with the Feb 2026 Mix; each is sent only when given, since an older Mix refuses
    # a field it does not know, and the newest one refuses a create without browser_mode.
    browser_mode: BrowserMode | None = Field(
        default=None,
        description=(
            "How the session drives a browser (required by Mix from Feb 2026; older Mix refuses it): "
            "'electron-embedded-browser' uses the Mix desktop app's built-in Chromium, 'local-browser-service' "
            "a browser service on the Mix host, 'remote-cdp-websocket' a remote browser at cdp_url."
        ),
    )
    cdp_url: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_URL_LENGTH,
        pattern=r"^wss?://",
        description="Chrome DevTools Protocol WebSocket URL (ws:// or wss://) of a remote browser; needed with "
        "browser_mode 'remote-cdp-websocket'.",
    )
    model_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_NAME_LENGTH,
        description="Model the session runs (for example 'gemini-3-flash-preview'); Mix's default when left out. "
        "Needs provider.",
    )
    provider: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_NAME_LENGTH,
        description="LLM provider that owns model_id (for example 'gemini', 'anthropic', 'openai').",
    )

    @model_validator(mode="after")
    def _check_browser_and_model(self) -> CreateSessionArguments:
        if self.browser_mode == "remote-cdp-websocket" and self.cdp_url is None:
            raise ValueError("browser_mode 'remote-cdp-websocket' needs cdp_url (a ws:// or wss:// URL)")
        if self.model_id is not None and self.provider is None:
            raise ValueError("model_id needs provider (the LLM provider that owns the model)")
        return self

    _lenient_callbacks = field_validator("callbacks", mode="before")(_unchosen_callback_fields)

    @model_validator(mode="after")
    def _check_prompt_size(self) -> CreateSessionArguments:
        prompt = self.custom_system_prompt
        limit = PROMPT_LIMIT_BYTES.get(self.prompt_mode)
        if prompt is not None and limit is not None:
            size = len(prompt.encode("utf-8"))
            if size > limit:
                raise ValueError(
                    f"custom_system_prompt is {size:,} bytes, over the {limit:,}-byte limit of "
                    f"prompt_mode '{self.prompt_mode}'"
                )
        return self


class SessionArguments(ToolArguments):
    session_id: SessionId = _id("Id of the session, as returned by list_sessions or create_session.")


class UpdateSessionCallbacksArguments(ToolArguments):
    session_id: SessionId = _id("Id of the session whose callbacks are replaced.")
    callbacks: list[CallbackInput] = Field(
        max_length=MAX_CALLBACKS,
        description=(
            "The complete new list of callbacks; it replaces the current one. Pass [] to remove all callbacks."
        ),
    )
    _lenient_callbacks = field_validator("callbacks", mode="before")(_unchosen_callback_fields)


class ExportSessionArguments(ToolArguments):
    # Every option but session_id is optional; without any, the first DEFAULT_MAX_CHARS characters come back.
    session_id: SessionId = _id("Id of the session to export.")
    roles: list[MessageRole] | None = Field(
        default=None,
        min_length=1,
        max_length=len(MESSAGE_ROLES),
        description="Only return messages with these roles ('user', 'assistant', 'tool'); indexes stay those of "
        "the full transcript.",
    )
    offset: int = Field(
        default=0,
        ge=0,
        le=MAX_MESSAGE_POSITION,
        description="Index in the full transcript where the window starts (0 = first message). Not with "
        "after_message_id.",
    )
    after_message_id: SessionId | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_ID_LENGTH,
        description="Start the window just after this message id (e.g. the last message you have already read). "
        "Not with offset.",
    )
    limit: int | None = Field(
        default=None,
        ge=1,
        le=MAX_MESSAGE_POSITION,
        description="Return at most this many messages (after the roles filter); the result's window.next_offset "
        "and next_arguments say where the next window starts.",
    )
    include_reasoning: bool = Field(default=True, description="Include each message's reasoning text.")
    include_tool_calls: bool = Field(
        default=True, description="Include the tool calls of assistant messages (name, input, result)."
    )
    include_tool_results: bool = Field(
        default=True,
        description="Include tool output: each tool call's result and the messages of role 'tool'. False keeps "
        "the calls themselves but leaves their (often large) output out.",
    )
    max_chars: int = Field(
        default=DEFAULT_MAX_CHARS,
        ge=MIN_MAX_CHARS,
        le=MAX_MAX_CHARS,
        description="Upper bound on the characters of the returned text. The window ends before the first message "
        "that would not fit; the result is then marked truncated and next_arguments continues exactly there.",
    )
    unbounded: bool = Field(
        default=False,
        description="True returns the window with no character budget: with no offset and limit, the whole "
        "transcript, which can be megabytes. Not with max_chars.",
    )
    format: TranscriptFormat = Field(
        default="json",
        description="'json' returns the messages as objects; 'markdown' returns a readable transcript whose "
        "headings show each message's index (fork_session's message_index) and id (rewind_session's message_id).",
    )

    @model_validator(mode="after")
    def _one_window_start(self) -> ExportSessionArguments:
        if self.after_message_id is not None and self.chose("offset"):
            raise ValueError("give either offset or after_message_id, not both")
        if self.unbounded and self.chose("max_chars"):
            raise ValueError("give either max_chars or unbounded, not both")
        return self

    @property
    def budget(self) -> int | None:
        """The character budget of the text, or ``None`` when the caller asked for no bound."""
        return None if self.unbounded else self.max_chars


class ForkSessionArguments(ToolArguments):
    session_id: SessionId = _id("Id of the session to fork from.")
    message_index: int = Field(
        ge=0,
        le=MAX_MESSAGE_POSITION,
        description=(
            "0-based index of the last message to copy into the fork (messages[message_index] in export_session)."
        ),
    )
    title: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_TITLE_LENGTH,
        description="Title of the forked session (Mix uses 'Forked Session' when omitted).",
    )


class RewindSessionArguments(ToolArguments):
    session_id: SessionId = _id("Id of the session to rewind.")
    message_id: SessionId = _id("Id of the last message to keep (from export_session); every later message is deleted.")
    # Always sent: Mix's own default differs between the contract (true) and the real server (false).
    cleanup_media: bool = Field(
        default=False,
        description="Also delete the media files created after that message. Default false: media files are "
        "kept. mix-mcp always sends this value, so the outcome never depends on the Mix version's default.",
    )


#: Longest message send_message passes on (Mix has no documented limit; this keeps runaway input out).
MAX_MESSAGE_TEXT: Final = 1_000_000
MAX_WAIT_SECONDS: Final = 3600
MAX_STEPS: Final = 100_000
MAX_ANSWER_CHARS: Final = 100_000


def _event_id(value: str) -> str:
    """Event ids travel back to Mix in the ``Last-Event-ID`` header: visible ASCII only."""
    if not all(0x21 <= ord(c) <= 0x7E for c in value):
        raise ValueError("must be an event id as a result gave it (visible ASCII characters only)")
    return value


ThinkingLevel = Literal["off", "basic", "medium", "maximum"]


class SendMessageArguments(ToolArguments):
    session_id: SessionId = _id(
        "Id of the session whose agent gets the message (from list_sessions or create_session)."
    )
    text: str = Field(min_length=1, max_length=MAX_MESSAGE_TEXT, description="The message for the agent.")
    plan_mode: bool = Field(default=False, description="Ask the agent to plan rather than act (Mix's plan mode).")
    max_steps: int | None = Field(
        default=None,
        ge=1,
        le=MAX_STEPS,
        description="Most tool-call iterations the agent may make for this message; unlimited when left out.",
    )
    thinking_level: ThinkingLevel | None = Field(
        default=None,
        description="How much the model thinks: 'off', 'basic' (4k tokens), 'medium' (10k) or 'maximum' (32k); "
        "Mix decides from the message when left out.",
    )
    wait: bool = Field(
        default=True,
        description="True (default): follow the run for a bounded wait and return its answer or where it stands. "
        "False: return as soon as Mix accepted the message, with the follow_run call for later.",
    )
    max_wait_seconds: int | None = Field(
        default=None,
        ge=1,
        le=MAX_WAIT_SECONDS,
        description="Return after at most this many seconds even if the run goes on (then call follow_run with "
        "next_arguments). Left out: the server's run wait (a few seconds, so that clients that cut calls short "
        "get an answer). The server's call deadline caps it.",
    )


class FollowRunArguments(ToolArguments):
    session_id: SessionId = _id("Id of the session whose run to follow (as in the result that gave this call).")
    after_event_id: Annotated[str, AfterValidator(_event_id)] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_ID_LENGTH,
        description="Follow from just after this event id, as an earlier result's next_arguments gave it; left "
        "out: from the moment follow_run connects.",
    )
    max_wait_seconds: int | None = Field(
        default=None,
        ge=1,
        le=MAX_WAIT_SECONDS,
        description="Return after at most this many seconds even if the run goes on. Left out: the server's run "
        "wait. The server's call deadline caps it.",
    )


class AnswerPermissionArguments(ToolArguments):
    permission_id: SessionId = _id("Id of the pending permission request, from send_message's result.")
    grant: bool = Field(
        description="True lets the agent do what the request describes; false denies it. Ask the user if unsure."
    )


class AnswerNotificationArguments(ToolArguments):
    notification_id: SessionId = _id("Id of the pending question (notification), from the run's result.")
    value: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_ANSWER_CHARS,
        description="The user's answer: their text, or one of the question's choices. Leave it out to acknowledge.",
    )
    response_type: Literal["acknowledge", "text", "choice"] | None = Field(
        default=None,
        description="The answer's type, as the question's response_type says; left out: 'acknowledge' without a "
        "value, else 'text'.",
    )

    @model_validator(mode="after")
    def _value_for_text_and_choice(self) -> AnswerNotificationArguments:
        if self.response_type in ("text", "choice") and self.value is None:
            raise ValueError(f"value is required for a {self.response_type!r} answer (the user's answer)")
        return self


class ListMessagesArguments(ExportSessionArguments):
    """export_session's window, filters and format, over the messages as Mix stores them."""

    session_id: SessionId = _id("Id of the session whose messages are listed.")


# ------------------------------------------------------------------------------------------ session files

#: Longest file name Mix stores (one path segment of a file system).
MAX_FILE_NAME_BYTES: Final = 255
#: Largest file upload_session_file sends (after base64 decoding): below Mix's own 32 MB limit, and small
#: enough to travel as a tool argument.
MAX_UPLOAD_BYTES: Final = 8 * 1024 * 1024
#: Largest file read_session_file returns (images as image content, other files as text or a blob).
MAX_READ_BYTES: Final = 5 * 1024 * 1024
CONTENT_FORMATS: Final = ("text", "base64", "local_path")
ContentFormat = Literal["text", "base64", "local_path"]
#: ASCII digits only: ``\d`` would also let through other scripts' digits (Arabic-Indic, Devanagari...).
_THUMB = r"^([0-9]{1,5}|w[0-9]{1,5}|h[0-9]{1,5})$"


def _file_name(value: str) -> str:
    if value in (".", "..") or any(c in value for c in "/\\"):
        raise ValueError("must be a file name, not a path: no '/' or '\\', not '.' or '..'")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise ValueError("must not contain control characters")
    if len(value.encode("utf-8")) > MAX_FILE_NAME_BYTES:
        raise ValueError(f"must be at most {MAX_FILE_NAME_BYTES} bytes in UTF-8")
    return value


FileName = Annotated[str, AfterValidator(_file_name)]


def _name(description: str) -> Any:
    return Field(min_length=1, max_length=MAX_FILE_NAME_BYTES, description=description)


class ReadSessionFileArguments(ToolArguments):
    session_id: SessionId = _id("Id of the session that holds the file.")
    name: FileName = _name("Name of the file, as list_session_files gives it.")
    thumb: str | None = Field(
        default=None,
        pattern=_THUMB,
        description="For an image or video: return a thumbnail instead of the file, fitted in a box ('800': at "
        "most 800x800 pixels), to a width ('w800') or to a height ('h600'). Use it for large images.",
    )
    max_chars: int = Field(
        default=DEFAULT_MAX_CHARS,
        ge=MIN_MAX_CHARS,
        le=MAX_READ_BYTES,
        description=f"For a text file: return at most this many characters (default {DEFAULT_MAX_CHARS:,}); a "
        "longer file is marked truncated, with next_arguments that read all of it.",
    )


class UploadSessionFileArguments(ToolArguments):
    session_id: SessionId = _id("Id of the session to upload the file to.")
    name: FileName = _name("Name the file gets in the session (one file name, no directories).")
    content: str = Field(
        min_length=1,
        max_length=2 * MAX_UPLOAD_BYTES,
        description=f"The file: its text (content_format 'text'), its bytes in base64 (content_format 'base64'), or "
        "the path of a file on the machine running mix-mcp (content_format 'local_path', only when mix-mcp runs "
        f"over stdio). At most {MAX_UPLOAD_BYTES:,} bytes (8 MiB) once decoded.",
    )
    content_format: ContentFormat = Field(
        default="text",
        description="How content is given: 'text' (default, sent as UTF-8), 'base64' (binary files such as "
        "images), or 'local_path' (a file mix-mcp reads from its own disk; stdio only).",
    )
    mime_type: str | None = Field(
        default=None,
        min_length=3,
        max_length=MAX_NAME_LENGTH,
        pattern=r"^[\w.+-]+/[\w.+-]+$",
        description="Media type sent with the file, e.g. 'image/png'; guessed from the name when left out.",
    )


class DeleteSessionFileArguments(ToolArguments):
    session_id: SessionId = _id("Id of the session that holds the file.")
    name: FileName = _name("Name of the file to delete, as list_session_files gives it.")
