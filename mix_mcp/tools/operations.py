"""The operation table: one declarative entry per Mix sessions operation.

Tools, their schemas, ``tool_schemas/``, the README's tool table and the retry policy all read
from ``OPERATIONS``. Adding an operation means adding an entry here, not a handler.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Final

from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from pydantic.alias_generators import to_camel

from mix_mcp.config import ConfigError, Settings, describe_setting
from mix_mcp.mix.client import FILE_LIST, SESSION, SESSION_LIST, TRANSCRIPT, CallStats, MixClient, ProgressFn
from mix_mcp.mix.endpoints import (
    CANCEL_SESSION_PROCESSING,
    CREATE_SESSION,
    DELETE_SESSION,
    DELETE_SESSION_FILE,
    EXPORT_SESSION,
    FORK_SESSION,
    GET_SESSION,
    GET_SESSION_FILE,
    GET_SESSION_MESSAGES,
    GRANT_PERMISSION,
    LIST_SESSION_FILES,
    LIST_SESSIONS,
    RESPOND_TO_NOTIFICATION,
    REWIND_SESSION,
    SEND_MESSAGE,
    STREAM_EVENTS,
    UPDATE_SESSION_CALLBACKS,
    UPLOAD_SESSION_FILE,
    Endpoint,
)
from mix_mcp.mix.errors import ArgumentsError, ErrorHints
from mix_mcp.mix.models import BROWSER_MODES, SessionData
from mix_mcp.tools import files
from mix_mcp.tools.arguments import (
    AnswerNotificationArguments,
    AnswerPermissionArguments,
    CreateSessionArguments,
    DeleteSessionFileArguments,
    ExportSessionArguments,
    FollowRunArguments,
    ForkSessionArguments,
    ListMessagesArguments,
    ListSessionsArguments,
    ReadSessionFileArguments,
    RewindSessionArguments,
    SendMessageArguments,
    SessionArguments,
    ToolArguments,
    UpdateSessionCallbacksArguments,
    UploadSessionFileArguments,
)
from mix_mcp.tools.listing import SessionList, shape_session_list
from mix_mcp.tools.messages import MESSAGES, MessageListing, shape_messages
from mix_mcp.tools.rendering import Shaped
from mix_mcp.tools.runs import results as run_results
from mix_mcp.tools.runs import tools as runs
from mix_mcp.tools.runs.follow import CallContext, Runner, RunnerResult
from mix_mcp.tools.sanitize import SPOTLIGHT_NOTICE, guard_untrusted
from mix_mcp.tools.schemas import catalogued, input_schema, output_schema
from mix_mcp.tools.transcripts import TranscriptExport, shape_transcript


class DeletedSession(BaseModel):
    """Confirmation that a session is gone."""

    deleted: bool = Field(description="Always true: Mix confirmed the deletion.")
    session_id: str = Field(description="Id of the deleted session.")


@dataclass(frozen=True, slots=True)
class ResultShape:
    """How Mix's answer becomes a result: what to check it against, its model, and the hook that shapes it.

    ``wrap`` receives Mix's checked answer and the validated arguments, so that arguments which never
    reach Mix (a transcript's window, filters and format) can still shape what comes back.
    """

    contract: TypeAdapter[Any] | None
    model: type[BaseModel]
    wrap: Callable[[Any, ToolArguments], Shaped]
    #: Whether the answer holds text from Mix sessions (titles, messages, tool output): sanitised,
    #: spotlighted when asked, and labelled in ``_meta``.
    untrusted: bool = True


def _as_is(data: Any, _args: ToolArguments) -> Shaped:
    assert isinstance(data, dict)
    return Shaped(data)


def _deleted(_data: Any, args: ToolArguments) -> Shaped:
    assert isinstance(args, SessionArguments)
    return Shaped({"deleted": True, "session_id": args.session_id})


SESSION_RESULT: Final = ResultShape(SESSION, SessionData, _as_is)
SESSION_LIST_RESULT: Final = ResultShape(SESSION_LIST, SessionList, shape_session_list)
DELETED_RESULT: Final = ResultShape(None, DeletedSession, _deleted, untrusted=False)
TRANSCRIPT_RESULT: Final = ResultShape(TRANSCRIPT, TranscriptExport, shape_transcript)
MESSAGES_RESULT: Final = ResultShape(MESSAGES, MessageListing, shape_messages)
RUN_RESULT: Final = ResultShape(None, run_results.RunResult, _as_is)
PERMISSION_RESULT: Final = ResultShape(None, run_results.PermissionAnswer, _as_is, untrusted=False)
NOTIFICATION_RESULT: Final = ResultShape(None, run_results.NotificationAnswer, _as_is, untrusted=False)
CANCEL_RESULT: Final = ResultShape(runs.CANCELLED, run_results.RunCancelled, runs.cancelled_result, untrusted=False)
FILE_LIST_RESULT: Final = ResultShape(FILE_LIST, files.FileListing, files.shape_file_list)
FILE_READ_RESULT: Final = ResultShape(None, files.FileRead, _as_is)
FILE_UPLOAD_RESULT: Final = ResultShape(None, files.UploadedFile, _as_is)
FILE_DELETED_RESULT: Final = ResultShape(None, files.DeletedFile, files.shape_deleted_file, untrusted=False)

NOT_FOUND_SESSION: Final = ErrorHints(not_found="Call list_sessions to see the ids that exist.")
BROWSER_MODE_ADVICE: Final = (
    "This Mix requires browser_mode: call create_session again with browser_mode set to one of "
    + ", ".join(f"'{mode}'" for mode in BROWSER_MODES)
    + " ('remote-cdp-websocket' also needs cdp_url). An older Mix refuses browser_mode: leave it out there."
)


@dataclass(frozen=True)
class Operation:
    """One tool: what the model reads, what Mix receives, what comes back, and how safe a repeat is."""

    name: str
    title: str
    description: str
    endpoint: Endpoint
    arguments: type[ToolArguments]
    result: ResultShape
    read_only: bool
    destructive: bool
    idempotent: bool
    #: Argument name -> query parameter name; every other argument but ``session_id`` goes in the body.
    query: Mapping[str, str] = field(default_factory=dict)
    hints: ErrorHints = NOT_FOUND_SESSION
    #: Mix's sessions are a closed domain: these tools reach no other system.
    open_world: bool = False
    #: What the user is asked before this runs, when the server runs with --confirm-destructive
    #: (``None``: never asked). ``{session}`` names the session; other fields are the arguments.
    confirm: str | None = None
    #: Body arguments sent with their default even when the caller left them out, because Mix versions
    #: disagree on what an omitted one means. Every other argument is sent only when the caller set it.
    explicit: tuple[str, ...] = ()
    #: For a tool that is more than one request (an agent run): does the whole call instead of ``endpoint``,
    #: which then names its main request.
    runner: Runner | None = None
    #: The argument that fills the path's ``{filename}`` (session files), never sent in a body or query.
    filename_argument: str | None = None
    #: Tools that a Mix offers together or not at all (``"files"``): when Mix's router lacks one, all leave.
    family: str | None = None

    @property
    def retry_safe(self) -> bool:
        """Whether a failed attempt may be repeated after the request possibly reached Mix."""
        return self.read_only or self.idempotent

    @property
    def retry_policy(self) -> str:
        """The retry rule ``MixClient`` applies to this operation, in words (README, docs)."""
        if self.retry_safe:
            return "connection failures, timeouts, answers cut off mid-body, HTTP 408, 429 and 5xx (not 501/505)"
        return "only a failed connection (the request never left); never after a timeout, reset or 5xx"

    @cached_property
    def input_schema(self) -> dict[str, Any]:
        return catalogued(self.name, "inputSchema") or self.computed_input_schema()

    @cached_property
    def output_schema(self) -> dict[str, Any]:
        return catalogued(self.name, "outputSchema") or self.computed_output_schema()

    def computed_input_schema(self) -> dict[str, Any]:
        """The input schema derived from the argument model (what ``schema_catalog.json`` must hold)."""
        return input_schema(self.arguments)

    def computed_output_schema(self) -> dict[str, Any]:
        return output_schema(self.result.model)

    def model_description(self, *, spotlight: bool) -> str:
        """The description the model reads; with spotlighting on, it says what the boundaries mean."""
        if spotlight and self.result.untrusted:
            return self.description + SPOTLIGHT_NOTICE
        return self.description

    @cached_property
    def annotations(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "readOnlyHint": self.read_only,
            "destructiveHint": self.destructive,
            "idempotentHint": self.idempotent,
            "openWorldHint": self.open_world,
        }

    def request_parts(self, args: ToolArguments) -> tuple[str | None, dict[str, str] | None, dict[str, Any] | None]:
        """Split validated arguments into (session id, query, JSON body) for the endpoint."""
        session_id = getattr(args, "session_id", None) if self.endpoint.takes_id else None
        query: dict[str, str] = {}
        for argument, parameter in self.query.items():
            if argument in args.model_fields_set:
                value = getattr(args, argument)
                query[parameter] = str(value).lower() if isinstance(value, bool) else str(value)
        body: dict[str, Any] | None = None
        # A POST without body arguments (cancel_run) sends no body at all, as the contract defines none.
        if self.endpoint.method in ("POST", "PATCH") and set(self.arguments.model_fields) - {"session_id"}:
            excluded = {"session_id", *self.query, *([self.filename_argument] if self.filename_argument else [])}
            body = args.model_dump(exclude_unset=True, exclude=excluded, mode="json")
            for name in self.explicit:
                body.setdefault(to_camel(name), getattr(args, name))
        return session_id, query or None, body

    def parse(self, arguments: Mapping[str, Any] | None) -> ToolArguments:
        """The validated arguments, or an ArgumentsError that lists every problem (nothing is sent)."""
        try:
            return self.arguments.model_validate(arguments or {})
        except ValidationError as exc:
            raise ArgumentsError.from_validation(self.name, exc) from None

    async def execute(
        self,
        client: MixClient,
        args: ToolArguments,
        *,
        stats: CallStats | None = None,
        progress: ProgressFn | None = None,
        call: CallContext | None = None,
    ) -> RunnerResult:
        """The whole tool call: ``perform``, or the ``runner`` of an operation that is more than one request.

        A runner gets ``call`` (the MCP request: progress, elicitation, a 2026-07-28 client's answers) and
        may return an ``InputRequiredResult``.
        """
        if self.runner is None:
            return await self.perform(client, args, stats=stats, progress=progress)
        request, params = (call.request, call.params) if call is not None else (None, None)
        outcome = await self.runner(client, args, CallContext(request, params, stats))
        if not isinstance(outcome, Shaped) or not self.result.untrusted:
            return outcome
        # A run's answer, tool output and permission texts are Mix text like any transcript's.
        structured, label = guard_untrusted(outcome.structured, spotlight=client.settings.spotlight)
        return Shaped(structured, None, {**(outcome.meta or {}), **label}, outcome.blocks)

    async def perform(
        self,
        client: MixClient,
        args: ToolArguments,
        *,
        stats: CallStats | None = None,
        progress: ProgressFn | None = None,
    ) -> Shaped:
        """One request to Mix for validated arguments, and its answer shaped into a result."""
        session_id, query, body = self.request_parts(args)
        data = await client.send(
            self.endpoint,
            session_id=session_id,
            filename=getattr(args, self.filename_argument) if self.filename_argument else None,
            query=query,
            body=body,
            idempotent=self.retry_safe,
            operation=self.name,
            expect=self.result.contract,
            stats=stats,
            progress=progress,
        )
        if not self.result.untrusted:
            return self.result.wrap(data, args)
        data, label = guard_untrusted(data, spotlight=client.settings.spotlight)
        shaped = self.result.wrap(data, args)
        return Shaped(shaped.structured, shaped.text, {**(shaped.meta or {}), **label})


OPERATIONS: Final[tuple[Operation, ...]] = (
    Operation(
        name="list_sessions",
        title="List Mix sessions",
        description=(
            "List the Mix sessions that exist, newest first, with their ids, titles, types, message counts, "
            "tokens and cost. Call this first to find a session id for the other tools. Narrow the list with "
            "title_contains, session_type and created_after. A page holds at most limit sessions (50 unless "
            "given) and about 50,000 characters; when truncated, call again with next_arguments for the next "
            "page. Subagent sessions are hidden unless include_subagents is true."
        ),
        endpoint=LIST_SESSIONS,
        arguments=ListSessionsArguments,
        result=SESSION_LIST_RESULT,
        read_only=True,
        destructive=False,
        idempotent=True,
        query={"include_subagents": "includeSubagents"},
    ),
    Operation(
        name="create_session",
        title="Create a Mix session",
        description=(
            "Create a new, empty Mix session with a title, optionally a custom system prompt (prompt_mode "
            "'append' or 'replace') and session-level callbacks. Returns the session, whose id the other tools "
            "take. A Mix from Feb 2026 on requires browser_mode (and accepts cdp_url, model_id, provider); an "
            "older Mix refuses those, so pass them only to a Mix that asks for them. Each call creates another "
            "session, so do not repeat a call that succeeded."
        ),
        endpoint=CREATE_SESSION,
        arguments=CreateSessionArguments,
        result=SESSION_RESULT,
        read_only=False,
        destructive=False,
        idempotent=False,
        hints=ErrorHints(
            bad_request="Fix the arguments named in the message (title is required) and call again.",
            argument_advice=(("browser_mode", BROWSER_MODE_ADVICE),),
            maybe_applied=(
                "The request may have reached Mix before it failed, so the session may exist: call list_sessions "
                "and look for its title before calling create_session again (a repeat creates a second session)."
            ),
        ),
    ),
    Operation(
        name="get_session",
        title="Get a Mix session",
        description=(
            "Get one session's metadata: title, type, parent, callbacks, message and tool-call counts, tokens and "
            "cost. Use export_session instead to read its messages. Take the id from list_sessions."
        ),
        endpoint=GET_SESSION,
        arguments=SessionArguments,
        result=SESSION_RESULT,
        read_only=True,
        destructive=False,
        idempotent=True,
    ),
    Operation(
        name="delete_session",
        title="Delete a Mix session",
        description=(
            "Permanently delete a session and all its messages and files. This cannot be undone: confirm the id "
            "with get_session first, and consider fork_session to keep a copy."
        ),
        endpoint=DELETE_SESSION,
        arguments=SessionArguments,
        result=DELETED_RESULT,
        read_only=False,
        destructive=True,
        idempotent=True,
        hints=ErrorHints(not_found="The session may already be deleted; call list_sessions to see the ids that exist."),
        confirm="Permanently delete the Mix session {session} with all its messages and files? This cannot be undone.",
    ),
    Operation(
        name="update_session_callbacks",
        title="Replace a session's callbacks",
        description=(
            "Replace the complete list of a session's callbacks, which Mix runs after matching tool executions: "
            "'bash_script' (needs bash_command), 'sub_agent' (needs sub_agent_prompt) or 'send_message' (needs "
            "message_content). Callbacks not in the new list are removed; pass [] to clear them. Call "
            "get_session first to see the current list."
        ),
        endpoint=UPDATE_SESSION_CALLBACKS,
        arguments=UpdateSessionCallbacksArguments,
        result=SESSION_RESULT,
        read_only=False,
        destructive=True,
        idempotent=True,
    ),
    Operation(
        name="export_session",
        title="Export a session transcript",
        description=(
            "Export a session's transcript: its messages (oldest first) with id, role, content, reasoning and tool "
            "calls, plus token and cost totals. Every message carries its 'index' in the full transcript (the "
            "message_index fork_session takes) and its 'id' (the message_id rewind_session takes). Long sessions "
            "are large, so a result holds about 50,000 characters unless max_chars says otherwise: read on in "
            "windows with limit and offset (or after_message_id), filter with roles, include_reasoning, "
            "include_tool_calls and include_tool_results, and ask for format 'markdown' to read rather than "
            "parse. A window that stops early is marked truncated and gives next_arguments: call again with "
            "them to continue exactly where it stopped. unbounded=true returns everything at once (it can be "
            "megabytes: more than a model's context)."
        ),
        endpoint=EXPORT_SESSION,
        arguments=ExportSessionArguments,
        result=TRANSCRIPT_RESULT,
        read_only=True,
        destructive=False,
        idempotent=True,
    ),
    Operation(
        name="fork_session",
        title="Fork a session at a message",
        description=(
            "Create a new 'forked' session holding copies of the source session's messages 0..message_index "
            "(inclusive), to branch a conversation without touching the original. Call export_session first to "
            "choose message_index. Each call creates another session."
        ),
        endpoint=FORK_SESSION,
        arguments=ForkSessionArguments,
        result=SESSION_RESULT,
        read_only=False,
        destructive=False,
        idempotent=False,
        hints=ErrorHints(
            bad_request=(
                "message_index must be within the session's messages: call export_session to see how many "
                "there are (indexes are 0-based)."
            ),
            maybe_applied=(
                "The request may have reached Mix before it failed, so the fork may exist: call list_sessions and "
                "look for a 'forked' session with this parent before calling fork_session again (a repeat creates "
                "a second fork)."
            ),
            unavailable=(
                "Mix dropped fork in its Feb 2026 release. To branch a conversation there, read it with "
                "export_session and start a new session with create_session; rewind_session cuts a session back "
                "in place instead (irreversible)."
            ),
            server_error=(
                "Older Mix versions answer a fork of an unknown session with this 500: check session_id with "
                "get_session (and message_index with export_session) before trying again."
            ),
        ),
    ),
    Operation(
        name="rewind_session",
        title="Rewind a session to a message",
        description=(
            "Delete every message after message_id in the session itself (the message is kept), optionally "
            "cleaning up media created after it. This cannot be undone: fork_session keeps a copy instead. Call "
            "export_session first to find the message id."
        ),
        endpoint=REWIND_SESSION,
        arguments=RewindSessionArguments,
        result=SESSION_RESULT,
        read_only=False,
        destructive=True,
        idempotent=True,
        hints=ErrorHints(
            not_found=(
                "The session or the message does not exist: call list_sessions for session ids and "
                "export_session for the message ids of that session."
            ),
            unavailable="This Mix version has no rewind; fork_session at the message keeps a copy up to it instead.",
        ),
        confirm=(
            "Rewind the Mix session {session} to message {message_id}? Every later message is deleted; this "
            "cannot be undone."
        ),
        explicit=("cleanup_media",),
    ),
    Operation(
        name="send_message",
        title="Put the session's agent to work",
        description=(
            "Send a message (text) to the session's Mix agent and follow its run for a short, bounded wait: "
            "returns the assistant's answer, its message id, the tool calls with their input and output, what "
            "sub-agents did, reasoning time and the run's tokens and cost, with progress notifications on the "
            "way. A run still going when the wait is up comes back 'running' with next_arguments naming "
            "follow_run and its arguments: call it to follow on (nothing is sent again). When the agent asks "
            "permission or asks the user a question, the user is asked if the client can; otherwise the result "
            "is 'permission_pending' (answer_permission) or 'question_pending' (answer_notification, with the "
            "question, its choices and timeout). max_steps and thinking_level are sent only when given. "
            "wait=false returns as soon as Mix accepted the message. Each call runs the agent again: never "
            "repeat one that may have been sent (list_messages shows it)."
        ),
        endpoint=SEND_MESSAGE,
        arguments=SendMessageArguments,
        result=RUN_RESULT,
        read_only=False,
        destructive=False,
        idempotent=False,
        hints=runs.SEND_HINTS,
        runner=runs.send_message,
    ),
    Operation(
        name="follow_run",
        title="Follow a session's agent run",
        description=(
            "Follow an agent run already sent (by send_message), without sending anything: reads the session's "
            "events from just after after_event_id for a short, bounded wait and returns the same result as "
            "send_message (answer, tool calls with input and output, questions waiting for the user). Call it "
            "with the arguments of a result's next_arguments, again and again while it says 'running'."
        ),
        endpoint=STREAM_EVENTS,
        arguments=FollowRunArguments,
        result=RUN_RESULT,
        read_only=False,
        destructive=False,
        idempotent=True,
        hints=runs.FOLLOW_HINTS,
        runner=runs.follow_run,
    ),
    Operation(
        name="answer_permission",
        title="Answer a Mix agent's permission request",
        description=(
            "Grant or deny a permission request a Mix agent run is waiting on (the id comes from a run result "
            "with status 'permission_pending'). Grant only what the user agreed to. Afterwards, call follow_run "
            "with that result's next_arguments.arguments to follow the run to its answer."
        ),
        endpoint=GRANT_PERMISSION,
        arguments=AnswerPermissionArguments,
        result=PERMISSION_RESULT,
        read_only=False,
        destructive=True,
        idempotent=False,
        hints=runs.PERMISSION_HINTS,
        runner=runs.answer_permission,
        confirm="Answer the Mix agent's permission request {permission_id} with grant={grant}?",
    ),
    Operation(
        name="answer_notification",
        title="Answer a Mix agent's question",
        description=(
            "Send the user's answer to a question a Mix agent run is waiting on (a result with status "
            "'question_pending' gives the notification id, its response_type, choices and timeout). Put the "
            "question to the user and send exactly what they answered: never answer on their behalf. value is "
            "their text or one of the choices (left out to acknowledge). Afterwards, call follow_run with that "
            "result's next_arguments.arguments to follow the run to its answer."
        ),
        endpoint=RESPOND_TO_NOTIFICATION,
        arguments=AnswerNotificationArguments,
        result=NOTIFICATION_RESULT,
        read_only=False,
        destructive=False,
        idempotent=False,
        hints=runs.NOTIFICATION_HINTS,
        runner=runs.answer_notification,
    ),
    Operation(
        name="cancel_run",
        title="Cancel a session's agent run",
        description=(
            "Stop whatever the session's Mix agent is processing now. The result says whether a run was "
            "stopped; what it wrote before stays in the session (list_messages)."
        ),
        endpoint=CANCEL_SESSION_PROCESSING,
        arguments=SessionArguments,
        result=CANCEL_RESULT,
        read_only=False,
        destructive=False,
        idempotent=True,
    ),
    Operation(
        name="list_messages",
        title="List a session's messages",
        description=(
            "List a session's messages as Mix stores them (user input, assistant response, reasoning, tool "
            "calls), oldest first, with the same window, filters, max_chars and format options as "
            "export_session, and next_arguments to read on. Use it to read what an agent run wrote."
        ),
        endpoint=GET_SESSION_MESSAGES,
        arguments=ListMessagesArguments,
        result=MESSAGES_RESULT,
        read_only=True,
        destructive=False,
        idempotent=True,
    ),
    Operation(
        name="list_session_files",
        title="List a session's files",
        description=(
            "List the files in a session's storage directory (screenshots, uploads, files the agent wrote) with "
            "name, size in bytes, modification time and URI. Call it before read_session_file or "
            "delete_session_file to get exact names. Session files need a Mix from Feb 2026 on."
        ),
        endpoint=LIST_SESSION_FILES,
        arguments=SessionArguments,
        result=FILE_LIST_RESULT,
        read_only=True,
        destructive=False,
        idempotent=True,
        hints=files.FILE_HINTS,
        family="files",
    ),
    Operation(
        name="read_session_file",
        title="Read a session's file",
        description=(
            "Read one file of a session (names from list_session_files): an image (PNG, JPEG, GIF, WebP) comes "
            "back as image content you can look at, a text file as text (at most max_chars characters, 50,000 "
            "unless given), any other file as an embedded base64 resource. At most 5 MiB (5,242,880 bytes) are "
            "returned: for a larger image or a video, pass thumb (e.g. '800') to get a smaller image."
        ),
        endpoint=GET_SESSION_FILE,
        arguments=ReadSessionFileArguments,
        result=FILE_READ_RESULT,
        read_only=True,
        destructive=False,
        idempotent=True,
        hints=files.READ_HINTS,
        runner=files.read_session_file,
        filename_argument="name",
        family="files",
    ),
    Operation(
        name="upload_session_file",
        title="Upload a file to a session",
        description=(
            "Store a file in a session's storage directory, where its agent can use it. Give content as text "
            "(content_format 'text', the default), as base64 for binary files ('base64'), or, only when mix-mcp "
            "runs over stdio, as the path of a local file ('local_path'). At most 8 MiB (8,388,608 bytes) once "
            "decoded; over HTTP a call must also fit the server's request limit (--max-request-bytes, 1 MiB "
            "unless raised). A file of the same name is replaced. Session files need a Mix from Feb 2026 on."
        ),
        endpoint=UPLOAD_SESSION_FILE,
        arguments=UploadSessionFileArguments,
        result=FILE_UPLOAD_RESULT,
        read_only=False,
        destructive=True,
        idempotent=True,
        hints=files.UPLOAD_HINTS,
        runner=files.upload_session_file,
        family="files",
    ),
    Operation(
        name="delete_session_file",
        title="Delete a session's file",
        description=(
            "Permanently delete one file from a session's storage directory (directories cannot be deleted). "
            "This cannot be undone: check the name with list_session_files first, and read_session_file keeps "
            "nothing afterwards."
        ),
        endpoint=DELETE_SESSION_FILE,
        arguments=DeleteSessionFileArguments,
        result=FILE_DELETED_RESULT,
        read_only=False,
        destructive=True,
        idempotent=True,
        hints=files.FILE_HINTS,
        confirm="Permanently delete the file '{name}' from the Mix session {session}? This cannot be undone.",
        filename_argument="name",
        family="files",
    ),
)

OPERATIONS_BY_NAME: Final[Mapping[str, Operation]] = {op.name: op for op in OPERATIONS}


def _known(names: tuple[str, ...], setting: str, catalogue: Mapping[str, Operation]) -> None:
    unknown = [name for name in names if name not in catalogue]
    if unknown:
        listed = ", ".join(repr(name) for name in unknown)
        raise ConfigError(f"{describe_setting(setting)}: unknown tool {listed}. Known tools: {', '.join(catalogue)}.")


def select_operations(settings: Settings, operations: Sequence[Operation] = OPERATIONS) -> tuple[Operation, ...]:
    """The operations an operator lets agents use: --tools, then --read-only, then --exclude-tools.

    Names are checked at start, so that a typo fails loudly instead of silently publishing nothing
    (or everything).
    """
    catalogue = {op.name: op for op in operations}
    selected = list(operations)
    if settings.tools is not None:
        _known(settings.tools, "tools", catalogue)
        wanted = set(settings.tools)
        selected = [op for op in selected if op.name in wanted]
        if settings.read_only:
            writes = [op.name for op in selected if not op.read_only]
            if writes:
                raise ConfigError(
                    f"{describe_setting('tools')} names {', '.join(writes)}, which "
                    f"{describe_setting('read_only')} leaves out: drop one of the two settings."
                )
    if settings.read_only:
        selected = [op for op in selected if op.read_only]
    if settings.exclude_tools is not None:
        _known(settings.exclude_tools, "exclude_tools", catalogue)
        excluded = set(settings.exclude_tools)
        selected = [op for op in selected if op.name not in excluded]
    if not selected:
        raise ConfigError(
            "the tool settings (--tools, --read-only, --exclude-tools) leave no tool to publish; "
            f"known tools: {', '.join(catalogue)}."
        )
    return tuple(selected)
