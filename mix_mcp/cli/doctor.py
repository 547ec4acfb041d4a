"""``mix-mcp doctor``: is the configuration usable, and is there a Mix sessions API behind it?

One GET /api/sessions, made with the same client, headers and limits as the server, tells apart
the failures people actually meet: nothing listening, a host that does not resolve, a missing
or rejected API key, a base URL with the wrong path, and a URL that answers but is not Mix (a web
UI, a proxy page, another JSON service). Each gets one piece of advice. A healthy answer is also
read for fields this version does not know, the sign of a newer Mix revision.

Then doctor asks which of the operations behind the published tools this Mix offers, without changing
anything: each operation's route is called for an id that cannot exist, with an empty body, so Mix
refuses it (400, 404, 500) unless its router has no such route at all, and reads the version ``/health``
reports. Against the built-in emulator it goes further and tries every published tool on a scratch
session (``tool_tryout``). An https:// URL that reaches a plain-HTTP Mix is told so, after one probe of
the http:// address.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Final, Literal
from urllib.parse import urlsplit

import httpx2

from mix_mcp._version import __version__
from mix_mcp.config import DEFAULT_BASE_URL, Settings, describe_setting
from mix_mcp.listening import is_loopback
from mix_mcp.mix.client import SESSION_LIST, CallStats, MixClient
from mix_mcp.mix.endpoints import ALL_ENDPOINTS, HEALTH_CHECK, LIST_SESSIONS, Endpoint
from mix_mcp.mix.errors import (
    PLAIN_HTTP_REASON,
    MixAPIError,
    MixMCPError,
    MixResponseError,
    MixTimeoutError,
    MixUnreachableError,
    OperationUnavailableError,
    WrongBaseURLError,
    plain_http_advice,
)
from mix_mcp.mix.models import SessionData
from mix_mcp.tools.operations import OPERATIONS

Status = Literal["ok", "warn", "fail", "info"]

#: The names Mix uses for the session fields this version knows (camelCase, as on the wire).
KNOWN_SESSION_FIELDS: Final = frozenset(info.alias or name for name, info in SessionData.model_fields.items())
_BASE_URL: Final = describe_setting("base_url")
_API_KEY: Final = describe_setting("api_key")


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the report: what was checked, how it went, and what to do when it went wrong."""

    name: str
    status: Status
    detail: str
    advice: str | None = None


@dataclass
class Report:
    base_url: str
    checks: list[Check] = field(default_factory=list)
    latency_ms: float | None = None
    session_count: int | None = None
    extra_fields: list[str] = field(default_factory=list)
    version: str = __version__
    #: What Mix's ``/health`` says its version is, when it says.
    mix_version: str | None = None
    #: Operation id -> whether this Mix routes it.
    operations: dict[str, bool] = field(default_factory=dict)
    #: Published tool -> 'ok', 'failed: ...' or 'not tried' (``doctor --emulator`` only).
    tools: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(check.status != "fail" for check in self.checks)

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, **asdict(self)}


async def diagnose(
    settings: Settings, *, transport: httpx2.AsyncBaseTransport | None = None, try_tools: bool = False
) -> Report:
    """Run every check against the Mix that ``settings`` points at (one attempt, no retries).

    ``try_tools`` (the built-in emulator only) also calls every published tool on a scratch session.
    """
    report = Report(base_url=settings.display_base_url)
    report.checks.append(_configuration(settings))
    probe = settings.with_overrides(max_retries=0)
    stats = CallStats()
    started = time.perf_counter()
    async with MixClient(probe, transport=transport) as client:
        try:
            data = await client.send(LIST_SESSIONS, idempotent=True, expect=SESSION_LIST, stats=stats)
        except MixMCPError as error:
            if isinstance(error, MixAPIError | MixResponseError):
                report.latency_ms = _elapsed_ms(started)
                report.checks.append(_answered(settings, error.status, report.latency_ms))
            report.checks.append(_failure(error, settings))
            if isinstance(error, MixUnreachableError) and error.reason == PLAIN_HTTP_REASON:
                report.checks.append(await _plain_http_probe(settings, transport))
            return report
        report.latency_ms = _elapsed_ms(started)
        report.mix_version = await _health_version(client)
        report.operations = {op.operation_id: await _offers(client, op) for op in _probed_endpoints()}
    sessions: list[dict[str, Any]] = data or []  # early Mix versions send null for none
    report.session_count = len(sessions)
    report.checks.append(_answered(settings, stats.status or 200, report.latency_ms))
    if sessions:
        detail = f"a JSON array of {len(sessions)} session(s) in the shape of Mix's SessionData"
    else:
        detail = "an empty JSON array (no sessions yet, so no fields could be compared)"
    report.checks.append(Check("sessions API", "ok", detail))
    report.extra_fields = sorted({key for item in sessions for key in item} - KNOWN_SESSION_FIELDS)
    report.checks.append(_versions(report))
    report.checks.append(_revision(report.extra_fields, bool(sessions)))
    if try_tools:
        report.checks.append(await _tools(settings, report))
    return report


def _probed_endpoints() -> list[Endpoint]:
    """The session endpoints and every endpoint a tool uses, once each, in table order."""
    seen: dict[str, Endpoint] = {op.operation_id: op for op in ALL_ENDPOINTS}
    for operation in OPERATIONS:
        seen.setdefault(operation.endpoint.operation_id, operation.endpoint)
    return list(seen.values())


async def _tools(settings: Settings, report: Report) -> Check:
    """Every published tool tried on a scratch session (see ``tool_tryout``)."""
    from mix_mcp.cli.tool_tryout import try_published_tools

    try:
        tryout = await try_published_tools(settings)
    except Exception as exc:  # the check reports; it never crashes doctor
        return Check(
            "tools",
            "fail",
            f"the tools could not be tried: {type(exc).__name__}: {exc}",
            "Run `mix-mcp doctor --emulator --log-level DEBUG` and report the output.",
        )
    for name in tryout.published:
        trial = tryout.trials.get(name)
        report.tools[name] = (
            "not tried"
            if trial is None
            else (trial.outcome if trial.outcome == "ok" else f"{trial.outcome}: {trial.detail}")
        )
    count = len(tryout.published)
    tried = count - len(tryout.untried)
    detail = f"{count} tools published; {tried} tried on a scratch session"
    detail += ", which was deleted" if not tryout.leftovers else f"; left behind: {', '.join(tryout.leftovers)}"
    if tryout.failed:
        failures = "; ".join(f"{t.tool}: {t.detail}" for t in tryout.failed)
        return Check(
            "tools",
            "fail",
            f"{detail}; failed: {failures}",
            "Run the failing tool with `mix-mcp call TOOL ... --emulator` to see its whole answer, and report it.",
        )
    if tryout.not_offered:
        detail += f"; not offered by this Mix version: {', '.join(tryout.not_offered)}"
    if tryout.untried:
        return Check(
            "tools",
            "info",
            f"{detail}; all worked; not tried: {', '.join(tryout.untried)}",
            "doctor does not know how to try these tools safely; `mix-mcp call` tries one by hand.",
        )
    if tryout.not_offered:
        worked = [name for name in tryout.published if report.tools.get(name) == "ok"]
        return Check("tools", "ok", f"{detail}; the other {len(worked)} worked: {', '.join(worked)}")
    return Check("tools", "ok", f"{detail}; all {count} worked: {', '.join(tryout.published)}")


async def _plain_http_probe(settings: Settings, transport: httpx2.AsyncBaseTransport | None) -> Check:
    """Ask the http:// twin of an https:// base URL once, to confirm it is plain HTTP that answers there."""
    parts = urlsplit(settings.base_url)
    plain = f"http://{parts.hostname}" + (f":{parts.port}" if parts.port else ":443")
    try:
        async with httpx2.AsyncClient(transport=transport, timeout=settings.connect_timeout) as client:
            response = await client.get(plain + HEALTH_CHECK.path)
    except httpx2.HTTPError as exc:
        return Check(
            "plain HTTP", "info", f"GET {plain}{HEALTH_CHECK.path} did not answer either ({type(exc).__name__})"
        )
    return Check(
        "plain HTTP",
        "info",
        f"GET {plain}{HEALTH_CHECK.path} answered HTTP {response.status_code}: the server there speaks plain HTTP",
        f"Set {_BASE_URL} to {plain}" + (parts.path.rstrip("/") or "") + ".",
    )


async def _health_version(client: MixClient) -> str | None:
    """The ``version`` Mix's health check reports, or ``None`` when it reports none."""
    try:
        health = await client.send(HEALTH_CHECK, idempotent=True)
    except MixMCPError:
        return None
    version = health.get("version") if isinstance(health, dict) else None
    return client.redactor.text(version)[:200] if isinstance(version, str) else None


async def _offers(client: MixClient, endpoint: Endpoint) -> bool:
    """Whether Mix routes ``endpoint``, asked so that nothing can change: an unknown id and an empty body."""
    if endpoint is LIST_SESSIONS:
        return True
    probe_id = f"mix-mcp-doctor-probe-{secrets.token_hex(8)}" if endpoint.takes_id else None
    probe_file = "mix-mcp-doctor-probe.txt" if "{filename}" in endpoint.path else None
    try:
        await client.send(endpoint, session_id=probe_id, filename=probe_file, idempotent=False)
    except OperationUnavailableError:
        return False
    except MixMCPError:
        return True  # refused for the id or the body: the route exists
    return True


def _versions(report: Report) -> Check:
    """Which operations, and so which tools, this Mix offers; and the version its health check reports."""
    tools = [op.name for op in OPERATIONS]
    offered = [op.name for op in OPERATIONS if report.operations.get(op.endpoint.operation_id)]
    missing = [name for name in tools if name not in offered]
    version = f"/health reports version {report.mix_version!r}" if report.mix_version else "/health reports no version"
    detail = f"{version}; offers {', '.join(offered)}"
    if not missing:
        return Check("operations", "ok", f"{detail} (the routes of all {len(tools)} tools answer)")
    return Check(
        "operations",
        "info",
        f"{detail}; does not offer {', '.join(missing)}",
        f"mix-mcp leaves {', '.join(missing)} out of its tool list once a call meets the missing route; "
        "docs/compatibility.md lists what each Mix version offers.",
    )


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _sessions_url(settings: Settings) -> str:
    return settings.display_base_url.rstrip("/") + LIST_SESSIONS.path


def _answered(settings: Settings, status: int, latency_ms: float) -> Check:
    return Check("reach Mix", "ok", f"GET {_sessions_url(settings)} answered HTTP {status} in {latency_ms:g} ms")


def _configuration(settings: Settings) -> Check:
    parts = [f"base URL {settings.display_base_url}"]
    parts.append("API key set" if settings.api_key else "no API key")
    if settings.extra_headers:
        parts.append("extra headers " + ", ".join(sorted(settings.extra_headers)))
    parts.append(
        f"timeouts connect {settings.connect_timeout:g}s, read {settings.read_timeout:g}s, "
        f"call {settings.call_timeout:g}s; up to {settings.max_retries} retries"
    )
    detail = "; ".join(parts)
    host = urlsplit(settings.base_url)
    if settings.api_key and host.scheme == "http" and not is_loopback(host.hostname or ""):
        return Check(
            "configuration",
            "warn",
            detail,
            f"The API key would travel unencrypted to {host.hostname}: use an https:// base URL ({_BASE_URL}).",
        )
    return Check("configuration", "ok", detail)


def _failure(error: MixMCPError, settings: Settings) -> Check:
    base = settings.display_base_url
    if isinstance(error, WrongBaseURLError):
        return _wrong_path(settings, f"HTTP 404 from GET {_sessions_url(settings)}, and from its /health")
    if isinstance(error, MixUnreachableError):
        if error.reason == PLAIN_HTTP_REASON:
            return Check(
                "reach Mix", "fail", f"TLS failed: {error.url} ({error.reason})", plain_http_advice(error.url) + "."
            )
        if "resolved" in error.reason:
            advice = f"Check the host name in {_BASE_URL} (now {base}); it does not resolve."
        else:
            advice = (
                f"Start Mix at {base}, or set {_BASE_URL} to where Mix runs (default {DEFAULT_BASE_URL}). "
                "`mix-mcp doctor --emulator` checks mix-mcp itself against the built-in emulator."
            )
        return Check("reach Mix", "fail", f"unreachable: {error.url} ({error.reason})", advice)
    if isinstance(error, MixTimeoutError):
        return Check(
            "reach Mix",
            "fail",
            f"no answer from {error.url} ({error.phase} took over {error.seconds:g}s)",
            f"Check that {_BASE_URL} names the right host and port and that Mix is healthy; if it is just slow, "
            "raise MIX_CONNECT_TIMEOUT / MIX_READ_TIMEOUT.",
        )
    if isinstance(error, MixAPIError):
        return _status_failure(error, settings)
    if isinstance(error, MixResponseError):
        return _shape_failure(error, settings)
    return Check("reach Mix", "fail", str(error), "Run `mix-mcp doctor --json` and report the output.")


def _status_failure(error: MixAPIError, settings: Settings) -> Check:
    detail = f"HTTP {error.status} from GET {_sessions_url(settings)}: {error.message}"
    if error.status in (401, 403):
        if settings.api_key:
            advice = f"Mix rejected the API key: set {_API_KEY} to a valid, current key for this Mix server."
        else:
            advice = f"This Mix requires an API key: set {_API_KEY} to a key for this Mix server."
        return Check("authentication", "fail", detail, advice)
    if error.status == 404:
        return _wrong_path(settings, detail, enveloped=error.envelope_ok)
    if 300 <= error.status < 400:
        return Check(
            "URL path",
            "fail",
            f"HTTP {error.status} redirect from GET {_sessions_url(settings)}",
            f"Set {_BASE_URL} to the address the redirect leads to (often https:// instead of http://).",
        )
    if error.status >= 500:
        return Check(
            "reach Mix", "fail", detail, "Mix failed internally: check the Mix server's logs, then run doctor again."
        )
    return Check(
        "sessions API",
        "fail",
        detail,
        f"Something answers at {settings.display_base_url} but not as Mix's sessions API does: check {_BASE_URL}.",
    )


def _wrong_path(settings: Settings, detail: str, *, enveloped: bool = True) -> Check:
    path = urlsplit(settings.base_url).path.rstrip("/")
    advice = (
        f"{_BASE_URL} must be the root Mix serves its API under (e.g. {DEFAULT_BASE_URL}); "
        "mix-mcp adds /api/sessions itself."
    )
    if path:
        advice += f" Try it without the path {path!r}."
    if not enveloped:
        advice += " The answer is not in Mix's error format either: is this a Mix server at all?"
    return Check("URL path", "fail", detail, advice)


def _shape_failure(error: MixResponseError, settings: Settings) -> Check:
    looks_html = "html" in error.content_type.lower() or error.snippet.lstrip().startswith("<")
    advice = (
        f"This does not look like a Mix server: point {_BASE_URL} at Mix's REST API (by default port 8088), "
        "not at a web page, a proxy or another service."
    )
    if looks_html:
        detail = f"GET {_sessions_url(settings)} answered an HTML page (HTTP {error.status}), not Mix's JSON"
        return Check("sessions API", "fail", detail, advice)
    detail = f"GET {_sessions_url(settings)} answered HTTP {error.status}, but the body {error.reason}"
    if error.problems:
        detail += ": " + "; ".join(error.problems[:3])
    return Check("sessions API", "fail", detail, advice)


def _revision(extra: list[str], had_sessions: bool) -> Check:
    if not had_sessions:
        return Check("Mix revision", "info", "no sessions to read fields from")
    if not extra:
        return Check("Mix revision", "info", "no session fields beyond the ones this mix-mcp knows")
    return Check(
        "Mix revision",
        "info",
        "a newer Mix revision: sessions carry fields this mix-mcp does not model: " + ", ".join(extra),
        "Nothing to fix: mix-mcp passes these fields to agents untouched.",
    )


_MARKS: Final[dict[str, str]] = {"ok": "[ok]  ", "warn": "[warn]", "fail": "[FAIL]", "info": "[info]"}


def render_text(report: Report) -> str:
    lines = [f"mix-mcp {report.version} doctor: Mix at {report.base_url}"]
    for check in report.checks:
        lines.append(f"{_MARKS[check.status]} {check.name}: {check.detail}")
        if check.advice:
            lines.append(f"       -> {check.advice}")
    lines.append("All checks passed." if report.ok else "Some checks failed; follow the advice above.")
    return "\n".join(lines)
