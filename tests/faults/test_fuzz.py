"""Hostile input: property-based fuzzing of every tool from its own input schema, plus hand-written nasties.

The real tool path runs in process (the SDK's ``Client`` -> ``build_server`` -> ``MixClient`` over
loopback) against a fresh emulator behind the fault upstream in recording-proxy mode, so that every
request that left mix-mcp is checked as it came over the wire. For every call:

* no crash: a ``CallToolResult``, never a traceback or mix-mcp's internal-error message;
* input the tool's own schema rejects produces no request at all;
* a request stays inside ``/api/sessions``: the endpoint's method and path template, with the session
  id as exactly one segment that decodes back to the id given, and a body equal to the arguments' mapping;
* a success matches the tool's output schema.

Hypothesis runs derandomized (a fixed seed) with a bounded number of examples, so CI is stable and
the whole module stays around half a minute.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import anyio
import anyio.from_thread
import jsonschema
import mcp_types as types
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from mcp import Client

from mix_mcp.config import Settings
from mix_mcp.emulator import SEED_SESSION_IDS, BackgroundEmulator
from mix_mcp.emulator.agent import AgentSettings
from mix_mcp.mix import endpoints
from mix_mcp.mix.client import MixClient
from mix_mcp.mix.endpoints import PERMISSIONS_PREFIX, SESSIONS_PREFIX
from mix_mcp.serving.server import build_server, run_operation
from mix_mcp.tools.operations import OPERATIONS, Operation
from tests.faults.upstream import FaultUpstream, Forward, Recorded
from tests.support import text_of

#: Examples per tool; three strategies share them (schema-valid, one argument mutated, arbitrary objects).
EXAMPLES_PER_TOOL = 450

HOSTILE = [
    "a/b", "../etc/passwd", "..", ".", "...", "%2F", "%2e%2e", "%2e%2e%2f", "a%2Fb", "a?b=c", "a#frag", "?", "#",
    "%", "%00", "nul\x00byte", "tab\tx", "new\nline", "cr\rlf", "\x1b[31m", "\x7f", "\x85next", "ünïcødé",
    "日本語のセッション", "🙂🙃", "\u202egnp.exe", "\ufeffbom", "\u2028sep", " lead", "trail ", "/api/other",
    "//evil.example/x", "http://evil.example/", "\\..\\windows", "sess id", "+", "&x=1", "=", ";", "'", '"',
    "<script>alert(1)</script>", "{id}", "$(rm -rf /)", "a" * 256, "a" * 257, "x" * 1_000_000, "é" * 1_000_000,
]  # fmt: skip

VALID_BASE: dict[str, dict[str, Any]] = {
    "list_sessions": {},
    "create_session": {"title": "t"},
    "get_session": {"session_id": "s"},
    "delete_session": {"session_id": "s"},
    "update_session_callbacks": {"session_id": "s", "callbacks": []},
    "export_session": {"session_id": "s"},
    "fork_session": {"session_id": "s", "message_index": 0},
    "rewind_session": {"session_id": "s", "message_id": "m"},
    "send_message": {"session_id": "s", "text": "hi"},
    "answer_permission": {"permission_id": "p", "grant": False},
    "cancel_run": {"session_id": "s"},
    "list_messages": {"session_id": "s"},
    "list_session_files": {"session_id": "s"},
    "read_session_file": {"session_id": "s", "name": "f.png"},
    "upload_session_file": {"session_id": "s", "name": "f.txt", "content": "hi"},
    "delete_session_file": {"session_id": "s", "name": "f.txt"},
}
#: Requests one call of a tool that is several requests may make (reads, the stream, the send, a cancel).
RUN_ENDPOINTS = (
    endpoints.GET_SESSION,
    endpoints.STREAM_EVENTS,
    endpoints.SEND_MESSAGE,
    endpoints.CANCEL_SESSION_PROCESSING,
)
MAX_RUN_REQUESTS = 8


@dataclass
class Rig:
    """A live tool path: in-process MCP client in a portal thread, recording proxy, emulator."""

    upstream: FaultUpstream
    portal: anyio.from_thread.BlockingPortal
    client: Client

    def call(self, tool: str, arguments: dict[str, Any]) -> Any:
        return self.portal.call(self.client.call_tool, tool, arguments)


TALLY: Counter[str] = Counter()
#: What a crash would put into a result: a traceback, or run_operation's internal-error message.
CRASH_MARKERS = ("Traceback", "with an internal error in mix-mcp")


@pytest.fixture(scope="module")
def rig() -> Iterator[Rig]:
    with (
        # An instant scripted agent, so that the send_message examples that reach a session run in milliseconds.
        BackgroundEmulator(agent=AgentSettings(step_delay=0)) as emulator,
        FaultUpstream(fallback=Forward(emulator.url)) as upstream,
        anyio.from_thread.start_blocking_portal() as portal,
    ):
        server = build_server(Settings(base_url=upstream.url, max_retries=0, read_timeout=10.0, call_timeout=30.0))
        with portal.wrap_async_context_manager(Client(server)) as client:
            yield Rig(upstream, portal, client)
    print(f"\nfuzz tally: {dict(TALLY)}")


@pytest.fixture(scope="module")
def files_rig() -> Iterator[Rig]:
    """The same path to a Mix that has session files (Feb 2026), for the four file tools."""
    with (
        BackgroundEmulator(mix_version="2026-02") as emulator,
        FaultUpstream(fallback=Forward(emulator.url)) as upstream,
        anyio.from_thread.start_blocking_portal() as portal,
    ):
        server = build_server(Settings(base_url=upstream.url, max_retries=0, read_timeout=10.0, call_timeout=30.0))
        with portal.wrap_async_context_manager(Client(server)) as client:
            yield Rig(upstream, portal, client)


def rig_for(request: pytest.FixtureRequest, op: Operation) -> Rig:
    rig: Rig = request.getfixturevalue("files_rig" if op.family == "files" else "rig")
    return rig


def _endpoints_of(op: Operation, arguments: dict[str, Any]) -> tuple[endpoints.Endpoint, ...]:
    if op.name == "send_message":
        return RUN_ENDPOINTS
    if op.name == "answer_permission":
        return (endpoints.GRANT_PERMISSION if arguments["grant"] else endpoints.DENY_PERMISSION,)
    return (op.endpoint,)


def _matches(endpoint: endpoints.Endpoint, target: str, identifier: str, filename: str | None = None) -> bool:
    path = target.partition("?")[0]
    template, segments = endpoint.path.split("/"), path.split("/")
    if len(segments) != len(template):
        return False
    for expected, actual in zip(template, segments, strict=True):
        if expected in ("{id}", "{filename}"):
            wanted = identifier if expected == "{id}" else filename
            if actual in ("", ".", "..") or unquote(actual, errors="strict") != wanted:
                return False
        elif actual != expected:
            return False
    return True


def _assert_in_bounds(op: Operation, arguments: dict[str, Any], request: Recorded) -> None:
    identifier = str(arguments.get("session_id", arguments.get("permission_id")))
    candidates = [
        e
        for e in _endpoints_of(op, arguments)
        if e.method == request.method and _matches(e, request.target, identifier, arguments.get("name"))
    ]
    assert candidates, request.target
    endpoint = candidates[0]
    query = request.target.partition("?")[2]
    if endpoint is endpoints.STREAM_EVENTS:
        assert query.startswith("sessionId=") and unquote(query.removeprefix("sessionId=")) == identifier
    elif endpoint is endpoints.GET_SESSION_FILE and arguments.get("thumb") is not None:
        assert unquote(query) == f"thumb={arguments['thumb']}", request.target
    else:
        assert query in ("", "includeSubagents=true", "includeSubagents=false"), request.target
    if endpoint is endpoints.SEND_MESSAGE:
        sent = {
            "text": arguments["text"],
            **({"plan_mode": arguments["plan_mode"]} if "plan_mode" in arguments else {}),
        }
        assert request.json() == sent
    elif op.runner is None and op.endpoint.method in ("POST", "PATCH"):
        _, _, body = op.request_parts(op.arguments.model_validate(arguments))
        assert (request.json() if request.body else None) == body


def lenient(schema: dict[str, Any], value: Any) -> Any:
    """``value`` as the server reads it: an optional property that is null, or empty where the schema
    forbids emptiness (minLength / minItems of 1), means "left out", at every level of the schema."""
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [lenient(schema["items"], item) for item in value]
    properties = schema.get("properties")
    if not isinstance(value, dict) or not isinstance(properties, dict):
        return value
    required = set(schema.get("required", []))
    kept = {}
    for name, item in value.items():
        prop = properties.get(name)
        if prop is not None and name not in required:
            if item is None:
                continue
            if item in ("", []) and (prop.get("minLength", 0) >= 1 or prop.get("minItems", 0) >= 1):
                continue
        kept[name] = lenient(prop, item) if isinstance(prop, dict) else item
    return kept


def audit(rig: Rig, op: Operation, arguments: dict[str, Any]) -> None:
    """One call through the whole tool path, and every promise about it."""
    start = rig.upstream.count()
    result = rig.call(op.name, arguments)
    sent = rig.upstream.since(start)
    assert isinstance(result, types.CallToolResult)
    text = text_of(result)
    # Error texts may quote the input (hypothesis also draws string literals from the code under test),
    # so a crash marker counts only when the arguments did not carry it in.
    echoed = json.dumps(arguments, ensure_ascii=False)
    for marker in CRASH_MARKERS:
        assert marker not in text or marker in echoed, text
    TALLY["calls"] += 1
    if not jsonschema.Draft202012Validator(op.input_schema).is_valid(lenient(op.input_schema, arguments)):
        TALLY["schema-invalid"] += 1
        assert sent == [], f"schema-invalid arguments reached Mix: {arguments!r}"
        assert result.is_error and "nothing was sent to Mix" in text
        return
    assert len(sent) <= (MAX_RUN_REQUESTS if op.name == "send_message" else 1)
    TALLY["requests"] += len(sent)
    for request in sent:
        _assert_in_bounds(op, arguments, request)
    if not result.is_error:
        TALLY["successes"] += 1
        jsonschema.validate(result.structured_content, op.output_schema)


JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from([h for h in HOSTILE if len(h) < 1000])
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3),
    max_leaves=6,
)


def arguments_for(op: Operation) -> st.SearchStrategy[dict[str, Any]]:
    properties = sorted(op.input_schema.get("properties", {}))
    valid = from_schema(op.input_schema)
    if "session_id" in properties:
        # Real ids now and then, so that deletes, forks and rewinds also succeed, not only 404.
        valid = st.tuples(valid, st.none() | st.sampled_from(SEED_SESSION_IDS)).map(
            lambda pair: {**pair[0], "session_id": pair[1]} if pair[1] else pair[0]
        )
    if "name" in properties:
        # The seeded session's files now and then, so that reads and deletes also succeed.
        valid = st.tuples(valid, st.none() | st.sampled_from(["screenshot.png", "notes.md"])).map(
            lambda pair: {**pair[0], "name": pair[1]} if pair[1] else pair[0]
        )
    names = st.sampled_from([*properties, "sessionId", "extra", "__proto__"]) | st.text(max_size=10)
    mutated = st.tuples(valid, names, JSON_VALUES).map(lambda t: {**t[0], t[1]: t[2]})
    arbitrary = st.dictionaries(names, JSON_VALUES, max_size=4)
    return st.one_of(valid, mutated, arbitrary)


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.name)
def test_fuzz_arguments_from_the_tool_schema(request: pytest.FixtureRequest, op: Operation) -> None:
    rig = rig_for(request, op)
    before = TALLY["calls"]

    @settings(
        max_examples=EXAMPLES_PER_TOOL,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(arguments=arguments_for(op))
    def run(arguments: dict[str, Any]) -> None:
        audit(rig, op, arguments)

    run()
    assert TALLY["calls"] - before >= EXAMPLES_PER_TOOL // 2


def _hostile_variants(op: Operation, value: str) -> Iterator[dict[str, Any]]:
    base = VALID_BASE[op.name]
    for name in ("session_id", "message_id", "title", "custom_system_prompt", "text", "permission_id", "name"):
        if name in op.input_schema.get("properties", {}):
            extra = {"prompt_mode": "replace"} if name == "custom_system_prompt" else {}
            yield {**base, **extra, name: value}
    if "callbacks" in op.input_schema.get("properties", {}):
        callback = {"tool_name": value, "type": "send_message", "message_content": value, "name": value}
        yield {**base, "callbacks": [callback]}
    if op.name == "list_sessions":
        yield {"include_subagents": value}


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.name)
def test_hand_written_hostile_strings(request: pytest.FixtureRequest, op: Operation) -> None:
    rig = rig_for(request, op)
    made = 0
    for value in HOSTILE:
        for arguments in _hostile_variants(op, value):
            audit(rig, op, arguments)
            made += 1
    assert made >= len(HOSTILE)


@pytest.mark.anyio
@pytest.mark.parametrize("op", [op for op in OPERATIONS if op.name != "list_sessions"], ids=lambda op: op.name)
async def test_lone_surrogates_are_refused_before_any_request(rig: Rig, op: Operation) -> None:
    """JSON can carry a lone surrogate (``"\\ud800"``) that no UTF-8 encoder accepts; it must not crash anything."""
    start = rig.upstream.count()
    async with MixClient(Settings(base_url=rig.upstream.url)) as client:
        for arguments in _hostile_variants(op, "a\ud800b"):
            result = await run_operation(client, op, arguments)
            assert result.is_error
            assert "nothing was sent to Mix" in text_of(result)
    assert rig.upstream.count() == start


def test_no_request_ever_left_the_sessions_paths(rig: Rig, files_rig: Rig) -> None:
    """Over everything this module sent: only the sessions paths, never a dot segment or an extra segment."""
    requests = rig.upstream.since(0) + files_rig.upstream.since(0)
    for request in requests:
        path = request.path
        inside = path == SESSIONS_PREFIX or path.startswith((SESSIONS_PREFIX + "/", PERMISSIONS_PREFIX + "/"))
        assert inside or path == endpoints.STREAM_EVENTS.path, request.target
        segments = path.split("/")
        assert 2 <= len(segments) <= 6 and "." not in segments and ".." not in segments, request.target
    print(f"\nrecorded requests: {len(requests)}; {dict(Counter(r.method for r in requests))}")
    assert json.dumps(dict(TALLY))
