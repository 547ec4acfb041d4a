"""Session and message state of the emulator, kept in SQLite.

SQLite (rather than dicts) lets one ``--db`` file survive restarts and keeps big transcripts out of
Python objects until an export asks for them. Every count Mix reports (messages, tool calls, tokens,
cost) is derived from the messages, so fork and rewind cannot leave a session's numbers stale.

All methods are safe to call from several threads: one connection, one lock.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from os import PathLike
from pathlib import Path
from typing import Any, Final

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    title TEXT NOT NULL,
    session_type TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    prompt_mode TEXT NOT NULL DEFAULT 'default',
    custom_system_prompt TEXT,
    callbacks TEXT,
    parent_session_id TEXT,
    parent_tool_call_id TEXT,
    subagent_type TEXT
);
CREATE INDEX IF NOT EXISTS sessions_by_creation ON sessions (created_at, seq);

-- Small columns first: SQLite then reaches them without walking the overflow pages of big contents.
CREATE TABLE IF NOT EXISTS messages (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    role TEXT NOT NULL,
    tool_call_count INTEGER NOT NULL DEFAULT 0,
    prompt_tokens INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    cost REAL NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    reasoning_duration INTEGER,
    model TEXT,
    finish_reason TEXT,
    content TEXT NOT NULL,
    reasoning TEXT,
    tool_calls TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS messages_by_position ON messages (session_id, position);
-- Covers the per-session statistics and the first-user-message lookup, so listing never reads contents.
CREATE INDEX IF NOT EXISTS messages_stats ON messages
    (session_id, role, position, tool_call_count, prompt_tokens, completion_tokens, cost);

-- A session's storage directory (Feb 2026 Mix): one row per file, deleted with its session.
CREATE TABLE IF NOT EXISTS files (
    session_id TEXT NOT NULL,
    name TEXT NOT NULL,
    size INTEGER NOT NULL,
    modified INTEGER NOT NULL,
    content_type TEXT,
    content BLOB NOT NULL,
    PRIMARY KEY (session_id, name)
);
"""

# The queries are spelled out in full (no string assembly) so that nothing but parameters varies.

# One pass over the statistics index for the whole list: linear in the number of messages.
_LIST_SQL: Final = """
SELECT s.id, s.title, s.session_type, s.created_at, s.callbacks, s.parent_session_id, s.parent_tool_call_id,
       s.subagent_type,
       COALESCE(a.users, 0), COALESCE(a.assistants, 0), COALESCE(a.tools, 0), COALESCE(a.prompt_tokens, 0),
       COALESCE(a.completion_tokens, 0), COALESCE(a.cost, 0.0),
       (SELECT m.content FROM messages AS m WHERE m.session_id = s.id AND m.role = 'user'
        ORDER BY m.position LIMIT 1)
FROM sessions AS s
LEFT JOIN (
    SELECT session_id, SUM(role = 'user') AS users, SUM(role = 'assistant') AS assistants,
           SUM(tool_call_count) AS tools, SUM(prompt_tokens) AS prompt_tokens,
           SUM(completion_tokens) AS completion_tokens, SUM(cost) AS cost
    FROM messages GROUP BY session_id
) AS a ON a.session_id = s.id
WHERE (? OR s.session_type != 'subagent')
ORDER BY s.created_at, s.seq
"""

# The same row for one session, aggregating only that session's messages.
_GET_SQL: Final = """
SELECT s.id, s.title, s.session_type, s.created_at, s.callbacks, s.parent_session_id, s.parent_tool_call_id,
       s.subagent_type,
       COALESCE(a.users, 0), COALESCE(a.assistants, 0), COALESCE(a.tools, 0), COALESCE(a.prompt_tokens, 0),
       COALESCE(a.completion_tokens, 0), COALESCE(a.cost, 0.0),
       (SELECT m.content FROM messages AS m WHERE m.session_id = s.id AND m.role = 'user'
        ORDER BY m.position LIMIT 1)
FROM sessions AS s
LEFT JOIN (
    SELECT session_id, SUM(role = 'user') AS users, SUM(role = 'assistant') AS assistants,
           SUM(tool_call_count) AS tools, SUM(prompt_tokens) AS prompt_tokens,
           SUM(completion_tokens) AS completion_tokens, SUM(cost) AS cost
    FROM messages WHERE session_id = ? GROUP BY session_id
) AS a ON a.session_id = s.id
WHERE s.id = ?
"""

_INSERT_MESSAGE_SQL: Final = """
INSERT INTO messages (id, session_id, position, role, tool_call_count, prompt_tokens, completion_tokens, cost,
                      created_at, updated_at, reasoning_duration, model, finish_reason, content, reasoning, tool_calls)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""

# Positions are contiguous from 0 (only rewind deletes, and only a tail), so position = list index.
_FORK_MESSAGES_SQL: Final = """
INSERT INTO messages (id, session_id, position, role, tool_call_count, prompt_tokens, completion_tokens, cost,
                      created_at, updated_at, reasoning_duration, model, finish_reason, content, reasoning, tool_calls)
SELECT 'msg_' || lower(hex(randomblob(16))), ?, position, role, tool_call_count, prompt_tokens, completion_tokens,
       cost, created_at, updated_at, reasoning_duration, model, finish_reason, content, reasoning, tool_calls
FROM messages WHERE session_id = ? AND position <= ? ORDER BY position
"""

_EXPORT_SQL: Final = """
SELECT id, role, content, created_at, updated_at, reasoning, reasoning_duration, model, finish_reason, tool_calls,
       tool_call_count, prompt_tokens, completion_tokens, cost
FROM messages WHERE session_id = ? ORDER BY position
"""

#: Cost is a sum of floats; rounding keeps 0.1 + 0.2 from reaching clients as 0.30000000000000004.
_COST_DIGITS: Final = 6


class StoreError(Exception):
    """Base of the lookup failures the HTTP layer turns into Mix error envelopes."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SessionNotFoundError(StoreError):
    def __init__(self, session_id: str) -> None:
        super().__init__(f"Session not found: {session_id}")
        self.session_id = session_id


class MessageNotFoundError(StoreError):
    def __init__(self, message_id: str) -> None:
        super().__init__(f"Message not found in session: {message_id}")
        self.message_id = message_id


class FileNotFoundInSessionError(StoreError):
    def __init__(self, name: str) -> None:
        super().__init__(f"File not found: {name}")
        self.name = name


@dataclass(frozen=True, slots=True)
class StoredFile:
    """One file of a session's storage directory."""

    name: str
    size: int
    modified: int
    content_type: str | None
    content: bytes = b""


class MessageIndexError(StoreError):
    """A fork index past the end of the transcript; Mix answers 400, not 404."""

    def __init__(self, index: int, count: int) -> None:
        if count == 0:
            text = f"messageIndex {index} is out of range: the session has no messages"
        else:
            text = f"messageIndex {index} is out of range: the session has {count} messages (valid: 0 to {count - 1})"
        super().__init__(text)
        self.index = index
        self.count = count


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with a ``Z`` and fixed millisecond width, so that text order is time order."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_timestamp() -> str:
    return format_timestamp(datetime.now(UTC))


def new_message_id() -> str:
    return "msg_" + uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message to append; ``tool_calls`` are in wire form (``id``, ``name``, ``input``, ``inputJson``, ...)."""

    role: str
    content: str
    created_at: str
    updated_at: str | None = None
    id: str | None = None
    reasoning: str | None = None
    reasoning_duration: int | None = None
    model: str | None = None
    finish_reason: str | None = None
    tool_calls: Sequence[dict[str, Any]] | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0


def _check_parent(path: str | PathLike[str]) -> None:
    """SQLite says only 'unable to open database file'; name the file and the directory that is missing."""
    text = os.fspath(path)
    if text == ":memory:" or text.startswith("file:"):
        return
    parent = Path(text).expanduser().resolve().parent
    if not parent.is_dir():
        raise sqlite3.OperationalError(
            f"cannot create the database {text}: the directory {parent} does not exist (create it, or choose "
            "another --db path)"
        )


class SessionStore:
    """The emulator's sessions and messages; returns plain wire-shaped dicts (camelCase, absent fields omitted)."""

    def __init__(self, path: str | PathLike[str] = ":memory:") -> None:
        _check_parent(path)
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            if str(path) != ":memory:":
                self._conn.execute("PRAGMA journal_mode = WAL")
                self._conn.execute("PRAGMA synchronous = NORMAL")
            self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """Hold the lock for a whole read-check-write sequence and commit it atomically."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    # ----------------------------------------------------------------------------------------- reads

    def is_empty(self) -> bool:
        with self._lock:
            return self._conn.execute("SELECT 1 FROM sessions LIMIT 1").fetchone() is None

    def has_session(self, session_id: str) -> bool:
        with self._lock:
            return self._conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is not None

    def message_count(self, session_id: str) -> int:
        with self._lock:
            row = self._conn.execute("SELECT COUNT(*) FROM messages WHERE session_id = ?", (session_id,)).fetchone()
        return int(row[0])

    def message_ids(self, session_id: str) -> list[str]:
        """Message ids in transcript order (what rewind takes; the list index is what fork takes)."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT id FROM messages WHERE session_id = ? ORDER BY position", (session_id,)
            ).fetchall()
        return [str(row[0]) for row in rows]

    def list_sessions(self, *, include_subagents: bool = False) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._conn.execute(_LIST_SQL, (include_subagents,)).fetchall()
        return [_session_dict(row) for row in rows]

    def get_session(self, session_id: str) -> dict[str, Any]:
        with self._lock:
            return self._get(session_id)

    def _get(self, session_id: str) -> dict[str, Any]:
        row = self._conn.execute(_GET_SQL, (session_id, session_id)).fetchone()
        if row is None:
            raise SessionNotFoundError(session_id)
        return _session_dict(row)

    def export_session(self, session_id: str) -> bytes:
        """The ``ExportSession`` document as UTF-8 JSON: one query, one ``json.dumps``, no models in between."""
        with self._lock:
            session = self._conn.execute(
                "SELECT id, title, created_at, updated_at FROM sessions WHERE id = ?", (session_id,)
            ).fetchone()
            if session is None:
                raise SessionNotFoundError(session_id)
            rows = self._conn.execute(_EXPORT_SQL, (session_id,)).fetchall()
        users = assistants = tools = prompt_tokens = completion_tokens = 0
        cost = 0.0
        messages: list[dict[str, Any]] = []
        append = messages.append
        for (
            message_id,
            role,
            content,
            created_at,
            updated_at,
            reasoning,
            reasoning_duration,
            model,
            finish_reason,
            tool_calls,
            tool_call_count,
            row_prompt_tokens,
            row_completion_tokens,
            row_cost,
        ) in rows:
            message: dict[str, Any] = {
                "id": message_id,
                "role": role,
                "content": content,
                "createdAt": created_at,
                "updatedAt": updated_at,
            }
            if reasoning is not None:
                message["reasoning"] = reasoning
            if reasoning_duration is not None:
                message["reasoningDuration"] = reasoning_duration
            if model is not None:
                message["model"] = model
            if finish_reason is not None:
                message["finishReason"] = finish_reason
            if tool_calls is not None:
                message["toolCalls"] = json.loads(tool_calls)
            append(message)
            if role == "user":
                users += 1
            elif role == "assistant":
                assistants += 1
            tools += tool_call_count
            prompt_tokens += row_prompt_tokens
            completion_tokens += row_completion_tokens
            cost += row_cost
        document = {
            "id": session[0],
            "title": session[1],
            "createdAt": session[2],
            "updatedAt": session[3],
            "userMessageCount": users,
            "assistantMessageCount": assistants,
            "toolCallCount": tools,
            "promptTokens": prompt_tokens,
            "completionTokens": completion_tokens,
            "cost": round(cost, _COST_DIGITS),
            "messages": messages,
        }
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    # ---------------------------------------------------------------------------------------- writes

    def create_session(
        self,
        *,
        title: str,
        session_type: str = "main",
        prompt_mode: str = "default",
        custom_system_prompt: str | None = None,
        callbacks: Sequence[dict[str, Any]] | None = None,
        parent_session_id: str | None = None,
        parent_tool_call_id: str | None = None,
        subagent_type: str | None = None,
        session_id: str | None = None,
        created_at: str | None = None,
    ) -> dict[str, Any]:
        """Insert a session; ``session_id`` and ``created_at`` are for deterministic seeds, else generated."""
        session_id = session_id or str(uuid.uuid4())
        created_at = created_at or now_timestamp()
        with self._transaction() as conn:
            self._insert_session(
                conn,
                session_id=session_id,
                title=title,
                session_type=session_type,
                created_at=created_at,
                prompt_mode=prompt_mode,
                custom_system_prompt=custom_system_prompt,
                callbacks=callbacks,
                parent_session_id=parent_session_id,
                parent_tool_call_id=parent_tool_call_id,
                subagent_type=subagent_type,
            )
            return self._get(session_id)

    @staticmethod
    def _insert_session(
        conn: sqlite3.Connection,
        *,
        session_id: str,
        title: str,
        session_type: str,
        created_at: str,
        prompt_mode: str = "default",
        custom_system_prompt: str | None = None,
        callbacks: Sequence[dict[str, Any]] | None = None,
        parent_session_id: str | None = None,
        parent_tool_call_id: str | None = None,
        subagent_type: str | None = None,
    ) -> None:
        conn.execute(
            "INSERT INTO sessions (id, seq, title, session_type, created_at, updated_at, prompt_mode, "
            "custom_system_prompt, callbacks, parent_session_id, parent_tool_call_id, subagent_type) "
            "VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM sessions), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                session_id,
                title,
                session_type,
                created_at,
                created_at,
                prompt_mode,
                custom_system_prompt,
                _callbacks_json(callbacks),
                parent_session_id,
                parent_tool_call_id,
                subagent_type,
            ),
        )

    def add_messages(self, session_id: str, messages: Iterable[NewMessage]) -> list[str]:
        """Append messages after the last one (one ``executemany``) and return their ids.

        Timestamps are the caller's: this is how seeds and benchmarks build history, not a live chat.
        """
        with self._transaction() as conn:
            if conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
                raise SessionNotFoundError(session_id)
            row = conn.execute(
                "SELECT COALESCE(MAX(position) + 1, 0) FROM messages WHERE session_id = ?", (session_id,)
            ).fetchone()
            start = int(row[0])
            ids: list[str] = []
            latest: list[str] = []

            def rows() -> Iterator[tuple[Any, ...]]:
                for offset, message in enumerate(messages):
                    message_id = message.id or new_message_id()
                    ids.append(message_id)
                    updated_at = message.updated_at or message.created_at
                    if not latest or updated_at > latest[0]:
                        latest[:] = [updated_at]
                    tool_calls = list(message.tool_calls) if message.tool_calls else None
                    yield (
                        message_id,
                        session_id,
                        start + offset,
                        message.role,
                        len(tool_calls) if tool_calls else 0,
                        message.prompt_tokens,
                        message.completion_tokens,
                        message.cost,
                        message.created_at,
                        updated_at,
                        message.reasoning_duration,
                        message.model,
                        message.finish_reason,
                        message.content,
                        message.reasoning,
                        json.dumps(tool_calls, separators=(",", ":")) if tool_calls else None,
                    )

            conn.executemany(_INSERT_MESSAGE_SQL, rows())
            if latest:
                # The session was last updated by its newest message (fixed for seeds, so exports are too).
                conn.execute(
                    "UPDATE sessions SET updated_at = MAX(updated_at, ?) WHERE id = ?", (latest[0], session_id)
                )
        return ids

    def delete_session(self, session_id: str) -> None:
        with self._transaction() as conn:
            if conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,)).rowcount == 0:
                raise SessionNotFoundError(session_id)
            conn.execute("DELETE FROM messages WHERE session_id = ?", (session_id,))
            conn.execute("DELETE FROM files WHERE session_id = ?", (session_id,))

    def set_callbacks(self, session_id: str, callbacks: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """Replace a session's callbacks; an empty list clears them."""
        with self._transaction() as conn:
            updated = conn.execute(
                "UPDATE sessions SET callbacks = ?, updated_at = ? WHERE id = ?",
                (_callbacks_json(callbacks), now_timestamp(), session_id),
            )
            if updated.rowcount == 0:
                raise SessionNotFoundError(session_id)
            return self._get(session_id)

    def fork_session(self, session_id: str, *, message_index: int, title: str) -> dict[str, Any]:
        """Copy messages ``0..message_index`` (new ids, same content) into a new forked session."""
        with self._transaction() as conn:
            if conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
                raise SessionNotFoundError(session_id)
            count = int(conn.execute("SELECT COUNT(*) FROM messages WHERE session_id = ?", (session_id,)).fetchone()[0])
            if message_index >= count:
                raise MessageIndexError(message_index, count)
            fork_id = str(uuid.uuid4())
            self._insert_session(
                conn,
                session_id=fork_id,
                title=title,
                session_type="forked",
                created_at=now_timestamp(),
                parent_session_id=session_id,
            )
            conn.execute(
                _FORK_MESSAGES_SQL,
                (fork_id, session_id, message_index),
            )
            return self._get(fork_id)

    def rewind_session(self, session_id: str, *, message_id: str, cleanup_media: bool = False) -> dict[str, Any]:
        """Delete every message after ``message_id``, keeping that message; with ``cleanup_media``, also the
        session's files modified after that message was written (Mix goes by the files' timestamps)."""
        with self._transaction() as conn:
            if conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
                raise SessionNotFoundError(session_id)
            row = conn.execute(
                "SELECT position FROM messages WHERE id = ? AND session_id = ?", (message_id, session_id)
            ).fetchone()
            if row is None:
                raise MessageNotFoundError(message_id)
            if cleanup_media:
                written = conn.execute("SELECT created_at FROM messages WHERE id = ?", (message_id,)).fetchone()[0]
                since = int(datetime.fromisoformat(str(written)).timestamp())
                conn.execute("DELETE FROM files WHERE session_id = ? AND modified > ?", (session_id, since))
            conn.execute("DELETE FROM messages WHERE session_id = ? AND position > ?", (session_id, row[0]))
            conn.execute("UPDATE sessions SET updated_at = ? WHERE id = ?", (now_timestamp(), session_id))
            return self._get(session_id)

    # ----------------------------------------------------------------------------------- session files

    def list_files(self, session_id: str) -> list[StoredFile]:
        """The session's files by name, without their contents."""
        with self._lock:
            if self._conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
                raise SessionNotFoundError(session_id)
            rows = self._conn.execute(
                "SELECT name, size, modified, content_type FROM files WHERE session_id = ? ORDER BY name", (session_id,)
            ).fetchall()
        return [StoredFile(str(r[0]), int(r[1]), int(r[2]), r[3]) for r in rows]

    def get_file(self, session_id: str, name: str) -> StoredFile:
        with self._lock:
            if self._conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
                raise SessionNotFoundError(session_id)
            row = self._conn.execute(
                "SELECT name, size, modified, content_type, content FROM files WHERE session_id = ? AND name = ?",
                (session_id, name),
            ).fetchone()
        if row is None:
            raise FileNotFoundInSessionError(name)
        return StoredFile(str(row[0]), int(row[1]), int(row[2]), row[3], bytes(row[4]))

    def put_file(
        self,
        session_id: str,
        name: str,
        content: bytes,
        *,
        content_type: str | None = None,
        modified: int | None = None,
    ) -> StoredFile:
        """Write a file, replacing one of the same name (as a write into a directory does)."""
        stamp = int(datetime.now(UTC).timestamp()) if modified is None else modified
        with self._transaction() as conn:
            if conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
                raise SessionNotFoundError(session_id)
            conn.execute(
                "INSERT OR REPLACE INTO files (session_id, name, size, modified, content_type, content) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (session_id, name, len(content), stamp, content_type, content),
            )
        return StoredFile(name, len(content), stamp, content_type)

    def delete_file(self, session_id: str, name: str) -> None:
        with self._transaction() as conn:
            if conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
                raise SessionNotFoundError(session_id)
            if conn.execute("DELETE FROM files WHERE session_id = ? AND name = ?", (session_id, name)).rowcount == 0:
                raise FileNotFoundInSessionError(name)


def _callbacks_json(callbacks: Sequence[dict[str, Any]] | None) -> str | None:
    return json.dumps(list(callbacks), separators=(",", ":")) if callbacks else None


def _session_dict(row: Sequence[Any]) -> dict[str, Any]:
    """A ``SessionData`` body from a list/get row; optional fields are omitted rather than null."""
    (
        session_id,
        title,
        session_type,
        created_at,
        callbacks,
        parent_session_id,
        parent_tool_call_id,
        subagent_type,
        users,
        assistants,
        tools,
        prompt_tokens,
        completion_tokens,
        cost,
        first_user_message,
    ) = row
    data: dict[str, Any] = {
        "id": session_id,
        "title": title,
        "sessionType": session_type,
        "userMessageCount": int(users),
        "assistantMessageCount": int(assistants),
        "toolCallCount": int(tools),
        "promptTokens": int(prompt_tokens),
        "completionTokens": int(completion_tokens),
        "cost": round(float(cost), _COST_DIGITS),
        "createdAt": created_at,
    }
    if first_user_message is not None:
        data["firstUserMessage"] = first_user_message
    if callbacks is not None:
        data["callbacks"] = json.loads(callbacks)
    if parent_session_id is not None:
        data["parentSessionId"] = parent_session_id
    if parent_tool_call_id is not None:
        data["parentToolCallId"] = parent_tool_call_id
    if subagent_type is not None:
        data["subagentType"] = subagent_type
    return data
