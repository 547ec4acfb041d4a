"""``mix-mcp doctor --emulator``: try every published tool, end to end, on a scratch session.

The route probe tells whether Mix has each endpoint; this tells whether each tool the server publishes
works, through the same path an assistant's call takes (an MCP client, the server, the Mix client, the
emulator). It asks the server for its tool list, so the count is what is published, not a number
written here; each tool it knows is called with arguments that only touch a scratch session created for
the purpose and deleted at the end, and a tool it does not know is reported as published but not tried.

Only against the built-in emulator: on a real Mix these calls would create sessions and spend tokens.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final

from mcp import Client

from mix_mcp.config import Settings

SCRATCH_TITLE: Final = "mix-mcp doctor scratch session (deleted when the check ends)"
#: How long one agent run of the check may take; the emulator's runs take well under a second.
RUN_WAIT_SECONDS: Final = 30


@dataclass
class ToolTrial:
    """What became of one published tool: 'ok', 'failed' (with the tool's own words), 'not offered' (by this
    Mix version) or, when absent from ``Tryout.trials``, not tried."""

    tool: str
    outcome: str
    detail: str = ""


@dataclass
class Tryout:
    """The tools the server published, in its order, and what trying each one gave."""

    published: list[str] = field(default_factory=list)
    trials: dict[str, ToolTrial] = field(default_factory=dict)
    leftovers: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[ToolTrial]:
        return [t for t in self.trials.values() if t.outcome == "failed"]

    @property
    def not_offered(self) -> list[str]:
        return [t.tool for t in self.trials.values() if t.outcome == "not offered"]

    @property
    def untried(self) -> list[str]:
        return [name for name in self.published if self.trials.get(name) is None]


class _Failed(Exception):
    pass


class _Session:
    """Calls through one MCP client, recording each tool's outcome."""

    def __init__(self, client: Client, tryout: Tryout, schemas: dict[str, dict[str, Any]]) -> None:
        self.client = client
        self.tryout = tryout
        self.schemas = schemas

    def published(self, tool: str, *arguments: str) -> bool:
        """Whether ``tool`` is published and takes every argument named (so a renamed one is not guessed)."""
        schema = self.schemas.get(tool)
        return schema is not None and all(name in schema.get("properties", {}) for name in arguments)

    async def call(self, tool: str, arguments: dict[str, Any], check: Callable[[Any], str | None] | None = None) -> Any:
        """Call ``tool``; raise ``_Failed`` (after recording it) on a tool error or a failed ``check``."""
        try:
            result = await self.client.call_tool(tool, arguments)
        except Exception as exc:  # a protocol error is this tool's failure, not the end of the check
            self.tryout.trials[tool] = ToolTrial(tool, "failed", f"{type(exc).__name__}: {exc}"[:300])
            raise _Failed(str(exc)) from exc
        text = " ".join(getattr(block, "text", "") for block in result.content).strip()
        structured = result.structured_content
        problem = text[:300] if result.is_error else (check(structured) if check is not None else None)
        if problem is not None:
            # A route this Mix version lacks is the version's choice (the operations check lists it), not a fault.
            outcome = "not offered" if result.is_error and "does not offer" in text else "failed"
            self.tryout.trials[tool] = ToolTrial(tool, outcome, problem)
            raise _Failed(problem)
        self.tryout.trials.setdefault(tool, ToolTrial(tool, "ok"))
        return structured


def _status_is(*expected: str) -> Callable[[Any], str | None]:
    def check(structured: Any) -> str | None:
        status = structured.get("status") if isinstance(structured, dict) else None
        return None if status in expected else f"run status {status!r}, expected {' or '.join(expected)}"

    return check


async def try_published_tools(settings: Settings) -> Tryout:
    """List the tools a server on ``settings`` publishes (every tool: selection flags set aside) and try them."""
    from mix_mcp.serving.server import build_server

    everything = dataclasses.replace(
        settings, read_only=False, tools=None, exclude_tools=None, confirm_destructive=False
    )
    tryout = Tryout()
    async with Client(build_server(everything)) as client:
        listed = await client.list_tools()
        tryout.published = [tool.name for tool in listed.tools]
        schemas = {tool.name: dict(tool.input_schema) for tool in listed.tools}
        session = _Session(client, tryout, schemas)
        steps: list[Callable[[_Session, dict[str, Any]], Awaitable[None]]] = [
            _sessions,
            _run,
            _transcript,
            _permission,
            _cancel,
            _question,
            _files,
        ]
        scratch: dict[str, Any] = {}
        try:
            for step in steps:
                try:
                    await step(session, scratch)
                except _Failed:
                    continue
        finally:
            await _clean_up(session, scratch)
    return tryout


async def _sessions(s: _Session, scratch: dict[str, Any]) -> None:
    if s.published("list_sessions"):
        await s.call("list_sessions", {})
    if not s.published("create_session", "title"):
        return
    try:
        created = await s.call("create_session", {"title": SCRATCH_TITLE})
    except _Failed as refused:
        # Mix from Feb 2026 requires a browser mode and older Mix refuses one: offer it only when asked to.
        choices = _choices(s.schemas["create_session"], "browser_mode")
        if "browser_mode" not in str(refused) or not choices:
            raise
        del s.tryout.trials["create_session"]
        created = await s.call("create_session", {"title": SCRATCH_TITLE, "browser_mode": choices[0]})
    scratch["id"] = created["id"]
    if s.published("get_session", "session_id"):
        await s.call(
            "get_session",
            {"session_id": scratch["id"]},
            lambda got: None if got.get("title") == SCRATCH_TITLE else "another session's data came back",
        )
    if s.published("update_session_callbacks", "session_id", "callbacks"):
        await s.call("update_session_callbacks", {"session_id": scratch["id"], "callbacks": []})


def _choices(schema: dict[str, Any], name: str) -> list[Any]:
    """The enum of argument ``name`` (directly, or in a nullable ``anyOf``), or ``[]``."""
    prop = schema.get("properties", {}).get(name, {})
    for candidate in [prop, *prop.get("anyOf", [])]:
        if isinstance(candidate, dict) and isinstance(candidate.get("enum"), list):
            return [value for value in candidate["enum"] if value is not None]
    return []


async def _run(s: _Session, scratch: dict[str, Any]) -> None:
    if "id" not in scratch or not s.published("send_message", "session_id", "text"):
        return
    arguments: dict[str, Any] = {"session_id": scratch["id"], "text": "mix-mcp doctor: say hello"}
    if s.published("send_message", "max_wait_seconds"):
        arguments["max_wait_seconds"] = RUN_WAIT_SECONDS
    await s.call("send_message", arguments, _status_is("completed"))
    if s.published("list_messages", "session_id"):
        await s.call(
            "list_messages",
            {"session_id": scratch["id"]},
            lambda got: None if "mix-mcp doctor: say hello" in str(got) else "the message sent is not listed",
        )


async def _transcript(s: _Session, scratch: dict[str, Any]) -> None:
    if "id" not in scratch or not s.published("export_session", "session_id"):
        return
    exported = await s.call("export_session", {"session_id": scratch["id"]})
    messages = exported.get("messages") or []
    if not messages:
        return
    if s.published("fork_session", "session_id", "message_index"):
        try:
            forked = await s.call("fork_session", {"session_id": scratch["id"], "message_index": 0})
            scratch["fork"] = forked.get("id")
        except _Failed:
            pass  # recorded (failed, or not offered by this Mix version); rewind is tried all the same
    if s.published("rewind_session", "session_id", "message_id"):
        await s.call("rewind_session", {"session_id": scratch["id"], "message_id": messages[0]["id"]})


async def _permission(s: _Session, scratch: dict[str, Any]) -> None:
    """A run that asks permission: denied (nothing runs, not even a pretend command), then followed."""
    if "id" not in scratch or not s.published("send_message", "session_id", "text"):
        return
    if not s.published("answer_permission", "permission_id", "grant"):
        return
    arguments: dict[str, Any] = {"session_id": scratch["id"], "text": "run: echo mix-mcp doctor"}
    if s.published("send_message", "max_wait_seconds"):
        arguments["max_wait_seconds"] = RUN_WAIT_SECONDS
    asked = await s.call("send_message", arguments, _status_is("permission_pending"))
    pending = next(p for p in asked["permissions"] if p["answer"] == "pending")
    await s.call("answer_permission", {"permission_id": pending["id"], "grant": False})
    after = asked.get("last_event_id")
    if s.published("follow_run", "session_id", "after_event_id"):
        await s.call("follow_run", {"session_id": scratch["id"], "after_event_id": after}, _status_is("completed"))


async def _cancel(s: _Session, scratch: dict[str, Any]) -> None:
    if "id" in scratch and s.published("cancel_run", "session_id"):
        await s.call("cancel_run", {"session_id": scratch["id"]})


async def _question(s: _Session, scratch: dict[str, Any]) -> None:
    """A run whose agent asks a question (``ask:``), answered with answer_notification, then followed.

    The doctor's client cannot be asked (no elicitation), so the run comes back ``question_pending``. On a
    Mix without questions the message is an ordinary one, and answer_notification meets the missing route.
    """
    if "id" not in scratch or not s.published("send_message", "session_id", "text"):
        return
    if not s.published("answer_notification", "notification_id", "value"):
        return
    arguments: dict[str, Any] = {"session_id": scratch["id"], "text": "ask: mix-mcp doctor? yes, no"}
    if s.published("send_message", "max_wait_seconds"):
        arguments["max_wait_seconds"] = RUN_WAIT_SECONDS
    asked = await s.call("send_message", arguments, _status_is("question_pending", "completed"))
    questions = [q for q in asked.get("notifications") or [] if q.get("answer") == "pending"]
    if not questions:
        probe = {"notification_id": "mix-mcp-doctor-probe", "value": "yes", "response_type": "choice"}
        try:
            await s.call("answer_notification", probe)
        except _Failed:
            trial = s.tryout.trials.get("answer_notification")
            if trial is not None and trial.outcome == "failed" and "not found" in trial.detail.lower():
                s.tryout.trials["answer_notification"] = ToolTrial("answer_notification", "ok")
        return
    question = questions[0]
    answer = {"notification_id": question["id"], "value": "yes", "response_type": "choice"}
    await s.call("answer_notification", answer)
    if s.published("follow_run", "session_id", "after_event_id"):
        follow = {"session_id": scratch["id"], "after_event_id": asked.get("last_event_id")}
        await s.call("follow_run", follow, _status_is("completed"))


#: The session-file tools: a Mix offers all four or none.
_FILE_TOOLS = ("upload_session_file", "list_session_files", "read_session_file", "delete_session_file")


async def _files(s: _Session, scratch: dict[str, Any]) -> None:
    """Write a small text file into the scratch session, list it, read it back and delete it."""
    if "id" not in scratch:
        return
    try:
        await _file_round_trip(s, scratch["id"])
    except _Failed:
        first = next((s.tryout.trials[name] for name in _FILE_TOOLS if name in s.tryout.trials), None)
        if first is not None and first.outcome == "not offered":
            for name in _FILE_TOOLS:
                if s.published(name):
                    s.tryout.trials.setdefault(name, ToolTrial(name, "not offered", first.detail))
        raise


async def _file_round_trip(s: _Session, session_id: str) -> None:
    name = "mix-mcp-doctor.txt"
    if s.published("upload_session_file", "session_id", "name", "content"):
        await s.call("upload_session_file", {"session_id": session_id, "name": name, "content": "doctor"})
    if s.published("list_session_files", "session_id"):
        await s.call("list_session_files", {"session_id": session_id})
    if s.published("read_session_file", "session_id", "name"):
        await s.call("read_session_file", {"session_id": session_id, "name": name})
    if s.published("delete_session_file", "session_id", "name"):
        await s.call("delete_session_file", {"session_id": session_id, "name": name})


async def _clean_up(s: _Session, scratch: dict[str, Any]) -> None:
    for key in ("fork", "id"):
        session_id = scratch.get(key)
        if not session_id:
            continue
        if not s.published("delete_session", "session_id"):
            s.tryout.leftovers.append(session_id)
            continue
        try:
            await s.call("delete_session", {"session_id": session_id})
        except _Failed:
            s.tryout.leftovers.append(session_id)
