"""The Mix sessions contract as pydantic models.

Two families live here, on purpose apart:

* Response models (``SessionData``, ``ExportSession``, ...) are lenient. A newer Mix may add fields
  (``modelId``, ``provider``, ...) or drop optional ones; extra fields are kept as they are so that
  agents see everything Mix said, and only the fields our tools rely on are required.
* Input models (``CallbackInput`` and the tool argument models in ``arguments``) are strict: an agent
  gets a precise error before any request leaves, instead of a 400 round-trip.

Python attribute names are snake_case; the wire uses Mix's camelCase through aliases.
"""

from __future__ import annotations

from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

PROMPT_MODES: Final = ("default", "append", "replace")
PromptMode = Literal["default", "append", "replace"]
CALLBACK_TYPES: Final = ("bash_script", "sub_agent", "send_message")
CallbackType = Literal["bash_script", "sub_agent", "send_message"]
SESSION_TYPES: Final = ("main", "forked", "subagent")
#: Browser automation modes of a Feb 2026 Mix session (``browserMode``).
BROWSER_MODES: Final = ("electron-embedded-browser", "local-browser-service", "remote-cdp-websocket")
BrowserMode = Literal["electron-embedded-browser", "local-browser-service", "remote-cdp-websocket"]
ERROR_TYPES: Final = ("bad_request", "not_found", "internal_error", "unauthorized", "validation_error")

#: Size limits Mix applies to ``customSystemPrompt``, in UTF-8 bytes, by prompt mode.
PROMPT_LIMIT_BYTES: Final[dict[str, int]] = {"replace": 102_400, "append": 51_200}
#: The contract's ``maxLength`` on ``customSystemPrompt`` (the replace-mode limit).
PROMPT_MAX_LENGTH: Final = PROMPT_LIMIT_BYTES["replace"]
DEFAULT_BASH_TIMEOUT_MS: Final = 120_000


class MixModel(BaseModel):
    """Base for everything Mix sends: camelCase on the wire, unknown fields kept."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="allow",
        strict=True,
        # Built at first use, not at import: a server's start (an assistant spawning it) skips the cost.
        defer_build=True,
    )


class Callback(MixModel):
    """A session-level callback as Mix reports it (lenient: a new callback type still parses)."""

    tool_name: str = Field(description="Tool the callback is attached to ('*' for all tools).")
    type: str = Field(description="Callback type: 'bash_script', 'sub_agent' or 'send_message'.")
    name: str | None = Field(default=None, description="Human-readable name of the callback.")
    bash_command: str | None = Field(default=None, description="Shell command run by a bash_script callback.")
    bash_timeout: int | None = Field(default=None, description="Timeout of the bash command in milliseconds.")
    exclude_from_context: bool | None = Field(default=None, description="Keep callback results out of context.")
    include_full_history: bool | None = Field(default=None, description="Give a sub-agent the full history.")
    message_content: str | None = Field(default=None, description="Message injected by a send_message callback.")
    sub_agent_prompt: str | None = Field(default=None, description="Prompt of a sub_agent callback.")
    sub_agent_type: str | None = Field(default=None, description="Type of sub-agent spawned.")


def reject_null(value: Any) -> Any:
    """Input schemas leave optional arguments out of ``required`` instead of allowing ``null``; so must we."""
    if value is None:
        raise ValueError("must not be null; leave the argument out to use its default")
    return value


class CallbackInput(BaseModel):
    """A callback Mix runs after a matching tool finishes. Each type needs its own field: bash_script needs
    bash_command, sub_agent needs sub_agent_prompt, send_message needs message_content."""

    model_config = ConfigDict(
        defer_build=True,
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        loc_by_alias=False,
        extra="forbid",
        strict=True,
    )

    tool_name: str = Field(
        min_length=1,
        max_length=256,
        description="Tool to attach the callback to, e.g. 'Bash', 'Write', or '*' for every tool.",
    )
    type: CallbackType = Field(
        description=(
            "What the callback does after the tool finishes: 'bash_script' runs bash_command, 'sub_agent' "
            "spawns a sub-agent with sub_agent_prompt, 'send_message' injects message_content as a user message."
        )
    )
    name: str | None = Field(default=None, max_length=256, description="Human-readable name for the callback.")
    bash_command: str | None = Field(
        default=None,
        min_length=1,
        max_length=65_536,
        description=(
            "Shell command (required for bash_script). Environment: CALLBACK_TOOL_RESULT, CALLBACK_TOOL_NAME, "
            "CALLBACK_TOOL_ID, CALLBACK_SESSION_ID."
        ),
    )
    bash_timeout: int | None = Field(
        default=None,
        ge=1,
        le=3_600_000,
        description=f"Timeout for bash_command in milliseconds (Mix default {DEFAULT_BASH_TIMEOUT_MS}).",
    )
    exclude_from_context: bool | None = Field(
        default=None,
        description="Keep the callback's result out of the agent's context (bash_script and sub_agent only).",
    )
    include_full_history: bool | None = Field(
        default=None, description="Give the sub-agent the full conversation history (sub_agent only)."
    )
    message_content: str | None = Field(
        default=None,
        min_length=1,
        max_length=65_536,
        description="Message to inject as a user message (required for send_message).",
    )
    sub_agent_prompt: str | None = Field(
        default=None,
        min_length=1,
        max_length=65_536,
        description="Prompt for the sub-agent (required for sub_agent); the tool's context is appended.",
    )
    sub_agent_type: str | None = Field(
        default=None, max_length=256, description="Kind of sub-agent to spawn (Mix default 'general-purpose')."
    )

    _no_null = field_validator("*", mode="before")(reject_null)

    @model_validator(mode="after")
    def _check_type_rules(self) -> CallbackInput:
        problems = callback_rule_violations(self.type, self.model_dump(by_alias=False, exclude_none=True))
        if problems:
            raise ValueError("; ".join(problems))
        return self


#: The field each callback type cannot do without, as (snake_case name, camelCase name).
REQUIRED_BY_TYPE: Final[dict[str, tuple[str, str]]] = {
    "bash_script": ("bash_command", "bashCommand"),
    "sub_agent": ("sub_agent_prompt", "subAgentPrompt"),
    "send_message": ("message_content", "messageContent"),
}


def callback_rule_violations(callback_type: str, fields: dict[str, Any], *, wire_names: bool = False) -> list[str]:
    """Mix's per-type callback rules, shared by the input model and the emulator.

    ``fields`` holds the callback's set fields, snake_case or (with ``wire_names``) camelCase.
    """
    index = 1 if wire_names else 0
    problems: list[str] = []
    required = REQUIRED_BY_TYPE.get(callback_type)
    if required is not None and not fields.get(required[index]):
        problems.append(f"{required[index]} is required for {callback_type} callbacks")
    exclude = "excludeFromContext" if wire_names else "exclude_from_context"
    if callback_type == "send_message" and fields.get(exclude) is not None:
        problems.append(f"{exclude} is not allowed for send_message callbacks")
    return problems


class SessionData(MixModel):
    """A Mix session's metadata."""

    id: str = Field(description="Unique session identifier.")
    title: str = Field(description="Session title.")
    # Optional although the contract requires it: Mix versions before late 2025 do not send it.
    session_type: str | None = Field(default=None, description="'main', 'forked' or 'subagent' (older Mix omits it).")
    user_message_count: int = Field(description="Number of user messages.")
    assistant_message_count: int = Field(description="Number of assistant messages.")
    tool_call_count: int = Field(description="Number of tool calls made.")
    prompt_tokens: int = Field(description="Total prompt tokens used.")
    completion_tokens: int = Field(description="Total completion tokens used.")
    cost: float = Field(description="Total cost of the session.")
    created_at: str = Field(description="Creation timestamp (RFC 3339).")
    callbacks: list[Callback] | None = Field(default=None, description="Session-level callbacks.")
    first_user_message: str | None = Field(default=None, description="First user message, if any.")
    parent_session_id: str | None = Field(default=None, description="Parent of a forked or subagent session.")
    parent_tool_call_id: str | None = Field(default=None, description="Tool call that spawned a subagent session.")
    subagent_type: str | None = Field(default=None, description="Subagent specialization (subagent sessions).")


class ExportToolCall(MixModel):
    """One tool call inside an exported message."""

    id: str = Field(description="Tool call identifier.")
    name: str = Field(description="Tool name.")
    input: str = Field(description="Tool input as a JSON string.")
    type: str = Field(description="Tool type.")
    finished: bool = Field(description="Whether the tool finished.")
    input_json: dict[str, Any] | None = Field(default=None, description="Parsed tool input.")
    is_error: bool | None = Field(default=None, description="Whether the tool failed.")
    metadata: str | None = Field(default=None, description="Additional tool metadata.")
    result: str | None = Field(default=None, description="Tool result.")


class ExportMessage(MixModel):
    """One message of an exported transcript."""

    id: str = Field(description="Message identifier (what rewind_session's message_id takes).")
    role: str = Field(description="'user', 'assistant' or 'tool'.")
    content: str = Field(description="Message content.")
    created_at: str = Field(description="Creation timestamp.")
    updated_at: str = Field(description="Update timestamp.")
    finish_reason: str | None = Field(default=None, description="Completion finish reason.")
    model: str | None = Field(default=None, description="Model that produced the message.")
    reasoning: str | None = Field(default=None, description="Reasoning content.")
    reasoning_duration: int | None = Field(default=None, description="Reasoning duration in milliseconds.")
    tool_calls: list[ExportToolCall] | None = Field(default=None, description="Tool calls made by the message.")


class ExportSummary(MixModel):
    """What an export says about the session as a whole, apart from its messages."""

    id: str = Field(description="Session identifier.")
    title: str = Field(description="Session title.")
    assistant_message_count: int | None = Field(default=None, description="Number of assistant messages.")
    user_message_count: int | None = Field(default=None, description="Number of user messages.")
    tool_call_count: int | None = Field(default=None, description="Total number of tool calls.")
    prompt_tokens: int | None = Field(default=None, description="Total prompt tokens used.")
    completion_tokens: int | None = Field(default=None, description="Total completion tokens used.")
    cost: float | None = Field(default=None, description="Total cost of the session.")
    created_at: str | None = Field(default=None, description="Session creation timestamp.")
    updated_at: str | None = Field(default=None, description="Session last update timestamp.")


class ExportSession(ExportSummary):
    """A session's complete transcript."""

    messages: list[ExportMessage] = Field(description="Every message, oldest first; list position = message index.")


class RESTError(MixModel):
    """The inside of Mix's error envelope."""

    code: int
    message: str
    type: str


class ErrorResponse(MixModel):
    """Mix's error envelope: ``{"error": {"code", "message", "type"}}``."""

    error: RESTError


# ------------------------------------------------------------------------------------------ agent runs


class MessageAccepted(MixModel):
    """Mix's 202 to ``sendMessage``: the message was taken and the agent runs on, asynchronously."""

    status: str = Field(description="Processing status ('processing').")
    session_id: str = Field(description="Session the run belongs to.")


class ToolCallData(MixModel):
    """One tool call of a stored message (``getSessionMessages``)."""

    id: str = Field(description="Tool call identifier.")
    name: str = Field(description="Tool name.")
    input: str = Field(description="Tool input as a JSON string.")
    type: str = Field(description="Tool type.")
    finished: bool = Field(description="Whether the tool call has finished.")
    is_error: bool | None = Field(default=None, description="Whether the tool call failed.")
    result: str | None = Field(default=None, description="Tool result.")


class BackendMessage(MixModel):
    """One message as Mix stores it: a user input and, for the assistant, its response."""

    id: str = Field(description="Message identifier.")
    session_id: str = Field(description="Session the message belongs to.")
    role: str = Field(description="'user', 'assistant' or 'tool'.")
    user_input: str = Field(description="The user's input message (empty for other roles).")
    assistant_response: str | None = Field(default=None, description="The assistant's response.")
    reasoning: str | None = Field(default=None, description="Reasoning text.")
    reasoning_duration: int | None = Field(default=None, description="Reasoning duration in milliseconds.")
    tool_calls: list[ToolCallData] | None = Field(default=None, description="Tool calls made by the message.")
    callback_results: list[dict[str, Any]] | None = Field(default=None, description="Callback execution results.")


class PermissionGranted(MixModel):
    """Mix's answer to ``grantPermission``."""

    granted: bool | None = Field(default=None, description="Whether the permission was granted.")


class PermissionDenied(MixModel):
    """Mix's answer to ``denyPermission``."""

    denied: bool | None = Field(default=None, description="Whether the permission was denied.")


class ProcessingCancelled(MixModel):
    """Mix's answer to ``cancelSessionProcessing``."""

    cancelled: bool | None = Field(default=None, description="Whether an ongoing run was cancelled.")


#: Every event type the contract's stream names; others (a newer Mix) are passed on untouched.
STREAM_EVENT_TYPES: Final = (
    "connected",
    "heartbeat",
    "error",
    "complete",
    "thinking",
    "content",
    "tool",
    "tool_parameter_delta",
    "tool_execution_start",
    "tool_execution_complete",
    "permission",
    "user_message_created",
    "session_created",
    "session_deleted",
)


class PermissionRequest(MixModel):
    """The data of a ``permission`` event: what the agent wants to do, waiting for a grant or a deny."""

    id: str = Field(description="Permission request id (what answer_permission takes).")
    session_id: str = Field(description="Session whose run asks.")
    tool_name: str = Field(description="Tool that needs the permission.")
    description: str = Field(description="Human-readable description of the request.")
    action: str = Field(description="The action requested.")
    type: str | None = Field(default=None, description="Permission event type.")
    path: str | None = Field(default=None, description="File path the request concerns, if any.")
    params: dict[str, Any] | None = Field(default=None, description="Further parameters, e.g. the command.")


# ------------------------------------------------------------------------------------------ session files


class FileInfo(MixModel):
    """One entry of a session's storage directory (``listSessionFiles``, ``uploadSessionFile``)."""

    name: str = Field(description="File name (one path segment).")
    size: int = Field(description="Size in bytes.")
    modified: int = Field(description="Last modification, in Unix seconds.")
    is_dir: bool = Field(description="Whether the entry is a directory (directories cannot be read or deleted).")
    url: str = Field(description="Mix's static URL of the file.")
