"""MixClient: one pooled async HTTP client for the process, and the only code that talks to Mix.

Retries are decided here from one fact the caller passes, whether a repeat is safe, so that a
non-idempotent write (create, fork) can never reach Mix twice: it is only retried when the
connection was never made. Every answer is read under a size cap and checked against the
contract before it travels further.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote

import anyio
import httpx2
from pydantic import TypeAdapter, ValidationError

from mix_mcp._version import __version__
from mix_mcp.config import Settings
from mix_mcp.endpoints import (
    CREATE_SESSION,
    DELETE_SESSION,
    EXPORT_SESSION,
    FORK_SESSION,
    GET_SESSION,
    HEALTH_CHECK,
    LIST_SESSIONS,
    REWIND_SESSION,
    UPDATE_SESSION_CALLBACKS,
    Endpoint,
)
from mix_mcp.errors import (
    MixAPIError,
    MixMCPError,
    MixResponseError,
    MixTimeoutError,
    MixUnreachableError,
    body_snippet,
)
from mix_mcp.models import CallbackInput, ErrorResponse, ExportSession, SessionData

logger = logging.getLogger("mix_mcp.client")

RETRYABLE_STATUS: Final = frozenset({408, 429, 500, 502, 503, 504})
_BACKOFF_BASE: Final = 0.2
_BACKOFF_CAP: Final = 4.0
_NEVER_SENT: Final = (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout)
SESSION: Final = TypeAdapter(SessionData)
SESSION_LIST: Final = TypeAdapter(list[SessionData])
TRANSCRIPT: Final = TypeAdapter(ExportSession)


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
class Reply:
    """One HTTP answer, read whole (under the size cap)."""

    status: int
    content_type: str
    body: bytes
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


class MixClient:
    """Async client for the eight Mix sessions operations."""

    def __init__(self, settings: Settings, *, transport: httpx2.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        self._base = settings.base_url.rstrip("/")
        self._display_base = settings.display_base_url.rstrip("/")
        headers = {"Accept": "application/json", "User-Agent": f"mix-mcp/{__version__}"}
        headers.update(settings.extra_headers)
        if settings.api_key:
            headers["Authorization"] = f"Bearer {settings.api_key}"
        self._http = httpx2.AsyncClient(
            headers=headers,
            timeout=httpx2.Timeout(settings.read_timeout, connect=settings.connect_timeout),
            limits=httpx2.Limits(max_connections=100, max_keepalive_connections=20),
            transport=transport,
            follow_redirects=False,
            trust_env=False,
        )

    async def __aenter__(self) -> MixClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

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

    def path_for(self, endpoint: Endpoint, session_id: str | None = None) -> str:
        if endpoint.takes_id:
            if session_id is None:
                raise ValueError(f"{endpoint.operation_id} needs a session id")
            return endpoint.path.replace("{id}", encode_segment(session_id))
        return endpoint.path

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
    ) -> Any:
        """Send one operation and return its JSON (``None`` for an empty success), or raise a MixMCPError.

        ``idempotent`` says whether repeating the request is harmless; when it is not, only a
        request that never left this process (connect failure) is tried again. ``expect`` checks
        the answer against the contract; the JSON is returned as Mix sent it, so fields that a
        newer Mix adds travel on untouched.
        """
        stats = stats if stats is not None else CallStats()
        path = self.path_for(endpoint, session_id)
        content = None if body is None else json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        settings = self.settings
        started = time.monotonic()
        try:
            with anyio.fail_after(settings.call_timeout):
                while True:
                    stats.attempts += 1
                    try:
                        reply = await self._attempt(endpoint.method, path, query, content)
                    except (httpx2.TransportError, MixResponseError) as failure:
                        error = self._transport_failure(failure, endpoint, path, operation)
                        retry = _NEVER_SENT if not idempotent else (httpx2.TransportError,)
                        if isinstance(failure, retry) and await self._pause(stats.attempts, started, None):
                            continue
                        raise error from None
                    stats.status = reply.status
                    if 200 <= reply.status < 300:
                        data = self._decode_success(reply, endpoint, path, operation)
                        if expect is not None and data is not None:
                            self._conform(expect, data, reply, endpoint, path, operation)
                        return data
                    if (
                        idempotent
                        and reply.status in RETRYABLE_STATUS
                        and await self._pause(stats.attempts, started, reply.retry_after)
                    ):
                        continue
                    raise self._api_error(reply, endpoint, path, operation)
        except TimeoutError:
            raise MixTimeoutError(
                self._display_base + path, "whole call, retries included", settings.call_timeout, operation
            ) from None

    async def _attempt(self, method: str, path: str, query: Mapping[str, str] | None, content: bytes | None) -> Reply:
        headers = {"Content-Type": "application/json"} if content is not None else None
        request = self._http.build_request(method, self._base + path, params=query, content=content, headers=headers)
        logger.debug("mix request %s %s", method, path)
        response = await self._http.send(request, stream=True)
        try:
            content_type = response.headers.get("content-type", "")
            limit = self.settings.max_response_bytes
            declared = response.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > limit:
                raise self._too_large(response.status_code, method, path, content_type, int(declared))
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > limit:
                    raise self._too_large(response.status_code, method, path, content_type, size)
                chunks.append(chunk)
            return Reply(
                response.status_code,
                content_type,
                b"".join(chunks),
                parse_retry_after(response.headers.get("retry-after")),
            )
        finally:
            await response.aclose()

    def _too_large(self, status: int, method: str, path: str, content_type: str, size: int) -> MixResponseError:
        limit = self.settings.max_response_bytes
        return MixResponseError(
            status,
            method,
            path,
            content_type,
            f"is larger than the {limit:,}-byte limit (at least {size:,} bytes; raise MIX_MAX_RESPONSE_BYTES "
            "if this is expected)",
        )

    async def _pause(self, attempts: int, started: float, retry_after: float | None) -> bool:
        """Sleep before the next attempt, or say no when the attempt or time budget is spent."""
        settings = self.settings
        if attempts > settings.max_retries:
            return False
        delay = random.uniform(0, min(_BACKOFF_CAP, _BACKOFF_BASE * 2 ** (attempts - 1)))  # noqa: S311 (jitter)
        if retry_after is not None:
            delay = max(delay, retry_after)
        elapsed = time.monotonic() - started
        if elapsed + delay > settings.retry_deadline:
            return False
        logger.info("retrying in %.2fs after attempt %d", delay, attempts)
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
            return MixTimeoutError(url, "connecting", self.settings.connect_timeout, operation)
        if isinstance(failure, httpx2.TimeoutException):
            return MixTimeoutError(url, "waiting for the answer", self.settings.read_timeout, operation)
        reason = _describe_transport_error(failure)
        return MixUnreachableError(url, reason, operation)

    def _decode_success(self, reply: Reply, endpoint: Endpoint, path: str, operation: str | None) -> Any:
        if not reply.body.strip():
            if reply.status == 204 or endpoint.success_status == 204:
                return None
            raise MixResponseError(reply.status, endpoint.method, path, reply.content_type, "is empty", "", operation)
        try:
            return json.loads(reply.body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            reason = "is not valid JSON" if "json" in reply.content_type.lower() else "is not JSON"
            if isinstance(exc, json.JSONDecodeError) and exc.pos >= len(reply.body.rstrip()) - 1:
                reason = "is truncated JSON"
            raise MixResponseError(
                reply.status,
                endpoint.method,
                path,
                reply.content_type,
                reason,
                body_snippet(reply.body, reply.content_type),
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
                "",
                operation,
                problems,
            ) from None

    def _api_error(self, reply: Reply, endpoint: Endpoint, path: str, operation: str | None) -> MixAPIError:
        try:
            envelope = ErrorResponse.model_validate_json(reply.body)
        except ValidationError:
            snippet = body_snippet(reply.body, reply.content_type)
            return MixAPIError(
                reply.status,
                endpoint.method,
                path,
                snippet or "(empty body)",
                None,
                operation,
                envelope_ok=False,
            )
        return MixAPIError(reply.status, endpoint.method, path, envelope.error.message, envelope.error.type, operation)

    # One method per operation, for library use; the MCP tools go through ``send`` via the operation table.

    async def list_sessions(self, include_subagents: bool = False) -> list[SessionData]:
        query = {"includeSubagents": "true"} if include_subagents else None
        return SESSION_LIST.validate_python(
            await self.send(LIST_SESSIONS, query=query, idempotent=True, expect=SESSION_LIST)
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

    async def rewind_session(self, session_id: str, message_id: str, cleanup_media: bool | None = None) -> SessionData:
        body: dict[str, Any] = {"messageId": message_id}
        if cleanup_media is not None:
            body["cleanupMedia"] = cleanup_media
        raw = await self.send(REWIND_SESSION, session_id=session_id, body=body, idempotent=True, expect=SESSION)
        return SessionData.model_validate(raw)


def _describe_transport_error(failure: Exception) -> str:
    if isinstance(failure, httpx2.ConnectError):
        text = str(failure).lower()
        if "refused" in text:
            return "connection refused"
        if "name or service" in text or "nodename" in text or "getaddrinfo" in text:
            return "host name could not be resolved"
        return "could not connect"
    if isinstance(failure, httpx2.RemoteProtocolError):
        return "the connection closed before a complete answer"
    if isinstance(failure, httpx2.ReadError | httpx2.WriteError):
        return "the connection was reset"
    return type(failure).__name__


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds from now; it may be delta-seconds or an HTTP date."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())
