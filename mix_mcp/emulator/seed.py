"""Demo sessions, so that a fresh emulator already looks like a Mix someone has been working in.

Every id and timestamp is fixed, so that tests, docs and examples can name them. The sessions cover
what the tools must handle: reasoning, tool calls with JSON inputs and results (one failing), a fork,
a subagent spawned by a ``Task`` call, callbacks, and an empty session.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from mix_mcp.emulator.files import seed_demo_files
from mix_mcp.emulator.store import NewMessage, SessionStore, format_timestamp

#: "Fix flaky pagination test": the main demo session (12 messages, 5 tool calls).
DEMO_SESSION_ID: Final = "3f1c9a52-7b2e-4d8a-9c61-0e5b7a2d4f10"
#: "Add rate limiting to the webhook receiver": the session with callbacks.
CALLBACKS_SESSION_ID: Final = "8a2d6e14-5c3b-4f97-b0a8-1d9e3c7f6b22"
#: "Migrate settings loader from YAML to TOML": spawns the subagent, holds the failing tool call.
MIGRATION_SESSION_ID: Final = "c7e45b90-2a1f-4e3d-8b6c-5f0a9d1e7c34"
#: The subagent session spawned by the migration session's ``Task`` call.
SUBAGENT_SESSION_ID: Final = "4d7b2f86-1c95-4e3a-b8d0-9a6e5c2f7b61"
#: A fork of the demo session after its first ten messages (indices 0..9), continued elsewhere.
FORKED_SESSION_ID: Final = "e5a81c3f-9d46-4b72-a0e9-2c6f8b3d1a58"
#: A main session without messages.
EMPTY_SESSION_ID: Final = "0b9f3d27-6e8c-4a15-9d42-7c3e1b5a8f46"
#: Id the runner gives the optional large session (``--large-session N``).
LARGE_SESSION_ID: Final = "9e6c4a13-8f27-4d5b-a1c9-3b7e0d2f5a73"

#: Every seeded session, oldest first (the order ``GET /api/sessions?includeSubagents=true`` returns).
SEED_SESSION_IDS: Final = (
    DEMO_SESSION_ID,
    CALLBACKS_SESSION_ID,
    MIGRATION_SESSION_ID,
    SUBAGENT_SESSION_ID,
    FORKED_SESSION_ID,
    EMPTY_SESSION_ID,
)
SEED_MAIN_SESSION_IDS: Final = (DEMO_SESSION_ID, CALLBACKS_SESSION_ID, MIGRATION_SESSION_ID, EMPTY_SESSION_ID)

#: The ``Task`` tool call in the migration session that spawned the subagent session.
SUBAGENT_TOOL_CALL_ID: Final = "toolu_5a0c3e7b91d24f68a3b1c9e2"
#: Messages the fork copied from the demo session (``messageIndex`` 9).
FORKED_AT_INDEX: Final = 9

MODEL: Final = "claude-sonnet-4-5"
_NAMESPACE: Final = uuid.UUID("6f2b8c4e-1d3a-4e5f-9b7c-0a1d2e3f4a5b")


def _message_id(session_id: str, index: int) -> str:
    return "msg_" + uuid.uuid5(_NAMESPACE, f"{session_id}/{index}").hex


def _tool_call_id(key: str) -> str:
    return "toolu_" + uuid.uuid5(_NAMESPACE, key).hex[:24]


def _cost(prompt_tokens: int, completion_tokens: int) -> float:
    return round(prompt_tokens * 3e-6 + completion_tokens * 15e-6, 6)


def _call(key: str, name: str, arguments: dict[str, Any], result: str, *, is_error: bool = False) -> dict[str, Any]:
    return {
        "id": key if key.startswith("toolu_") else _tool_call_id(key),
        "name": name,
        "input": json.dumps(arguments),
        "inputJson": arguments,
        "type": "function",
        "finished": True,
        "isError": is_error,
        "result": result,
    }


class _Transcript:
    """Builds a session's messages with deterministic ids and evenly spaced timestamps."""

    def __init__(self, session_id: str, start: str, *, step_seconds: int = 23) -> None:
        self.session_id = session_id
        self.clock = datetime.fromisoformat(start).replace(tzinfo=UTC)
        self.step = timedelta(seconds=step_seconds)
        self.messages: list[NewMessage] = []

    def _add(self, role: str, content: str, **extra: Any) -> None:
        self.clock += self.step
        stamp = format_timestamp(self.clock)
        message_id = _message_id(self.session_id, len(self.messages))
        self.messages.append(NewMessage(role=role, content=content, created_at=stamp, id=message_id, **extra))

    def user(self, content: str) -> None:
        self._add("user", content)

    def tool(self, content: str) -> None:
        self._add("tool", content)

    def assistant(
        self,
        content: str,
        *,
        reasoning: str,
        duration_ms: int,
        tokens: tuple[int, int],
        calls: list[dict[str, Any]] | None = None,
    ) -> None:
        self._add(
            "assistant",
            content,
            reasoning=reasoning,
            reasoning_duration=duration_ms,
            model=MODEL,
            finish_reason="tool_use" if calls else "end_turn",
            tool_calls=calls,
            prompt_tokens=tokens[0],
            completion_tokens=tokens[1],
            cost=_cost(*tokens),
        )
        if calls:
            self.tool("\n\n".join(str(call["result"]) for call in calls))


def _demo_transcript() -> _Transcript:
    t = _Transcript(DEMO_SESSION_ID, "2025-03-10T09:12:03")
    t.user(
        "The test `test_list_orders_paginates` in tests/api/test_orders.py fails about one run in five on CI. "
        "Can you find out why and fix it?"
    )
    t.assistant(
        "I'll run the test repeatedly to reproduce the failure first.",
        reasoning="An intermittent pagination failure usually means the sort order is not total. Reproduce first.",
        duration_ms=1840,
        tokens=(9_812, 164),
        calls=[
            _call(
                "demo-bash-1",
                "Bash",
                {
                    "command": "pytest tests/api/test_orders.py::test_list_orders_paginates -q --count 20",
                    "description": "Run the flaky test 20 times",
                },
                "FAILED tests/api/test_orders.py::test_list_orders_paginates[7-20] - AssertionError: "
                "order ord_0193 appears on page 1 and page 2\n1 failed, 19 passed in 4.12s",
            )
        ],
    )
    t.assistant(
        "It reproduces: an order shows up on two pages. Let me look at the query behind the endpoint.",
        reasoning="Duplicates across pages point at ties in ORDER BY. Find the list query.",
        duration_ms=2210,
        tokens=(10_604, 201),
        calls=[
            _call(
                "demo-grep-1",
                "Grep",
                {"pattern": "def list_orders", "path": "app/", "output_mode": "content"},
                "app/api/orders.py:42:def list_orders(db: Session, page: int, per_page: int) -> list[Order]:",
            ),
            _call(
                "demo-read-1",
                "ReadText",
                {"file_path": "app/api/orders.py", "offset": 40, "limit": 12},
                "40  \n41  \n42  def list_orders(db: Session, page: int, per_page: int) -> list[Order]:\n"
                "43      return (\n44          db.query(Order)\n45          .order_by(Order.created_at)\n"
                "46          .offset((page - 1) * per_page)\n47          .limit(per_page)\n"
                "48          .all()\n49      )",
            ),
        ],
    )
    t.assistant(
        "The query sorts by `created_at` only. The test fixture creates orders in one transaction, so many share "
        "a timestamp and the database may return ties in any order between the two page queries. I'll add the "
        "primary key as a tie-breaker.",
        reasoning="created_at is not unique; OFFSET paging over a non-total order is nondeterministic. "
        "Add Order.id as the secondary key.",
        duration_ms=3375,
        tokens=(11_903, 388),
        calls=[
            _call(
                "demo-edit-1",
                "Edit",
                {
                    "file_path": "app/api/orders.py",
                    "old_string": ".order_by(Order.created_at)",
                    "new_string": ".order_by(Order.created_at, Order.id)",
                },
                "Edited app/api/orders.py: 1 replacement",
            )
        ],
    )
    t.assistant(
        "Now the same 20 repetitions again.",
        reasoning="Verify with the same repeat count that showed the failure.",
        duration_ms=910,
        tokens=(12_377, 97),
        calls=[
            _call(
                "demo-bash-2",
                "Bash",
                {
                    "command": "pytest tests/api/test_orders.py::test_list_orders_paginates -q --count 20",
                    "description": "Re-run the flaky test 20 times",
                },
                "20 passed in 3.87s",
            )
        ],
    )
    t.assistant(
        "Fixed. `list_orders` sorted by `created_at` alone, and orders created together share that value, so "
        "OFFSET paging could return a tied order on two pages. Sorting by `(created_at, id)` makes the order "
        "total; 20 repeated runs now pass.",
        reasoning="Summarise cause and fix.",
        duration_ms=640,
        tokens=(12_590, 142),
    )
    t.user("Thanks. Would cursor-based pagination avoid this class of bug entirely?")
    t.assistant(
        "Mostly, yes. Keyset pagination (`WHERE (created_at, id) > (:last_created_at, :last_id)`) needs a total "
        "order by construction, is stable when rows are inserted between requests, and stays fast on deep pages. "
        "The cost is that clients can no longer jump to page N.",
        reasoning="Compare offset and keyset paging: correctness under concurrent inserts, performance, API shape.",
        duration_ms=2480,
        tokens=(12_911, 233),
    )
    return t


def _forked_transcript(demo: list[NewMessage]) -> list[NewMessage]:
    copied = [
        dataclasses.replace(message, id=_message_id(FORKED_SESSION_ID, index))
        for index, message in enumerate(demo[: FORKED_AT_INDEX + 1])
    ]
    t = _Transcript(FORKED_SESSION_ID, "2025-03-13T08:45:00")
    t.messages = copied
    t.user("Instead of the tie-breaker, switch `list_orders` to cursor-based pagination.")
    t.assistant(
        "I'll change the signature to take an opaque cursor encoding `(created_at, id)` of the last row.",
        reasoning="Keyset pagination: decode cursor, filter with a row-value comparison, limit per_page + 1.",
        duration_ms=4120,
        tokens=(13_402, 512),
        calls=[
            _call(
                "fork-edit-1",
                "Edit",
                {
                    "file_path": "app/api/orders.py",
                    "old_string": "def list_orders(db: Session, page: int, per_page: int) -> list[Order]:",
                    "new_string": "def list_orders(db: Session, cursor: str | None, per_page: int) -> OrderPage:",
                },
                "Edited app/api/orders.py: 1 replacement",
            )
        ],
    )
    return t.messages


def _callbacks_transcript() -> _Transcript:
    t = _Transcript(CALLBACKS_SESSION_ID, "2025-03-11T14:30:00")
    t.user("Add rate limiting to the webhook receiver: at most 30 requests per minute per source IP.")
    t.assistant(
        "Let me see how the webhook route is wired.",
        reasoning="Find the webhook handler and check whether a limiter dependency already exists.",
        duration_ms=1520,
        tokens=(8_240, 131),
        calls=[
            _call(
                "cb-read-1",
                "ReadText",
                {"file_path": "app/webhooks.py"},
                "1  from fastapi import APIRouter, Request\n2  \n3  router = APIRouter()\n4  \n"
                '5  @router.post("/hooks")\n'
                "6  async def receive(request: Request) -> dict[str, str]:\n7      ...",
            )
        ],
    )
    t.assistant(
        "I'll add a small sliding-window limiter keyed by client IP and return 429 with `Retry-After` when it trips.",
        reasoning="No limiter exists. A deque of timestamps per IP is enough for one process.",
        duration_ms=2960,
        tokens=(9_115, 604),
        calls=[
            _call(
                "cb-edit-1",
                "Edit",
                {
                    "file_path": "app/webhooks.py",
                    "old_string": "async def receive(request: Request) -> dict[str, str]:",
                    "new_string": "async def receive(request: Request, _: None = Depends(limit_per_ip(30, 60))) "
                    "-> dict[str, str]:",
                },
                "Edited app/webhooks.py: 1 replacement",
            ),
            _call(
                "cb-bash-1",
                "Bash",
                {"command": "pytest tests/test_webhooks.py -q", "description": "Run the webhook tests"},
                "7 passed in 0.84s",
            ),
        ],
    )
    t.assistant(
        "Done: `/hooks` now allows 30 requests per minute per IP and answers 429 with `Retry-After` beyond that.",
        reasoning="Report the change and the passing tests.",
        duration_ms=580,
        tokens=(9_804, 118),
    )
    return t


SEED_CALLBACKS: Final[tuple[dict[str, Any], ...]] = (
    {
        "toolName": "Edit",
        "type": "bash_script",
        "name": "Lint after edits",
        "bashCommand": "ruff check app/ --output-format concise",
        "bashTimeout": 60_000,
        "excludeFromContext": False,
    },
    {
        "toolName": "Bash",
        "type": "send_message",
        "name": "Remind about the full suite",
        "messageContent": "Before you finish, run the full test suite and report the result.",
    },
)


def _migration_transcript() -> _Transcript:
    t = _Transcript(MIGRATION_SESSION_ID, "2025-03-12T10:05:00")
    t.user(
        "Move our settings loader from YAML to TOML (Python 3.11 ships tomllib). Keep reading the old YAML file "
        "for one release, with a deprecation warning."
    )
    t.assistant(
        "First I'll have a sub-agent inventory every place that reads YAML configuration.",
        reasoning="The repo is large; delegate the search so the main context stays small.",
        duration_ms=2050,
        tokens=(10_220, 247),
        calls=[
            _call(
                SUBAGENT_TOOL_CALL_ID,
                "Task",
                {
                    "description": "Find YAML config readers",
                    "prompt": "List every module that loads YAML configuration, with file and line.",
                    "subagent_type": "general-purpose",
                },
                "Three readers: app/settings.py:18 (yaml.safe_load), scripts/seed_db.py:9 (yaml.safe_load), "
                "app/workers/config.py:31 (yaml.load with FullLoader).",
            )
        ],
    )
    t.assistant(
        "I'll try the existing conversion script on the current settings file.",
        reasoning="scripts/convert_settings.py exists from an earlier attempt; try it before writing anything.",
        duration_ms=1330,
        tokens=(11_048, 150),
        calls=[
            _call(
                "mig-bash-1",
                "Bash",
                {"command": "python scripts/convert_settings.py config/settings.yaml", "description": "Convert"},
                'Traceback (most recent call last):\n  File "scripts/convert_settings.py", line 3, in <module>\n'
                "    import tomli_w\nModuleNotFoundError: No module named 'tomli_w'",
                is_error=True,
            )
        ],
    )
    t.assistant(
        "The script needs `tomli_w`, which is not a dependency. The settings are flat, so I'll write the TOML by hand.",
        reasoning="Avoid a new dependency for a one-off conversion of ~20 keys.",
        duration_ms=2790,
        tokens=(11_630, 455),
        calls=[
            _call(
                "mig-write-1",
                "Write",
                {
                    "file_path": "config/settings.toml",
                    "content": '[database]\nurl = "postgresql://localhost/app"\npool_size = 10\n',
                },
                "Wrote 3 lines to config/settings.toml",
            )
        ],
    )
    t.assistant(
        "`config/settings.toml` is in place. Next step: switch `app/settings.py` to tomllib with a YAML fallback.",
        reasoning="Stop here and report progress; the loader change is the next step.",
        duration_ms=720,
        tokens=(12_002, 96),
    )
    return t


def _subagent_transcript() -> _Transcript:
    t = _Transcript(SUBAGENT_SESSION_ID, "2025-03-12T10:07:41", step_seconds=7)
    t.user("List every module that loads YAML configuration, with file and line.")
    t.assistant(
        "Searching for YAML loaders.",
        reasoning="Grep for yaml.load and yaml.safe_load across Python files.",
        duration_ms=880,
        tokens=(4_310, 88),
        calls=[
            _call(
                "sub-grep-1",
                "Grep",
                {"pattern": r"yaml\.(safe_)?load", "path": ".", "glob": "*.py", "output_mode": "content"},
                "app/settings.py:18:    return yaml.safe_load(fh)\nscripts/seed_db.py:9:data = yaml.safe_load(f)\n"
                "app/workers/config.py:31:    cfg = yaml.load(fh, Loader=yaml.FullLoader)",
            )
        ],
    )
    t.assistant(
        "Three readers: app/settings.py:18 (yaml.safe_load), scripts/seed_db.py:9 (yaml.safe_load), "
        "app/workers/config.py:31 (yaml.load with FullLoader).",
        reasoning="Report the three hits.",
        duration_ms=410,
        tokens=(4_702, 71),
    )
    return t


def seed_demo_data(store: SessionStore, *, forked: bool = True) -> bool:
    """Insert the demo sessions into an empty store; a store that holds anything is left alone.

    ``forked=False`` leaves out the forked session, for a Mix version that has no forks.
    """
    if not store.is_empty():
        return False
    demo = _demo_transcript()
    store.create_session(
        session_id=DEMO_SESSION_ID, title="Fix flaky pagination test", created_at=_stamp("2025-03-10T09:12:03")
    )
    store.add_messages(DEMO_SESSION_ID, demo.messages)
    seed_demo_files(store, DEMO_SESSION_ID)

    store.create_session(
        session_id=CALLBACKS_SESSION_ID,
        title="Add rate limiting to the webhook receiver",
        callbacks=list(SEED_CALLBACKS),
        created_at=_stamp("2025-03-11T14:30:00"),
    )
    store.add_messages(CALLBACKS_SESSION_ID, _callbacks_transcript().messages)

    store.create_session(
        session_id=MIGRATION_SESSION_ID,
        title="Migrate settings loader from YAML to TOML",
        prompt_mode="append",
        custom_system_prompt="Prefer the standard library over new dependencies.",
        created_at=_stamp("2025-03-12T10:05:00"),
    )
    store.add_messages(MIGRATION_SESSION_ID, _migration_transcript().messages)

    store.create_session(
        session_id=SUBAGENT_SESSION_ID,
        title="Find YAML config readers",
        session_type="subagent",
        parent_session_id=MIGRATION_SESSION_ID,
        parent_tool_call_id=SUBAGENT_TOOL_CALL_ID,
        subagent_type="general-purpose",
        created_at=_stamp("2025-03-12T10:07:41"),
    )
    store.add_messages(SUBAGENT_SESSION_ID, _subagent_transcript().messages)

    if forked:
        store.create_session(
            session_id=FORKED_SESSION_ID,
            title="Pagination fix: try cursor-based paging",
            session_type="forked",
            parent_session_id=DEMO_SESSION_ID,
            created_at=_stamp("2025-03-13T08:45:00"),
        )
        store.add_messages(FORKED_SESSION_ID, _forked_transcript(demo.messages))

    store.create_session(
        session_id=EMPTY_SESSION_ID, title="Scratchpad: release checklist", created_at=_stamp("2025-03-14T16:20:00")
    )
    return True


def _stamp(naive_utc: str) -> str:
    return format_timestamp(datetime.fromisoformat(naive_utc).replace(tzinfo=UTC))


_FILLER: Final = (
    "Reviewed the diff hunk by hunk; the retry loop now backs off exponentially, the cache key includes the "
    "tenant id, and the migration is reversible. Remaining nits: rename tmp to staged_rows, and log the batch "
    "size once per run instead of per row. "
)


def _filler(size: int) -> str:
    return (_FILLER * (size // len(_FILLER) + 1))[:size]


def seed_large_session(
    store: SessionStore,
    *,
    messages: int,
    content_bytes: int = 10_000,
    session_id: str | None = None,
    title: str = "Large session: long refactoring marathon",
) -> str:
    """Insert one big session (``messages`` messages of ``content_bytes`` ASCII each) and return its id.

    The defaults make 2,000 messages a ~20 MB transcript, the size the export path must stay fast for.
    Every other message is an assistant turn with one ``Bash`` tool call, so counts are non-trivial.
    """
    if messages < 0 or content_bytes < 0:
        raise ValueError("messages and content_bytes must be >= 0")
    created = store.create_session(session_id=session_id, title=title, created_at=_stamp("2025-03-15T12:00:00"))
    large_id = str(created["id"])
    start = datetime(2025, 3, 15, 12, 0, tzinfo=UTC)
    body = _filler(content_bytes)

    def generate() -> Iterator[NewMessage]:
        for index in range(messages):
            stamp = format_timestamp(start + timedelta(seconds=index + 1))
            prefix = f"[{index}] "
            content = prefix + body[len(prefix) :] if content_bytes > len(prefix) else body
            if index % 2 == 0:
                yield NewMessage(role="user", content=content, created_at=stamp)
                continue
            call = {
                "id": f"toolu_large_{index:06d}",
                "name": "Bash",
                "input": json.dumps({"command": f"pytest -q tests/test_part_{index}.py"}),
                "inputJson": {"command": f"pytest -q tests/test_part_{index}.py"},
                "type": "function",
                "finished": True,
                "isError": False,
                "result": "12 passed",
            }
            yield NewMessage(
                role="assistant",
                content=content,
                created_at=stamp,
                model=MODEL,
                finish_reason="tool_use",
                reasoning_duration=250,
                tool_calls=[call],
                prompt_tokens=1_000,
                completion_tokens=100,
                cost=_cost(1_000, 100),
            )

    store.add_messages(large_id, generate())
    return large_id
