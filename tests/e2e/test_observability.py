"""Spans and logs: what an operator sees, and what must never be in it.

Spans are captured with the OpenTelemetry SDK's in-memory exporter while the real server (in
process, over the SDK's in-memory transport) calls a real HTTP upstream: the emulator, or a
scripted Mix that fails once. Export wiring (console and OTLP/HTTP) and JSON logs are checked on
the command as a user runs it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from mcp import Client
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from mix_mcp.config import Settings
from mix_mcp.emulator import DEMO_SESSION_ID
from mix_mcp.serving.server import build_server
from tests.support import Answer, ScriptedUpstream, clean_env, free_port, run_cli, text_of
from tests.unit.fakes import SESSION

SECRET = "sk-span-secret-0042"
MISSING_ID = "no-such-session-7f3e"


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    """An in-memory exporter on the global provider (which can be set once per process)."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.clear()


async def call(settings: Settings, tool: str, arguments: dict[str, Any], exporter: InMemorySpanExporter) -> Any:
    exporter.clear()
    async with Client(build_server(settings)) as client:
        return await client.call_tool(tool, arguments)


def one(spans: Sequence[ReadableSpan], name: str) -> ReadableSpan:
    found = [s for s in spans if s.name == name]
    assert len(found) == 1, [s.name for s in spans]
    return found[0]


def assert_nothing_secret(spans: Sequence[ReadableSpan], *forbidden: str) -> None:
    """No attribute, name or status of any span (ours or the SDK's) carries a secret or an id."""
    for span in spans:
        texts = [span.name, str(span.status.description or "")]
        texts += [f"{k}={v!r}" for k, v in (span.attributes or {}).items()]
        for event in span.events:
            texts += [event.name, *(f"{k}={v!r}" for k, v in (event.attributes or {}).items())]
        for text in texts:
            for value in forbidden:
                assert value not in text, (span.name, text)


def attributes(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


@pytest.mark.anyio
async def test_successful_call_has_a_tool_span_and_an_attempt_span(
    emulator_url: str, spans: InMemorySpanExporter
) -> None:
    settings = Settings(base_url=emulator_url, api_key=SECRET)
    result = await call(settings, "get_session", {"session_id": DEMO_SESSION_ID}, spans)
    assert not result.is_error, text_of(result)
    finished = spans.get_finished_spans()

    tool = one(finished, "execute_tool get_session")
    http = one(finished, "GET /api/sessions/{id}")
    server = one(finished, "tools/call get_session")  # the SDK's own SERVER span
    assert tool.kind is SpanKind.INTERNAL and http.kind is SpanKind.CLIENT
    assert tool.parent is not None and tool.parent.span_id == server.context.span_id
    assert http.parent is not None and http.parent.span_id == tool.context.span_id

    tool_attributes = attributes(tool)
    assert {k: tool_attributes[k] for k in ("gen_ai.tool.name", "mix_mcp.outcome", "mix_mcp.attempts")} == {
        "gen_ai.tool.name": "get_session",
        "mix_mcp.outcome": "ok",
        "mix_mcp.attempts": 1,
    }
    assert tool_attributes["http.response.status_code"] == 200
    assert tool_attributes["mix_mcp.duration_ms"] >= 0
    assert "error.type" not in tool_attributes and tool.status.status_code is StatusCode.UNSET

    http_attributes = attributes(http)
    assert http_attributes["http.request.method"] == "GET"
    assert http_attributes["url.template"] == "/api/sessions/{id}"
    assert http_attributes["http.response.status_code"] == 200
    assert http_attributes["mix_mcp.attempt"] == 1
    assert "http.request.resend_count" not in http_attributes
    assert http_attributes["server.address"] == "127.0.0.1"
    assert http_attributes["mix_mcp.duration_ms"] >= 0
    assert http.end_time is not None and http.start_time is not None and http.end_time >= http.start_time
    assert_nothing_secret(finished, SECRET, DEMO_SESSION_ID)


@pytest.mark.anyio
async def test_retried_call_has_one_span_per_attempt(spans: InMemorySpanExporter) -> None:
    script = (Answer.json(503, {"error": "warming up"}, **{"Retry-After": "0"}), Answer.json(200, SESSION))
    with ScriptedUpstream(*script) as upstream:
        settings = Settings(base_url=upstream.url, api_key=SECRET, max_retries=2)
        result = await call(settings, "get_session", {"session_id": SESSION["id"]}, spans)
        assert [seen.headers.get("Authorization") for seen in upstream.seen] == [f"Bearer {SECRET}"] * 2
    assert not result.is_error, text_of(result)
    finished = spans.get_finished_spans()

    attempts = sorted(
        (s for s in finished if s.name == "GET /api/sessions/{id}"), key=lambda s: attributes(s)["mix_mcp.attempt"]
    )
    assert [attributes(s)["mix_mcp.attempt"] for s in attempts] == [1, 2]
    first, second = (attributes(s) for s in attempts)
    assert (first["http.response.status_code"], first["error.type"]) == (503, "503")
    assert attempts[0].status.status_code is StatusCode.ERROR
    assert second["http.response.status_code"] == 200 and second["http.request.resend_count"] == 1
    assert "error.type" not in second

    tool = one(finished, "execute_tool get_session")
    assert attributes(tool)["mix_mcp.attempts"] == 2 and attributes(tool)["mix_mcp.outcome"] == "ok"
    assert all(s.parent is not None and s.parent.span_id == tool.context.span_id for s in attempts)
    assert_nothing_secret(finished, SECRET, str(SESSION["id"]))


@pytest.mark.anyio
async def test_failed_call_marks_the_tool_span_as_an_error(emulator_url: str, spans: InMemorySpanExporter) -> None:
    settings = Settings(base_url=emulator_url, api_key=SECRET)
    result = await call(settings, "export_session", {"session_id": MISSING_ID}, spans)
    assert result.is_error and "HTTP 404" in text_of(result)
    finished = spans.get_finished_spans()

    tool = one(finished, "execute_tool export_session")
    assert tool.status.status_code is StatusCode.ERROR
    assert {k: attributes(tool)[k] for k in ("mix_mcp.outcome", "error.type", "http.response.status_code")} == {
        "mix_mcp.outcome": "error",
        "error.type": "MixAPIError",
        "http.response.status_code": 404,
    }
    http = one(finished, "GET /api/sessions/{id}/export")
    assert attributes(http)["url.template"] == "/api/sessions/{id}/export"
    assert (attributes(http)["http.response.status_code"], attributes(http)["error.type"]) == (404, "404")
    assert_nothing_secret(finished, SECRET, MISSING_ID)


@pytest.mark.anyio
async def test_unreachable_mix_records_the_error_type_only(spans: InMemorySpanExporter) -> None:
    settings = Settings(base_url=f"http://127.0.0.1:{free_port()}", api_key=SECRET, max_retries=1)
    result = await call(settings, "delete_session", {"session_id": MISSING_ID}, spans)
    assert result.is_error and "connection refused" in text_of(result)
    finished = spans.get_finished_spans()

    attempts = [s for s in finished if s.name == "DELETE /api/sessions/{id}"]
    assert [attributes(s)["mix_mcp.attempt"] for s in attempts] == [1, 2]
    assert {attributes(s)["error.type"] for s in attempts} == {"ConnectError"}
    assert all("http.response.status_code" not in attributes(s) for s in attempts)
    tool = one(finished, "execute_tool delete_session")
    assert attributes(tool)["error.type"] == "MixUnreachableError"
    assert "http.response.status_code" not in attributes(tool)
    assert_nothing_secret(finished, SECRET, MISSING_ID)


def test_console_exporter_writes_spans_to_stderr_and_leaves_stdout_alone(emulator_url: str) -> None:
    done = run_cli(
        "call",
        "get_session",
        json.dumps({"session_id": DEMO_SESSION_ID}),
        env=clean_env(MIX_BASE_URL=emulator_url, MIX_API_KEY=SECRET, OTEL_TRACES_EXPORTER="console"),
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["id"] == DEMO_SESSION_ID  # stdout is the result, nothing else
    assert '"name": "execute_tool get_session"' in done.stderr
    assert '"url.template": "/api/sessions/{id}"' in done.stderr
    assert SECRET not in done.stderr


def test_otlp_export_reaches_a_collector(emulator_url: str) -> None:
    with ScriptedUpstream(Answer(200, b"", {"Content-Type": "application/x-protobuf"})) as collector:
        done = run_cli(
            "call",
            "list_sessions",
            env=clean_env(
                MIX_BASE_URL=emulator_url,
                OTEL_EXPORTER_OTLP_ENDPOINT=collector.url,
                OTEL_SERVICE_NAME="mix-mcp-under-test",
            ),
        )
        assert done.returncode == 0, done.stderr
        posts = [seen for seen in collector.seen if seen.method == "POST" and seen.path == "/v1/traces"]
    assert posts, collector.seen
    names: set[str] = set()
    services: set[str] = set()
    for post in posts:
        request = ExportTraceServiceRequest()
        request.ParseFromString(post.body)
        for resource_spans in request.resource_spans:
            services |= {a.value.string_value for a in resource_spans.resource.attributes if a.key == "service.name"}
            names |= {span.name for scope in resource_spans.scope_spans for span in scope.spans}
    assert {"execute_tool list_sessions", "GET /api/sessions"} <= names
    assert services == {"mix-mcp-under-test"}


def test_json_logs_carry_the_tool_call_fields(emulator_url: str) -> None:
    done = run_cli(
        "call",
        "get_session",
        json.dumps({"session_id": MISSING_ID}),
        env=clean_env(MIX_BASE_URL=emulator_url, MIX_API_KEY=SECRET, MIX_MCP_LOG_LEVEL="INFO"),
        timeout=60,
    )
    assert done.returncode == 1
    text_line = next(line for line in done.stderr.splitlines() if "tool=get_session" in line)
    assert "outcome=error status=404 attempts=1 duration_ms=" in text_line

    done = run_cli(
        "call",
        "get_session",
        json.dumps({"session_id": MISSING_ID}),
        "--log-format",
        "json",
        env=clean_env(MIX_BASE_URL=emulator_url, MIX_API_KEY=SECRET, MIX_MCP_LOG_LEVEL="INFO"),
    )
    assert done.returncode == 1
    records = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    tool_line = next(r for r in records if r.get("tool") == "get_session")
    assert {k: tool_line[k] for k in ("level", "logger", "outcome", "status", "attempts")} == {
        "level": "INFO",
        "logger": "mix_mcp.server",
        "outcome": "error",
        "status": 404,
        "attempts": 1,
    }
    assert isinstance(tool_line["duration_ms"], float)
    assert tool_line["time"].endswith("Z")
    assert tool_line["message"].startswith("event=tool_call tool=get_session ")
    assert tool_line["event"] == "tool_call"
    assert SECRET not in done.stderr
