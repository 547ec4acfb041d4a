"""The authorization server's metadata and signing keys, fetched within bounds and shared between requests.

The issuer's metadata (RFC 8414, or OpenID Connect discovery) names its JWKS. Keys are fetched once,
kept for ``KEYS_MAX_AGE_SECONDS``, and fetched again when a token names a key id not among them (the
issuer rotated its keys). Every fetch is bounded (``bounds.py``): a total time, a size read as a
stream and refused beyond the limit. A token whose key is already held never waits for a fetch
another token started: the keys are looked up without a lock (only the token that finds the keys
past their age waits, for the refresh it starts). Fetches are single-flight: tokens arriving while one runs
wait for that one instead of starting their own. After a fetch for an unknown key id, no other such
fetch happens for ``UNKNOWN_KID_COOLDOWN_SECONDS``, and after a failed fetch the failure is answered
at once for ``FAILED_FETCH_RETRY_SECONDS``: made-up key ids or a dead issuer cannot turn every request
into a fetch.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import anyio
import httpx2
import jwt

from mix_mcp.observe.logs import log_event
from mix_mcp.serving.auth.bounds import IssuerBounds

logger = logging.getLogger("mix_mcp.oauth")


class TokenRejected(Exception):
    """The token is not acceptable; the message says why, in words safe to send back to the client."""


class IssuerUnavailable(Exception):
    """The authorization server could not be asked (metadata, keys or introspection): try again later."""


class IssuerRefused(IssuerUnavailable):
    """The authorization server answered with an HTTP status other than 200."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class IssuerMetadata:
    """What this server needs from the authorization server's metadata document."""

    issuer: str
    jwks_uri: str | None
    introspection_endpoint: str | None


def discovery_urls(issuer: str) -> list[str]:
    """Where the metadata may live: RFC 8414's path-inserted form first, then OpenID Connect's appended form."""
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")
    inserted = urlunsplit((parts.scheme, parts.netloc, f"/.well-known/oauth-authorization-server{path}", "", ""))
    appended = f"{issuer.rstrip('/')}/.well-known/openid-configuration"
    oidc_inserted = urlunsplit((parts.scheme, parts.netloc, f"/.well-known/openid-configuration{path}", "", ""))
    return list(dict.fromkeys([inserted, appended, oidc_inserted]))


def _http_url(value: Any) -> str | None:
    """``value`` when it is an http(s) URL as a string (what metadata must hold), else ``None``."""
    if not isinstance(value, str):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    return value if parts.scheme in ("http", "https") and parts.netloc else None


def _short(url: str) -> str:
    """A URL as logs and errors show it: an issuer's document may name one of any length."""
    return url if len(url) <= 200 else url[:197] + "..."


async def fetch_json(
    http: httpx2.AsyncClient, url: str, what: str, bounds: IssuerBounds, method: str = "GET", **request: Any
) -> Any:
    """One JSON document from the authorization server, read as a stream within ``bounds``.

    The caller bounds the total time (``anyio.fail_after``); here the size is: a declared length
    over the limit is refused before the body is read, and a body is never read past the limit.
    Compressed answers are refused (identity was asked for), so the limit counts what is kept.
    """
    limit = bounds.max_document_bytes
    headers = {"Accept": "application/json", "Accept-Encoding": "identity"}
    where = _short(url)
    try:
        async with http.stream(method, url, headers=headers, **request) as response:
            if response.status_code != 200:
                raise IssuerRefused(f"{what} at {where} answered HTTP {response.status_code}", response.status_code)
            encoding = response.headers.get("content-encoding", "identity").strip().lower()
            if encoding not in ("", "identity"):
                raise IssuerUnavailable(f"{what} at {where} came compressed ({encoding[:20]}), not as asked")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise _too_large(what, where, limit, f"declares {declared[:30]} bytes")
            body = bytearray()
            async for chunk in response.aiter_bytes():  # identity: as received
                body.extend(chunk)
                if len(body) > limit:
                    raise _too_large(what, where, limit, "sent more")
    except httpx2.HTTPError as exc:
        raise IssuerUnavailable(f"cannot reach {what} at {where}: {type(exc).__name__}") from None
    except httpx2.InvalidURL:
        raise IssuerUnavailable(f"{what} has no usable URL ({where!r})") from None
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise IssuerUnavailable(f"{what} at {where} is not JSON (or nested too deeply)") from None


def _too_large(what: str, url: str, limit: int, detail: str) -> IssuerUnavailable:
    log_event(logger, logging.WARNING, "issuer_document_refused", url=url, limit_bytes=limit, detail=detail)
    return IssuerUnavailable(f"{what} at {url} is larger than {limit} bytes ({detail}); not read further")


def signing_keys(document: Any, jwks_uri: str) -> tuple[dict[str, jwt.PyJWK], list[jwt.PyJWK]]:
    """The usable signing keys of a JWKS: by key id, and those without one. Malformed entries are skipped."""
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise IssuerUnavailable(f'the JWKS at {_short(jwks_uri)} is not a key set ({{"keys": [...]}})')
    named: dict[str, jwt.PyJWK] = {}
    unnamed: list[jwt.PyJWK] = []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        kid = entry.get("kid")
        if kid is not None and not isinstance(kid, str):
            continue
        try:
            key = jwt.PyJWK(entry)
        except (jwt.PyJWTError, ValueError, TypeError, KeyError, AttributeError):
            continue  # a key type PyJWT cannot use, or fields of the wrong type: not a key to check with
        if kid is None:
            unnamed.append(key)
        else:
            named[kid] = key
    if not named and not unnamed:
        raise IssuerUnavailable(f"the JWKS at {_short(jwks_uri)} holds no usable signing key")
    return named, unnamed


@dataclass
class _Flight:
    done: anyio.Event = field(default_factory=anyio.Event)
    failure: str | None = None


class SingleFlight:
    """At most one run of a fetch at a time: callers that arrive while it runs wait for its outcome.

    The run is shielded from the cancellation of the request that started it (it is bounded by its
    own deadline), so the requests waiting on it are not left without an answer.
    """

    def __init__(self) -> None:
        self._current: _Flight | None = None

    @property
    def running(self) -> bool:
        return self._current is not None

    async def run(self, job: Callable[[], Awaitable[None]]) -> None:
        flight = self._current
        if flight is not None:
            await flight.done.wait()
            if flight.failure is not None:
                raise IssuerUnavailable(flight.failure)
            return
        flight = self._current = _Flight()
        try:
            with anyio.CancelScope(shield=True):
                await job()
        except Exception as exc:
            flight.failure = str(exc) or type(exc).__name__
            raise
        finally:
            self._current = None
            flight.done.set()


class IssuerKeys:
    """The issuer's metadata and signing keys, discovered once and refreshed as described above."""

    def __init__(self, issuer: str, http: httpx2.AsyncClient, bounds: IssuerBounds | None = None) -> None:
        self.issuer = issuer
        self.http = http
        self.bounds = bounds or IssuerBounds()
        self._metadata: IssuerMetadata | None = None
        self._keys: dict[str, jwt.PyJWK] = {}
        self._unnamed: list[jwt.PyJWK] = []
        self._fetched_at: float | None = None
        self._unknown_kid_fetch_at = -math.inf
        self._failed: tuple[float, str] | None = None
        self._discovery = SingleFlight()
        self._key_fetch = SingleFlight()

    async def metadata(self) -> IssuerMetadata:
        if self._metadata is None:
            await self._guarded(self._discovery, self._discover)
        assert self._metadata is not None
        return self._metadata

    async def key_for(self, kid: str | None) -> jwt.PyJWK:
        """The signing key named ``kid`` (or the only one, when the token names none)."""
        metadata = await self.metadata()
        jwks_uri = metadata.jwks_uri
        if jwks_uri is None:
            raise TokenRejected("this server's authorization server publishes no signing keys (jwks_uri)")
        now = time.monotonic()
        stale = self._fetched_at is None or now - self._fetched_at > self.bounds.keys_max_age_seconds
        if stale and not (self._key_fetch.running and kid in self._keys):
            # Keys past their age are fetched again; while that runs, a key still held serves meanwhile.
            await self._guarded(self._key_fetch, lambda: self._fetch_keys(jwks_uri))
        elif kid is not None and kid not in self._keys:
            if self._key_fetch.running:
                await self._guarded(self._key_fetch, lambda: self._fetch_keys(jwks_uri))
            elif now - self._unknown_kid_fetch_at >= self.bounds.unknown_kid_cooldown_seconds:
                self._unknown_kid_fetch_at = now
                await self._guarded(self._key_fetch, lambda: self._fetch_keys(jwks_uri))
                if kid in self._keys:
                    # A real rotation may be followed by another: only a fetch that missed starts the cooldown.
                    self._unknown_kid_fetch_at = -math.inf
        if kid is not None and kid in self._keys:
            return self._keys[kid]
        candidates = [*self._keys.values(), *self._unnamed]
        if kid is None and len(candidates) == 1:
            return candidates[0]
        raise TokenRejected("the token is signed with a key the authorization server does not publish")

    async def _guarded(self, flight: SingleFlight, fetch: Callable[[], Awaitable[None]]) -> None:
        """Run (or join) ``fetch`` within the time bound; a recent failure is answered again without asking."""
        failed = self._failed
        if not flight.running and failed is not None:
            when, reason = failed
            wait = self.bounds.failed_fetch_retry_seconds - (time.monotonic() - when)
            if wait > 0:
                raise IssuerUnavailable(f"{reason} (not asked again for {wait:.0f} s)")

        async def bounded() -> None:
            seconds = self.bounds.fetch_seconds
            try:
                with anyio.fail_after(seconds):
                    await fetch()
            except TimeoutError:
                raise self._failure(f"the authorization server did not answer within {seconds:g} s") from None
            except IssuerUnavailable as exc:
                raise self._failure(str(exc)) from None
            except Exception as exc:  # a document no check foresaw: the issuer is unusable, not this server
                unusable = f"the authorization server's answer could not be used ({type(exc).__name__})"
                raise self._failure(unusable) from None
            self._failed = None

        await flight.run(bounded)

    def _failure(self, reason: str) -> IssuerUnavailable:
        self._failed = (time.monotonic(), reason)
        log_event(logger, logging.WARNING, "issuer_fetch_failed", issuer=self.issuer, reason=reason)
        return IssuerUnavailable(reason)

    async def _discover(self) -> None:
        failures: list[str] = []
        for url in discovery_urls(self.issuer):
            try:
                document = await fetch_json(self.http, url, "the authorization server's metadata", self.bounds)
            except IssuerUnavailable as exc:
                failures.append(str(exc))
                continue
            if not isinstance(document, dict):
                failures.append(f"{url} is not a metadata object")
                continue
            named = document.get("issuer")
            if not isinstance(named, str) or named.rstrip("/") != self.issuer.rstrip("/"):
                # RFC 8414 §3.3: a document naming another issuer must not be used.
                failures.append(f"{url} names the issuer {str(named)[:200]!r}, not {self.issuer!r}")
                continue
            self._metadata = IssuerMetadata(
                issuer=named,
                jwks_uri=_http_url(document.get("jwks_uri")),
                introspection_endpoint=_http_url(document.get("introspection_endpoint")),
            )
            return
        raise IssuerUnavailable("no usable authorization server metadata: " + "; ".join(failures))

    async def _fetch_keys(self, jwks_uri: str) -> None:
        document = await fetch_json(self.http, jwks_uri, "the authorization server's keys (JWKS)", self.bounds)
        self._keys, self._unnamed = signing_keys(document, jwks_uri)
        self._fetched_at = time.monotonic()
