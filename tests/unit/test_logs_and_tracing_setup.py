"""JSON log lines, and when the OTEL_* environment turns trace export on."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from mix_mcp.observe.logs import JsonFormatter, log_event
from mix_mcp.observe.telemetry import setup_tracing, tracing_requested


def _record(message: str, **fields: object) -> logging.LogRecord:
    record = logging.LogRecord("mix_mcp.server", logging.INFO, __file__, 1, message, None, None)
    if fields:
        record.fields = fields
    return record


def test_json_line_has_the_standard_keys_and_the_event_fields() -> None:
    line = JsonFormatter().format(_record("tool=x outcome=ok", tool="x", outcome="ok", attempts=2, level="forged"))
    entry = json.loads(line)
    assert entry["level"] == "INFO" and entry["logger"] == "mix_mcp.server"  # fields cannot overwrite these
    assert (entry["message"], entry["tool"], entry["attempts"]) == ("tool=x outcome=ok", "x", 2)
    assert entry["time"].endswith("Z") and "T" in entry["time"]
    assert "\n" not in line


def test_json_line_carries_an_exception_as_one_field() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = _record("failed")
        record.exc_info = sys.exc_info()
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "failed" and "ValueError: boom" in entry["exception"]


def test_log_event_writes_key_value_text(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("mix_mcp.test")
    with caplog.at_level(logging.INFO, logger="mix_mcp.test"):
        log_event(logger, logging.INFO, "tool_call", tool="get_session", status=404)
    [record] = caplog.records
    assert record.getMessage() == "event=tool_call tool=get_session status=404"
    assert getattr(record, "fields", None) == {"event": "tool_call", "tool": "get_session", "status": 404}


@pytest.mark.parametrize(
    ("environ", "requested"),
    [
        ({}, False),
        ({"OTEL_SERVICE_NAME": "x"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_TRACES_EXPORTER": "console"}, True),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, False),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "console"}, False),
    ],
)
def test_export_is_requested_only_through_otel_variables(environ: dict[str, str], requested: bool) -> None:
    assert tracing_requested(environ) is requested


def test_nothing_is_installed_when_export_is_not_requested() -> None:
    assert setup_tracing({}) is None


def test_no_span_is_started_until_a_tracer_provider_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    from opentelemetry import trace

    from mix_mcp.observe import telemetry

    class Refusing:
        def start_as_current_span(self, *args: object, **kwargs: object) -> object:
            raise AssertionError("a span was started with no provider installed")

    monkeypatch.setattr(trace, "get_tracer_provider", trace.ProxyTracerProvider)
    monkeypatch.setattr(telemetry, "_tracer", Refusing())
    with telemetry.tool_call_span("get_session") as tool_span:
        assert not tool_span.span.is_recording()
        tool_span.finish(outcome="ok", attempts=1, status=200, error_type=None)
    with telemetry.http_attempt_span("GET", "/api/sessions/{id}", 1, "127.0.0.1", 8088) as attempt:
        attempt.answered(200)
        assert not attempt.span.is_recording()
