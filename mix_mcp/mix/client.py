"""MixClient: one pooled async HTTP client for the process, and the only code that talks to Mix.

Retries are decided here from one fact the caller passes, whether a repeat is safe:

* A safe request (read, or idempotent write) is repeated after a connection failure, a timeout, a
  connection closed mid-answer, and HTTP 408, 429 and 5xx (but 501 and 505, which a repeat cannot
  cure), with exponential backoff and full jitter, never sooner than ``Retry-After`` asks.
* An unsafe write (create, fork) is repeated only when no byte of it left (the connection was never
  made, or a pooled one was closed by Mix as the request head was written: ``wire_trace``), so it
  can never reach Mix twice; when its outcome is unknown the error says so and how to check.

Every call ends within ``call_timeout`` (retries and back-off included, enforced by a cancel scope
that also aborts the request in flight and drops its connection); no retry starts after
``retry_deadline``. Every answer is read under a size cap and checked against the contract before
it travels further, and any text made from it is passed through the ``Redactor``.
"""

from __future__ import annotations

import asyncio
import email.utils
import http.cookiejar
import json
import logging
import math
import random
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Final
from urllib.parse import quote, urlencode, urlsplit

import anyio
import httpx2
from pydantic import ConfigDict, TypeAdapter, ValidationError

from mix_mcp._version import __version__
from mix_mcp.config import Settings
from mix_mcp.mix import answers
from mix_mcp.mix.endpoints import (
    CREATE_SESSION,
    DELETE_SESSION,
    DELETE_SESSION_FILE,
    EXPORT_SESSION,
    FORK_SESSION,
    GET_SESSION,
    GET_SESSION_FILE,
    HEALTH_CHECK,
    LIST_SESSION_FILES,
    LIST_SESSIONS,
    REWIND_SESSION,
    STREAM_EVENTS,
    UPDATE_SESSION_CALLBACKS,
    UPLOAD_SESSION_FILE,
    Endpoint,
)
from mix_mcp.mix.errors import (
    PLAIN_HTTP_REASON,
    AnswerTooLargeError,
    ErrorHints,
    MixAPIError,
    MixMCPError,
    MixResponseError,
    MixTimeoutError,
    MixUnreachableError,
    OperationUnavailableError,
    TruncatedAnswerError,
    WrongBaseURLError,
    body_snippet,
)
from mix_mcp.mix.json_text import parse_json
from mix_mcp.mix.models import CallbackInput, ErrorResponse, ExportSession, FileInfo, SessionData
from mix_mcp.mix.wire_trace import WireTrace

try:
    from mix_mcp.mix import lean_http
except ImportError:  # httptools has no wheel here (not CPython): every request goes through httpx2
    lean_http = None  # type: ignore[assignment]
from mix_mcp.observe.logs import log_event
from mix_mcp.observe.redaction import Redactor
from mix_mcp.observe.telemetry import http_attempt_span

logger = logging.getLogger("mix_mcp.client")

#: Statuses a repeat can cure: timeouts, rate limits and server or gateway failures.
RETRYABLE_STATUS: Final = frozenset({408, 429, *range(500, 600)} - {501, 505})
_BACKOFF_BASE: Final = 0.2
_BACKOFF_CAP: Final = 4.0
#: Failures that prove the request never left this process: safe to repeat even for create and fork.
_NEVER_SENT: Final = (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout)
#: Fewest bytes between two progress reports, and how many reports a body of known size gets at most.
_PROGRESS_STEP_BYTES: Final = 256 * 1024
_PROGRESS_REPORTS: Final = 50
_CONTENT_TYPE_CHARS: Final = 100
#: How much of a body is redacted before a snippet is cut from it: far more than any snippet shows, so that
#: no prefix of a secret survives the cut, and far less than a 20 MB transcript.
SNIPPET_SOURCE_BYTES: Final = 64 * 1024
SESSION: Final = TypeAdapter(SessionData)
#: Adapters of composite types are built at first use, like the models they hold (``defer_build``).
_LATER: Final = ConfigDict(defer_build=True)
SESSION_LIST: Final = TypeAdapter(list[SessionData], config=_LATER)
TRANSCRIPT: Final = TypeAdapter(ExportSession)
FILE_INFO: Final = TypeAdapter(FileInfo)
#: A session's files; ``null`` for none is read as an empty list, as for sessions.
FILE_LIST: Final = TypeAdapter(list[FileInfo] | None, config=_LATER)


ProgressFn = Callable[[int, int | None], Awaitable[None]]
"""Told the bytes of Mix's answer received so far, and its total size when Mix declared one."""


class UnsafeIdError(MixMCPError, ValueError):
    """An id that no encoding can keep inside one path segment ('.' and '..')."""


def encode_segment(value: str) -> str:
    """Percent-encode ``value`` as exactly one path segment.

    ``quote(safe="")`` turns '/', '?', '#', '%' and every non-ASCII or control byte into escapes,
    so an id can never add a segment, a query or a fragment. Dot segments are refused: URL
    normalisation (here or in any proxy) would turn them into a step up the path.
    """
    if value in (".", ".."):
        raise UnsafeIdError(f"{value!r} is not a valid session or message id")
    return quote(value, safe="")


@dataclass(frozen=True, slots=True)
class Upload:
    """A file for a multipart upload (``uploadSessionFile``): Mix reads the part named ``file``."""

    filename: str
    content: bytes
    content_type: str = "application/octet-stream"

    def encoded(self) -> tuple[bytes, str]:
        """The multipart body and its Content-Type (with the boundary), built once so a retry sends the same bytes.

        httpx2's own multipart encoder does the work, so the quoting of the file name follows its rules.
        """
        request = httpx2.Request(
            "POST", "http://mix.invalid/", files={"file": (self.filename, self.content, self.content_type)}
        )
        return request.read(), request.headers["content-type"]


@dataclass(frozen=True, slots=True)
class Download:
    """A file Mix served: its bytes (read under the call's size limit) and their media type."""

    content_type: str
    content: bytes


@dataclass(frozen=True, slots=True)
class ReadLimit:
    """How much of an answer is read before giving up, and what the agent is told to do when it is more."""

    max_bytes: int
    #: The next step for an answer over the limit; ``None``: the ``--max-response-bytes`` advice.
    advice: str | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """One HTTP answer, read whole (under the size cap)."""

    status: int
    content_type: str
    body: bytes | bytearray
    retry_after: float | None


@dataclass(frozen=True, slots=True)
class HealthProbe:
    """What one readiness probe of Mix found. ``problem`` is short and names no URL or credential."""

    ready: bool
    latency_ms: float
    status: int | None = None
    problem: str | None = None


@dataclass(slots=True)
class CallStats:
    """What one call cost; filled in as it goes so that logs can report it even on failure."""

    attempts: int = 0
    status: int | None = None
    #: Whether an attempt may have reached Mix (anything but a failed connection).
    reached: bool = False
    #: Bytes of the last answer's body (a size hint for how the result is written out).
    received: int = 0


class MixClient:
    """Async client for the eight Mix sessions operations."""

    def __init__(self, settings: Settings, *, transport: httpx2.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        self.redactor = Redactor.from_settings(settings)
        self._base = settings.base_url.rstrip("/")
        self._display_base = settings.display_base_url.rstrip("/")
        parts = urlsplit(settings.base_url)
        #: The base URL's own path ("" for a Mix root), so that messages show the full path requested.
        self._base_path = parts.path.rstrip("/")
        self._root_confirmed = False
        self._server_address = parts.hostname
        self._server_port = parts.port
        headers = {"Accept": "application/json", "User-Agent": f"mix-mcp/{__version__}"}
        headers.update(settings.extra_headers)
        if settings.api_key:
            headers["Authorization"] = f"Bearer {settings.api_key}"
        self._lean = _lean_pool(settings, headers) if transport is None else None
        self._lean_heads = _lean_heads(settings, headers) if self._lean is not None else {}
        self._headers = headers
        self._transport = transport
        self._http_client: httpx2.AsyncClient | None = None

    @property
    def _http(self) -> httpx2.AsyncClient:
        """The httpx2 client, made on first use: with the lean lane a session of reads may never need it.

        Making one costs tens of milliseconds (its TLS context loads the CA bundle), which a stdio
        server would otherwise pay at every start.
        """
        if self._http_client is None:
            settings = self.settings
            self._http_client = httpx2.AsyncClient(
                headers=self._headers,
                timeout=httpx2.Timeout(settings.read_timeout, connect=settings.connect_timeout),
                limits=httpx2.Limits(
                    max_connections=100, max_keepalive_connections=20, keepalive_expiry=settings.keepalive_expiry
                ),
                transport=self._transport,
                follow_redirects=False,
                trust_env=False,
                # Stateless: no cookie an upstream sets is ever sent back (nor can it carry an echoed secret).
                cookies=http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(allowed_domains=[])),
            )
        return self._http_client

    async def __aenter__(self) -> MixClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._lean is not None:
            self._lean.close()
        if self._http_client is not None:
            await self._http_client.aclose()

    async def probe_health(self, within: float) -> HealthProbe:
        """One ``GET /health`` without retries: is Mix answering, and how fast? Never raises.

        Only the status line is awaited; the body is not read, so a probe costs Mix next to nothing.
        """
        started = time.monotonic()
        status: int | None = None
        problem: str | None = None
        try:
            async with self._http.stream("GET", self._base + HEALTH_CHECK.path, timeout=within) as response:
                status = response.status_code
        except httpx2.TimeoutException:
            problem = f"no answer within {within:g} s"
        except httpx2.TransportError as failure:
            problem = _describe_transport_error(failure)
        latency_ms = round((time.monotonic() - started) * 1000, 1)
        if status is not None and not 200 <= status < 300:
            problem = f"HTTP {status} from its health check"
        return HealthProbe(problem is None, latency_ms, status, problem)

    def advise(self, error: MixMCPError, hints: ErrorHints) -> str:
        """``error`` as the agent reads it, with every configured secret masked: the one way out for error text."""
        return self.redactor.text(error.describe(hints))

    def path_for(self, endpoint: Endpoint, session_id: str | None = None, filename: str | None = None) -> str:
        path = endpoint.path
        if endpoint.takes_id:
            if session_id is None:
                raise ValueError(f"{endpoint.operation_id} needs a session id")
            path = path.replace("{id}", encode_segment(session_id))
        if "{filename}" in path:
            if filename is None:
                raise ValueError(f"{endpoint.operation_id} needs a file name")
            path = path.replace("{filename}", encode_segment(filename))
        return path

    async def send(
        self,
        endpoint: Endpoint,
        *,
        session_id: str | None = None,
        query: Mapping[str, str] | None = None,
        body: Any = None,
        idempotent: bool,
        operation: str | None = None,
        expect: TypeAdapter[Any] | None = None,
        stats: CallStats | None = None,
        progress: ProgressFn | None = None,
        filename: str | None = None,
        upload: Upload | None = None,
        raw: bool = False,
        limit: ReadLimit | None = None,
    ) -> Any:
        """Send one operation and return its JSON (``None`` for an empty success), or raise a MixMCPError.

        Session files: ``filename`` fills the path's ``{filename}``; ``upload`` sends a multipart body
        instead of JSON; ``raw`` returns the answer as a ``Download`` instead of decoding JSON; ``limit``
        reads at most that many bytes (never more than ``--max-response-bytes``) and says what to do
        when the answer is larger.

        ``idempotent`` says whether repeating the request is harmless; when it is not, only a
        request that never left this process (connect failure) is tried again. ``expect`` checks
        the answer against the contract; the JSON is returned as Mix sent it, so fields that a
        newer Mix adds travel on untouched. ``progress`` hears how much of the answer has arrived, as
        it arrives (a few dozen reports at most, whatever its size); without it the read loop does no
        extra work.
        """
        stats = stats if stats is not None else CallStats()
        path = self.path_for(endpoint, session_id, filename)
        content = None if body is None else json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        headers: dict[str, str] = {"Content-Type": "application/json"} if content is not None else {}
        if upload is not None:
            content, headers["Content-Type"] = upload.encoded()
        if raw:
            headers["Accept"] = "*/*"
        settings = self.settings
        cap = settings.max_response_bytes if limit is None else min(limit.max_bytes, settings.max_response_bytes)
        read_limit = ReadLimit(cap, limit.advice if limit is not None and cap == limit.max_bytes else None)
        started = time.monotonic()
        try:
            with anyio.fail_after(settings.call_timeout):
                while True:
                    stats.attempts += 1
                    wire = WireTrace()
                    try:
                        with http_attempt_span(
                            endpoint.method, endpoint.path, stats.attempts, self._server_address, self._server_port
                        ) as attempt:
                            reply = await self._attempt(
                                endpoint.method, path, query, content, progress, wire, headers, read_limit
                            )
                            attempt.answered(reply.status)
                    except (httpx2.TransportError, MixResponseError) as failure:
                        # A reused connection Mix closed as the head was written: not one byte left either.
                        never_sent = isinstance(failure, _NEVER_SENT) or (
                            isinstance(failure, httpx2.TransportError) and wire.nothing_sent
                        )
                        stats.reached = stats.reached or not never_sent
                        error = self._transport_failure(failure, endpoint, path, operation)
                        transient = isinstance(failure, httpx2.TransportError | TruncatedAnswerError)
                        if (never_sent or (idempotent and transient)) and await self._pause(
                            stats, started, None, operation, _failure_kind(failure)
                        ):
                            continue
                        raise self._finish(error, stats, idempotent) from None
                    stats.reached = True
                    stats.status = reply.status
                    stats.received = len(reply.body)
                    if 200 <= reply.status < 300 and raw:
                        return Download(reply.content_type, bytes(reply.body))
                    if 200 <= reply.status < 300:
                        try:
                            reply = _immutable(reply)
                            data = self._decode_success(reply, endpoint, path, operation)
                            reply = _released(reply)
                            if expect is not None and data is not None:
                                self._conform(expect, data, reply, endpoint, path, operation)
                        except MixResponseError as bad_answer:
                            raise self._finish(bad_answer, stats, idempotent) from None
                        return data
                    if (
                        idempotent
                        and reply.status in RETRYABLE_STATUS
                        and not answers.no_rows(reply.status, reply.body)
                        and await self._pause(stats, started, reply.retry_after, operation, f"status {reply.status}")
                    ):
                        continue
                    raise self._finish(await self._refusal(reply, endpoint, path, operation), stats, idempotent)
        except TimeoutError:
            # The cancel scope aborted whatever was in flight; that attempt may have reached Mix.
            stats.reached = True
            late = MixTimeoutError(
                self._display_base + path, "whole call with retries", settings.call_timeout, operation, "call_timeout"
            )
            raise self._finish(late, stats, idempotent) from None

    @staticmethod
    def _finish(error: MixMCPError, stats: CallStats, idempotent: bool) -> MixMCPError:
        """Stamp what the agent needs to decide its next step: attempts, and whether a write may have happened."""
        error.attempts = stats.attempts
        status = getattr(error, "status", None)
        refused = isinstance(status, int) and 400 <= status < 500
        error.maybe_applied = not idempotent and stats.reached and not refused
        return error

    async def _attempt(
        self,
        method: str,
        path: str,
        query: Mapping[str, str] | None,
        content: bytes | None,
        progress: ProgressFn | None = None,
        wire: WireTrace | None = None,
        headers: Mapping[str, str] | None = None,
        read_limit: ReadLimit | None = None,
    ) -> Reply:
        if headers is None:
            headers = {"Content-Type": "application/json"} if content is not None else {}
        if (
            self._lean is not None
            and method == "GET"
            and progress is None
            and headers.keys() <= {"Accept"}
            and headers.get("Accept") in self._lean_heads
            and _on_asyncio()
        ):
            return await self._attempt_lean(path, query, headers.get("Accept"), read_limit)
        extensions = {"trace": wire} if wire is not None else None
        request = self._http.build_request(
            method, self._base + path, params=query, content=content, headers=headers or None, extensions=extensions
        )
        log_event(logger, logging.DEBUG, "mix_request", method=method, path=path, bytes=len(content or b""))
        started = time.monotonic()
        response = await self._http.send(request, stream=True)
        try:
            content_type = self.redactor.text(response.headers.get("content-type", ""))[:_CONTENT_TYPE_CHARS]
            limits = read_limit or ReadLimit(self.settings.max_response_bytes)
            limit = limits.max_bytes
            declared = _declared_length(response.headers.get("content-length"))
            if declared is not None and declared > limit:
                raise self._too_large(response.status_code, method, path, content_type, declared, limits)
            # One growing buffer, not a list of chunks joined at the end: a 20 MB transcript is held once.
            body = bytearray()
            step = max(_PROGRESS_STEP_BYTES, (declared or 0) // _PROGRESS_REPORTS)
            next_report = step
            try:
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > limit:
                        raise self._too_large(response.status_code, method, path, content_type, len(body), limits)
                    if progress is not None and len(body) >= next_report:
                        next_report = len(body) + step
                        await progress(len(body), declared)
            except httpx2.DecodingError:
                encoding = response.headers.get("content-encoding", "?")[:_CONTENT_TYPE_CHARS]
                raise MixResponseError(
                    response.status_code,
                    method,
                    path,
                    content_type,
                    f"could not be decoded (content-encoding {self.redactor.text(encoding)})",
                ) from None
            except (httpx2.NetworkError, httpx2.RemoteProtocolError):
                announced = f" of the {declared:,} announced" if declared is not None else ""
                raise TruncatedAnswerError(
                    response.status_code,
                    method,
                    path,
                    content_type,
                    f"was cut off: the connection closed after {len(body):,} bytes{announced}",
                    self._snippet(bytes(body), content_type),
                ) from None
            if progress is not None:
                await progress(len(body), declared if declared is not None else len(body))
            log_event(
                logger,
                logging.DEBUG,
                "mix_response",
                method=method,
                path=path,
                status=response.status_code,
                bytes=len(body),
                ms=round((time.monotonic() - started) * 1000, 1),
            )
            return Reply(
                response.status_code,
                content_type,
                body,
                parse_retry_after(response.headers.get("retry-after")),
            )
        finally:
            await response.aclose()

    async def _attempt_lean(
        self, path: str, query: Mapping[str, str] | None, accept: str | None, read_limit: ReadLimit | None
    ) -> Reply:
        """``_attempt`` for a GET on the lean lane (``lean_http``): the same answer, the same errors."""
        assert self._lean is not None
        target = self._base_path + path
        if query:
            target += "?" + urlencode(query)
        head = b"GET " + target.encode("ascii") + b" HTTP/1.1\r\n" + self._lean_heads[accept]
        log_event(logger, logging.DEBUG, "mix_request", method="GET", path=path, bytes=0)
        started = time.monotonic()
        limits = read_limit or ReadLimit(self.settings.max_response_bytes)
        try:
            answer = await self._lean.get(head, limits.max_bytes)
        except lean_http.AnswerTooLarge as large:
            content_type = self._content_type(large.headers)
            raise self._too_large(large.status, "GET", path, content_type, large.size, limits) from None
        except lean_http.AnswerNotDecodable as bad:
            encoding = _header_text(bad.headers.get(b"content-encoding", b"?"))[:_CONTENT_TYPE_CHARS]
            raise MixResponseError(
                bad.status,
                "GET",
                path,
                self._content_type(bad.headers),
                f"could not be decoded (content-encoding {self.redactor.text(encoding)})",
            ) from None
        except lean_http.AnswerCutOff as cut:
            content_type = self._content_type(cut.headers)
            announced = f" of the {cut.declared:,} announced" if cut.declared is not None else ""
            raise TruncatedAnswerError(
                cut.status,
                "GET",
                path,
                content_type,
                f"was cut off: the connection closed after {len(cut.body):,} bytes{announced}",
                self._snippet(bytes(cut.body), content_type),
            ) from None
        log_event(
            logger,
            logging.DEBUG,
            "mix_response",
            method="GET",
            path=path,
            status=answer.status,
            bytes=len(answer.body),
            ms=round((time.monotonic() - started) * 1000, 1),
        )
        retry_after = answer.headers.get(b"retry-after")
        return Reply(
            answer.status,
            self._content_type(answer.headers),
            answer.body,
            parse_retry_after(None if retry_after is None else _header_text(retry_after)),
        )

    def _content_type(self, headers: Mapping[bytes, bytes]) -> str:
        return self.redactor.text(_header_text(headers.get(b"content-type", b"")))[:_CONTENT_TYPE_CHARS]

    def _snippet(self, body: bytes | bytearray, content_type: str) -> str:
        # Redact before cutting, so that not even a prefix of a secret can survive the cut.
        return body_snippet(self.redactor.bytes(bytes(body[:SNIPPET_SOURCE_BYTES])), content_type)

    def _too_large(
        self, status: int, method: str, path: str, content_type: str, size: int, limits: ReadLimit | None = None
    ) -> MixResponseError:
        if limits is not None and limits.advice is not None:
            return AnswerTooLargeError(status, method, path, content_type, size, limits.max_bytes, limits.advice)
        limit = self.settings.max_response_bytes
        reason = (
            f"is larger than the {limit:,}-byte limit (at least {size:,} bytes); to read it, raise "
            "--max-response-bytes / MIX_MAX_RESPONSE_BYTES above that size"
        )
        if method == LIST_SESSIONS.method and path == LIST_SESSIONS.path:
            # One oversized session (a huge title) makes every list this large, until it is gone.
            reason += (
                "; a list this large usually means one session holds a huge field such as its title: list once "
                "with the higher limit, then delete_session that session (or fix it in Mix) so lists fit again"
            )
        return MixResponseError(status, method, path, content_type, reason)

    async def _pause(
        self, stats: CallStats, started: float, retry_after: float | None, operation: str | None, reason: str
    ) -> bool:
        """Sleep before the next attempt, or say no when the attempt or time budget is spent."""
        settings = self.settings
        if stats.attempts > settings.max_retries:
            return False
        ceiling = min(_BACKOFF_CAP, _BACKOFF_BASE * 2 ** (stats.attempts - 1))
        delay = random.uniform(0, ceiling)  # noqa: S311 (jitter, not cryptography)
        if retry_after is not None:
            delay = max(delay, retry_after)
        # A retry that cannot start before the retry deadline, or finish before the call deadline,
        # is not worth starting: the agent gets the real error now instead of a timeout later.
        budget = min(settings.retry_deadline, settings.call_timeout)
        elapsed = time.monotonic() - started
        if elapsed + delay >= budget:
            log_event(
                logger,
                logging.DEBUG,
                "retry_skipped",
                tool=operation,
                attempt=stats.attempts,
                reason=reason,
                delay_s=round(delay, 3),
                budget_left_s=round(budget - elapsed, 3),
            )
            return False
        log_event(
            logger,
            logging.INFO,
            "retry",
            tool=operation,
            attempt=stats.attempts,
            reason=reason,
            delay_s=round(delay, 3),
            retry_after_s=retry_after,
        )
        await anyio.sleep(delay)
        return True

    def _transport_failure(
        self, failure: Exception, endpoint: Endpoint, path: str, operation: str | None
    ) -> MixMCPError:
        if isinstance(failure, MixResponseError):
            failure.operation = operation
            return failure
        url = self._display_base + path
        if isinstance(failure, httpx2.ConnectTimeout):
            return MixTimeoutError(url, "connecting", self.settings.connect_timeout, operation, "connect_timeout")
        if isinstance(failure, httpx2.PoolTimeout):
            return MixTimeoutError(url, "waiting for a free connection", self.settings.read_timeout, operation)
        if isinstance(failure, httpx2.TimeoutException):
            return MixTimeoutError(url, "waiting for the answer", self.settings.read_timeout, operation)
        reason = _describe_transport_error(failure)
        return MixUnreachableError(url, reason, operation, emulator=self.settings.use_emulator)

    def _decode_success(self, reply: Reply, endpoint: Endpoint, path: str, operation: str | None) -> Any:
        if not reply.body or reply.body.isspace():
            if reply.status == 204 or endpoint.success_status == 204:
                return None
            raise MixResponseError(reply.status, endpoint.method, path, reply.content_type, "is empty", "", operation)
        try:
            return parse_json(reply.body)
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
            reason = "is not valid JSON" if "json" in reply.content_type.lower() else "is not JSON"
            if isinstance(exc, json.JSONDecodeError) and _ends_early(exc):
                reason = "is truncated JSON"
            raise MixResponseError(
                reply.status,
                endpoint.method,
                path,
                reply.content_type,
                reason,
                self._snippet(reply.body, reply.content_type),
                operation,
            ) from None

    def _conform(
        self, expect: TypeAdapter[Any], data: Any, reply: Reply, endpoint: Endpoint, path: str, operation: str | None
    ) -> None:
        try:
            expect.validate_python(data, strict=True)
        except ValidationError as exc:
            problems = [
                f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors(include_url=False)
            ]
            raise MixResponseError(
                reply.status,
                endpoint.method,
                path,
                reply.content_type,
                "does not fit the Mix sessions contract",
                self._snippet(reply.body, reply.content_type),
                operation,
                problems,
            ) from None

    async def _refusal(self, reply: Reply, endpoint: Endpoint, path: str, operation: str | None) -> MixMCPError:
        """The error an answer means: a missing operation or a wrong base URL read apart from a missing session.

        A 404/405 that is Go's router text (or not in Mix's envelope at all) costs one ``GET /health``
        beside the base URL, once until it succeeds: if that is missing too, the base URL is wrong.
        """
        error = self._api_error(reply, endpoint, path, operation)
        error.missing = answers.no_rows(reply.status, reply.body)
        router = answers.router_refusal(reply.status, reply.content_type, reply.body)
        if router is None and answers.envelope_route_refusal(reply.status, error.message):
            router = "route"
        if reply.status not in (404, 405) or (router is None and error.envelope_ok):
            return error
        if not await self._root_answers():
            return WrongBaseURLError(endpoint.method, self._base_path + path, self._display_base, operation)
        if router is not None:
            answer = body_snippet(bytes(reply.body[:64])) if not error.envelope_ok else error.message
            return OperationUnavailableError(reply.status, endpoint.method, path, answer, operation)
        return error

    async def _root_answers(self) -> bool:
        """Whether Mix's health check answers beside the base URL (remembered once it has)."""
        if self._root_confirmed:
            return True
        try:
            response = await self._http.get(self._base + HEALTH_CHECK.path, timeout=self.settings.connect_timeout)
        except httpx2.HTTPError:
            return True  # no evidence against the base URL; keep the original error
        self._root_confirmed = response.status_code != 404
        return self._root_confirmed

    def _api_error(self, reply: Reply, endpoint: Endpoint, path: str, operation: str | None) -> MixAPIError:
        try:
            envelope = ErrorResponse.model_validate_json(reply.body)
        except ValidationError:
            snippet = self._snippet(reply.body, reply.content_type)
            return MixAPIError(
                reply.status,
                endpoint.method,
                path,
                snippet or "(empty body)",
                None,
                operation,
                envelope_ok=False,
                retry_after=reply.retry_after,
                content_type=reply.content_type,
            )
        message = body_snippet(self.redactor.bytes(envelope.error.message.encode("utf-8", "replace")), limit=1000)
        return MixAPIError(
            reply.status,
            endpoint.method,
            path,
            message,
            self.redactor.text(envelope.error.type)[:_CONTENT_TYPE_CHARS],
            operation,
            retry_after=reply.retry_after,
            content_type=reply.content_type,
        )

    async def open_event_stream(
        self, session_id: str, *, last_event_id: str | None, read_timeout: float, operation: str | None = None
    ) -> httpx2.Response:
        """Open ``GET /stream?sessionId=`` and return the response once Mix answered 200 with an event stream.

        The caller reads its body (``aiter_bytes``) and must ``aclose`` it. ``read_timeout`` bounds the wait
        for each chunk, which is what turns a silent stream (no heartbeat) into an error. Never retried
        here: ``events.SessionEvents`` decides when to reconnect, with ``Last-Event-ID``.
        """
        path = STREAM_EVENTS.path
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        request = self._http.build_request(
            "GET",
            self._base + path,
            params={"sessionId": session_id},
            headers=headers,
            timeout=httpx2.Timeout(read_timeout, connect=self.settings.connect_timeout),
        )
        log_event(logger, logging.DEBUG, "mix_stream_open", path=path, resume=last_event_id is not None)
        try:
            response = await self._http.send(request, stream=True)
        except httpx2.TransportError as failure:
            raise self._transport_failure(failure, STREAM_EVENTS, path, operation) from None
        content_type = self.redactor.text(response.headers.get("content-type", ""))[:_CONTENT_TYPE_CHARS]
        if response.status_code == 200 and content_type.lower().startswith("text/event-stream"):
            return response
        try:
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > SNIPPET_SOURCE_BYTES:
                    break
        except httpx2.TransportError:
            pass
        finally:
            await response.aclose()
        reply = Reply(response.status_code, content_type, body, parse_retry_after(response.headers.get("retry-after")))
        if 200 <= response.status_code < 300:
            raise MixResponseError(
                reply.status, "GET", path, content_type, "is not an event stream", self._snippet(body, content_type)
            )
        raise self._api_error(reply, STREAM_EVENTS, path, operation)

    # One method per operation, for library use; the MCP tools go through ``send`` via the operation table.

    async def list_sessions(self, include_subagents: bool = False) -> list[SessionData]:
        query = {"includeSubagents": "true"} if include_subagents else None
        # Early Mix versions send ``null`` for an empty list.
        return SESSION_LIST.validate_python(
            await self.send(LIST_SESSIONS, query=query, idempotent=True, expect=SESSION_LIST) or []
        )

    async def create_session(self, title: str, **fields: Any) -> SessionData:
        return SessionData.model_validate(
            await self.send(CREATE_SESSION, body={"title": title, **fields}, idempotent=False, expect=SESSION)
        )

    async def get_session(self, session_id: str) -> SessionData:
        return SessionData.model_validate(
            await self.send(GET_SESSION, session_id=session_id, idempotent=True, expect=SESSION)
        )

    async def delete_session(self, session_id: str) -> None:
        await self.send(DELETE_SESSION, session_id=session_id, idempotent=True)

    async def update_session_callbacks(self, session_id: str, callbacks: list[CallbackInput]) -> SessionData:
        body = {"callbacks": [c.model_dump(exclude_none=True) for c in callbacks]}
        raw = await self.send(
            UPDATE_SESSION_CALLBACKS, session_id=session_id, body=body, idempotent=True, expect=SESSION
        )
        return SessionData.model_validate(raw)

    async def export_session(self, session_id: str) -> ExportSession:
        return ExportSession.model_validate(
            await self.send(EXPORT_SESSION, session_id=session_id, idempotent=True, expect=TRANSCRIPT)
        )

    async def fork_session(self, session_id: str, message_index: int, title: str | None = None) -> SessionData:
        body: dict[str, Any] = {"messageIndex": message_index}
        if title is not None:
            body["title"] = title
        return SessionData.model_validate(
            await self.send(FORK_SESSION, session_id=session_id, body=body, idempotent=False, expect=SESSION)
        )

    async def rewind_session(self, session_id: str, message_id: str, cleanup_media: bool = False) -> SessionData:
        # Always sent: Mix versions disagree on what an omitted cleanupMedia means.
        body: dict[str, Any] = {"messageId": message_id, "cleanupMedia": cleanup_media}
        raw = await self.send(REWIND_SESSION, session_id=session_id, body=body, idempotent=True, expect=SESSION)
        return SessionData.model_validate(raw)

    # A session's files (Mix from Feb 2026 on).

    async def list_session_files(self, session_id: str) -> list[FileInfo]:
        raw = await self.send(LIST_SESSION_FILES, session_id=session_id, idempotent=True, expect=FILE_LIST)
        return FILE_LIST.validate_python(raw) or []

    async def get_session_file(
        self, session_id: str, filename: str, *, thumb: str | None = None, limit: ReadLimit | None = None
    ) -> Download:
        """The file's bytes (a thumbnail with ``thumb``), read under ``limit`` (``--max-response-bytes`` at most)."""
        query = {"thumb": thumb} if thumb is not None else None
        download = await self.send(
            GET_SESSION_FILE,
            session_id=session_id,
            filename=filename,
            query=query,
            idempotent=True,
            raw=True,
            limit=limit,
        )
        assert isinstance(download, Download)
        return download

    async def upload_session_file(self, session_id: str, upload: Upload) -> FileInfo:
        # Idempotent: Mix writes the file under its name, so the same upload twice leaves the same file.
        raw = await self.send(
            UPLOAD_SESSION_FILE, session_id=session_id, upload=upload, idempotent=True, expect=FILE_INFO
        )
        return FileInfo.model_validate(raw)

    async def delete_session_file(self, session_id: str, filename: str) -> None:
        await self.send(DELETE_SESSION_FILE, session_id=session_id, filename=filename, idempotent=True)


def _ends_early(error: json.JSONDecodeError) -> bool:
    """Whether JSON failed because it stopped, not because it went wrong (a string still open counts)."""
    return error.msg.startswith("Unterminated string") or error.pos >= len(error.doc.rstrip()) - 1


def _failure_kind(failure: Exception) -> str:
    if isinstance(failure, MixResponseError):
        return "cut off answer"
    return type(failure).__name__


def _header_text(value: bytes) -> str:
    """A header value as httpx2 decodes it: ASCII, else UTF-8, else Latin-1."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def _on_asyncio() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


#: Headers the lean lane writes itself (or never sends); a configured one of these keeps every request on httpx2.
_LEAN_OWN_HEADERS: Final = frozenset({"host", "accept-encoding", "connection", "content-length", "transfer-encoding"})


def _lean_pool(settings: Settings, headers: Mapping[str, str]) -> lean_http.LeanPool | None:
    """The lean GET lane for this Mix, or ``None`` where only httpx2 can send exactly the same request.

    Plain ``http://`` with no credentials, query or fragment in the base URL, a path httpx2 would send
    unchanged, and header values that are one line of Latin-1 (httpx2 refuses the others anyway).
    """
    if lean_http is None:
        return None
    parts = urlsplit(settings.base_url)
    if parts.scheme != "http" or not parts.hostname or parts.username is not None or parts.query or parts.fragment:
        return None
    try:
        port = parts.port or 80
        if httpx2.URL(settings.base_url).raw_path != (parts.path or "/").encode("ascii"):
            return None
        for name, value in headers.items():
            if name.lower() in _LEAN_OWN_HEADERS:
                return None
            (name + value).encode("latin-1")
            if "\r" in name + value or "\n" in name + value:
                return None
    except (ValueError, UnicodeError, httpx2.InvalidURL):
        return None
    return lean_http.LeanPool(
        parts.hostname,
        port,
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        keepalive_expiry=settings.keepalive_expiry,
    )


def _lean_heads(settings: Settings, headers: Mapping[str, str]) -> dict[str | None, bytes]:
    """The request head after its first line, by the Accept a request asks for (none: the client's own)."""
    host = urlsplit(settings.base_url).netloc

    def render(accept: str | None) -> bytes:
        fields = {"Host": host, "Accept-Encoding": "gzip, deflate", "Connection": "keep-alive", **headers}
        if accept is not None:
            fields["Accept"] = accept
        return "".join(f"{name}: {value}\r\n" for name, value in fields.items()).encode("latin-1") + b"\r\n"

    return {None: render(None), "*/*": render("*/*")}


def _declared_length(value: str | None) -> int | None:
    if value is None:
        return None
    value = value.strip()
    return int(value) if value.isascii() and value.isdigit() else None


def _causes(failure: BaseException) -> list[BaseException]:
    """The exception and what it wraps (anyio hides 'refused' two levels down), bounded against cycles."""
    chain: list[BaseException] = []
    current: BaseException | None = failure
    while current is not None and len(chain) < 8 and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


#: What OpenSSL says when the server's first bytes are not TLS: most often an HTTP answer to the handshake.
_NOT_TLS: Final = ("wrong version number", "record layer failure", "packet length too long", "http request")


def _describe_transport_error(failure: Exception) -> str:
    if isinstance(failure, httpx2.ConnectError):
        chain = _causes(failure)
        if any(isinstance(c, ConnectionRefusedError) for c in chain):
            return "connection refused"
        text = " ".join(str(c) for c in chain).lower()
        if any(isinstance(c, ssl.SSLError) for c in chain) and any(sign in text for sign in _NOT_TLS):
            return PLAIN_HTTP_REASON
        if "refused" in text:
            return "connection refused"
        if "name or service" in text or "nodename" in text or "getaddrinfo" in text or "name resolution" in text:
            return "host name could not be resolved"
        return "could not connect"
    if isinstance(failure, httpx2.RemoteProtocolError):
        return "the connection closed before a complete answer"
    if isinstance(failure, httpx2.ReadError | httpx2.WriteError):
        return "the connection was reset"
    return type(failure).__name__


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds from now; it may be delta-seconds or an HTTP date. Junk means 'not said'."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.replace(".", "", 1).isdigit():
        seconds = float(value)
        return seconds if math.isfinite(seconds) else None
    try:
        moment = email.utils.parsedate_to_datetime(value)
        return max(0.0, moment.timestamp() - time.time())
    except (TypeError, ValueError, OverflowError, IndexError):
        return None


#: Bodies at least this large are let go once parsed (only their head is kept for error messages).
_RELEASE_BYTES: Final = 1024 * 1024


def _immutable(reply: Reply) -> Reply:
    """``reply`` with a large body as ``bytes``, the growing buffer it was read into let go.

    pydantic-core copies a ``bytearray`` before parsing it but reads ``bytes`` in place: copying
    here and freeing the buffer at once keeps the body held once, not twice, while it is parsed.
    """
    body = reply.body
    if len(body) < _RELEASE_BYTES or not isinstance(body, bytearray):
        return reply
    kept = replace(reply, body=bytes(body))
    body.clear()  # the connection's reader may still hold it until its next answer
    return kept


def _released(reply: Reply) -> Reply:
    """``reply`` without the bulk of a large body, which its parsed JSON now stands for.

    The head stays for the contract check's error message; freeing the rest before the result is
    shaped and written keeps a large export's peak memory down.
    """
    body = reply.body
    if len(body) < _RELEASE_BYTES:
        return reply
    return replace(reply, body=body[:SNIPPET_SOURCE_BYTES])
