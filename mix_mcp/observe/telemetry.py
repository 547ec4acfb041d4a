"""OpenTelemetry spans for tool calls and for each HTTP attempt to Mix.

Spans go through ``opentelemetry-api`` only: until something installs a tracer provider, the API
hands out non-recording spans and this costs a few attribute checks per call. A provider comes
either from ``setup_tracing`` (when the ``otel`` extra is installed and ``OTEL_*`` variables ask
for an exporter) or from anything else that sets the global provider, such as
``opentelemetry-instrument``.

What a span may carry is decided here and nowhere else: the tool name, the HTTP method, the
route *template* (``/api/sessions/{id}``, never the id), the status, the attempt number, the
duration and an error *type*. Never an id, a URL with an id in it, a body, a header, a key, or
an exception message (messages can quote URLs).
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from mix_mcp._version import __version__

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

logger = logging.getLogger("mix_mcp.telemetry")

TRACER_NAME: Final = "mix_mcp"
#: Follows the global provider: spans record as soon as one is installed, even after this import.
_tracer = trace.get_tracer(TRACER_NAME, __version__)

ATTEMPT: Final = "mix_mcp.attempt"
ATTEMPTS: Final = "mix_mcp.attempts"
OUTCOME: Final = "mix_mcp.outcome"
DURATION_MS: Final = "mix_mcp.duration_ms"


class ToolCallSpan:
    """The span of one tool call; ``finish`` records how it ended."""

    def __init__(self, span: Span) -> None:
        self.span = span
        self._started = time.monotonic()

    def finish(self, *, outcome: str, attempts: int, status: int | None, error_type: str | None) -> None:
        if not self.span.is_recording():
            return
        attributes: dict[str, Any] = {
            OUTCOME: outcome,
            ATTEMPTS: attempts,
            DURATION_MS: round((time.monotonic() - self._started) * 1000, 3),
        }
        if status is not None:
            attributes["http.response.status_code"] = status
        if error_type is not None:
            attributes["error.type"] = error_type
            self.span.set_status(Status(StatusCode.ERROR))
        self.span.set_attributes(attributes)


def _tracing_off() -> bool:
    """No tracer provider is installed yet: every span would be a no-op, so none is even started.

    Checked per call, so that a provider installed later (by ``setup_tracing`` or any other code)
    takes effect at once; the check costs far less than starting and ending a non-recording span.
    """
    return isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


@contextmanager
def tool_call_span(tool: str, caller: str | None = None) -> Iterator[ToolCallSpan]:
    """An INTERNAL span around one tool call, nested under the SDK's ``tools/call`` SERVER span.

    ``caller`` is the OAuth token's ``sub`` (``enduser.id``), never the token.
    """
    if _tracing_off():
        yield ToolCallSpan(trace.INVALID_SPAN)
        return
    attributes = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": tool}
    if caller is not None:
        attributes["enduser.id"] = caller
    with _tracer.start_as_current_span(
        f"execute_tool {tool}",
        kind=SpanKind.INTERNAL,
        attributes=attributes,
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        try:
            yield ToolCallSpan(span)
        except BaseException as exc:  # cancellation: the call ends without a result
            if span.is_recording():
                span.set_attributes({OUTCOME: "cancelled", "error.type": type(exc).__name__})
                span.set_status(Status(StatusCode.ERROR))
            raise


class AttemptSpan:
    """The span of one HTTP attempt; the status is recorded when an answer arrives."""

    def __init__(self, span: Span) -> None:
        self.span = span

    def answered(self, status: int) -> None:
        if not self.span.is_recording():
            return
        self.span.set_attribute("http.response.status_code", status)
        if status >= 400:
            self.span.set_attribute("error.type", str(status))
            self.span.set_status(Status(StatusCode.ERROR))


@contextmanager
def http_attempt_span(
    method: str, route: str, attempt: int, server_address: str | None, server_port: int | None
) -> Iterator[AttemptSpan]:
    """A CLIENT span around one HTTP attempt. ``route`` must be the endpoint's template, not the sent path."""
    if _tracing_off():
        yield AttemptSpan(trace.INVALID_SPAN)
        return
    attributes: dict[str, Any] = {"http.request.method": method, "url.template": route, ATTEMPT: attempt}
    if attempt > 1:
        attributes["http.request.resend_count"] = attempt - 1
    if server_address:
        attributes["server.address"] = server_address
    if server_port is not None:
        attributes["server.port"] = server_port
    started = time.monotonic()
    with _tracer.start_as_current_span(
        f"{method} {route}",
        kind=SpanKind.CLIENT,
        attributes=attributes,
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        try:
            yield AttemptSpan(span)
        except BaseException as exc:
            if span.is_recording():
                # The type only: messages of transport errors may quote the URL, and so the id.
                span.set_attribute("error.type", type(exc).__name__)
                span.set_status(Status(StatusCode.ERROR))
            raise
        finally:
            if span.is_recording():
                span.set_attribute(DURATION_MS, round((time.monotonic() - started) * 1000, 3))


# Turning export on: only when the user asked for it through the standard OTEL_* variables.

_ENDPOINT_VARIABLES: Final = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
OTEL_EXTRA_HINT: Final = "pip install 'mix-mcp[otel]'"


def tracing_requested(environ: Mapping[str, str]) -> bool:
    """Whether the environment asks for spans to be exported (and does not switch the SDK off)."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporters = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporters == "none":
        return False
    return bool(exporters) or any(environ.get(name, "").strip() for name in _ENDPOINT_VARIABLES)


def setup_tracing(environ: Mapping[str, str] | None = None) -> TracerProvider | None:
    """Install an SDK tracer provider with the exporters ``OTEL_*`` asks for; return it (to shut down).

    Returns ``None`` and changes nothing when export is not requested, when a provider is already
    installed (``opentelemetry-instrument`` and friends), or when the SDK is missing (with a
    warning naming the extra to install).
    """
    env = os.environ if environ is None else environ
    if not tracing_requested(env):
        return None
    if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        return None
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        logger.warning("OTEL_* asks for trace export but opentelemetry-sdk is not installed: %s", OTEL_EXTRA_HINT)
        return None
    exporters = _exporters(env)
    if not exporters:
        return None
    attributes: dict[str, Any] = {"service.version": __version__}
    if not env.get("OTEL_SERVICE_NAME"):
        attributes["service.name"] = "mix-mcp"
    provider = TracerProvider(resource=Resource.create(attributes))
    for exporter in exporters:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return provider


def _exporters(env: Mapping[str, str]) -> list[SpanExporter]:
    names = [n.strip() for n in (env.get("OTEL_TRACES_EXPORTER") or "otlp").lower().split(",") if n.strip()]
    exporters: list[SpanExporter] = []
    for name in names:
        if name == "console":
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            # stderr: stdout is the MCP stdio channel.
            exporters.append(ConsoleSpanExporter(out=sys.stderr))
        elif name == "otlp":
            exporter = _otlp_exporter(env)
            if exporter is not None:
                exporters.append(exporter)
        else:
            logger.warning("OTEL_TRACES_EXPORTER=%s is not supported by mix-mcp; use otlp or console", name)
    return exporters


def _otlp_exporter(env: Mapping[str, str]) -> SpanExporter | None:
    protocol = (
        env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get("OTEL_EXPORTER_OTLP_PROTOCOL") or "http/protobuf"
    ).strip()
    try:
        if protocol == "grpc":
            # Not in the otel extra (grpcio is large); installed by whoever picks the grpc protocol.
            grpc = importlib.import_module("opentelemetry.exporter.otlp.proto.grpc.trace_exporter")
            exporter: SpanExporter = grpc.OTLPSpanExporter()
            return exporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

        return HttpExporter()
    except ImportError:
        package = "opentelemetry-exporter-otlp-proto-" + ("grpc" if protocol == "grpc" else "http")
        logger.warning("OTLP trace export (%s) needs %s: %s", protocol, package, OTEL_EXTRA_HINT)
        return None


@contextmanager
def tracing_from_env(environ: Mapping[str, str] | None = None) -> Iterator[None]:
    """``setup_tracing`` for the length of a command, flushing the exporters at the end."""
    provider = setup_tracing(environ)
    try:
        yield
    finally:
        if provider is not None:
            provider.shutdown()
