"""Checking OAuth 2.1 access tokens: JWTs against the issuer's keys, opaque ones by introspection.

The issuer's metadata (RFC 8414, or OpenID Connect discovery) names its JWKS; the keys are fetched
once, kept for an hour, and fetched again when a token names a key id not among them (the issuer
rotated its keys). After a fetch that did not find the key, no other such fetch happens for
``_UNKNOWN_KID_COOLDOWN`` seconds, so that made-up key ids cannot turn every request into a fetch.
Signatures and claims are checked by PyJWT, never by hand: the issuer, ``exp``/``nbf`` with a small
leeway, and the audience, which must be this server's public URL (RFC 8707). Opaque tokens go to
the issuer's introspection endpoint (RFC 7662) when a client is configured for it. Every refusal
carries a reason safe to show the client; tokens are never logged.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

import anyio
import httpx2
import jwt
from mcp.server.auth.provider import AccessToken

#: Clock skew tolerated on ``exp``, ``nbf`` and ``iat``, in seconds.
LEEWAY_SECONDS: Final = 30
#: Signature algorithms accepted: asymmetric only, so no shared secret can be guessed or confused with a key.
ALGORITHMS: Final = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
_KEYS_MAX_AGE: Final = 3600.0
_UNKNOWN_KID_COOLDOWN: Final = 10.0
_INTROSPECTION_CACHE_SECONDS: Final = 30.0
_INTROSPECTION_CACHE_SIZE: Final = 1024


class TokenRejected(Exception):
    """The token is not acceptable; the message says why, in words safe to send back to the client."""


class IssuerUnavailable(Exception):
    """The authorization server could not be asked (metadata, keys or introspection): try again later."""


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


def fingerprint(token: str) -> str:
    """A stand-in for the token in memory and comparisons: its SHA-256, never the token itself."""
    return hashlib.sha256(token.encode()).hexdigest()


def scopes_of(claims: Mapping[str, Any]) -> list[str]:
    """The scopes a token grants: ``scope`` (space-separated, RFC 9068/7662) or ``scp`` (a list, some issuers)."""
    value = claims.get("scope", claims.get("scp"))
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        return [str(item) for item in value]
    return []


def access_token(claims: Mapping[str, Any], token: str, resource: str) -> AccessToken:
    """The SDK's view of a checked token: who (``sub``, client), what (scopes), until when; no raw token kept."""
    subject = claims.get("sub")
    client = claims.get("client_id") or claims.get("azp") or subject or ""
    expires = claims.get("exp")
    return AccessToken(
        token=fingerprint(token),
        client_id=str(client),
        scopes=scopes_of(claims),
        expires_at=int(expires) if isinstance(expires, int | float) else None,
        resource=resource,
        subject=str(subject) if subject is not None else None,
        claims={"iss": claims.get("iss")},
    )


class IssuerKeys:
    """The issuer's metadata and signing keys, discovered once and refreshed as described above."""

    def __init__(self, issuer: str, http: httpx2.AsyncClient) -> None:
        self.issuer = issuer
        self.http = http
        self._metadata: IssuerMetadata | None = None
        self._keys: dict[str, jwt.PyJWK] = {}
        self._unnamed: list[jwt.PyJWK] = []
        self._fetched_at = 0.0
        self._unknown_kid_fetch_at = -_UNKNOWN_KID_COOLDOWN
        self._lock = anyio.Lock()

    async def metadata(self) -> IssuerMetadata:
        async with self._lock:
            if self._metadata is None:
                self._metadata = await self._discover()
            return self._metadata

    async def _get_json(self, url: str, what: str) -> Any:
        try:
            response = await self.http.get(url, headers={"Accept": "application/json"})
        except httpx2.HTTPError as exc:
            raise IssuerUnavailable(f"cannot reach {what} at {url}: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise IssuerUnavailable(f"{what} at {url} answered HTTP {response.status_code}")
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise IssuerUnavailable(f"{what} at {url} is not JSON") from None

    async def _discover(self) -> IssuerMetadata:
        failures: list[str] = []
        for url in discovery_urls(self.issuer):
            try:
                document = await self._get_json(url, "the authorization server's metadata")
            except IssuerUnavailable as exc:
                failures.append(str(exc))
                continue
            if not isinstance(document, dict):
                failures.append(f"{url} is not a metadata object")
                continue
            named = str(document.get("issuer", ""))
            if named.rstrip("/") != self.issuer.rstrip("/"):
                # RFC 8414 §3.3: a document naming another issuer must not be used.
                failures.append(f"{url} names the issuer {named!r}, not {self.issuer!r}")
                continue
            jwks, introspection = document.get("jwks_uri"), document.get("introspection_endpoint")
            return IssuerMetadata(
                issuer=named,
                jwks_uri=str(jwks) if jwks else None,
                introspection_endpoint=str(introspection) if introspection else None,
            )
        raise IssuerUnavailable("no usable authorization server metadata: " + "; ".join(failures))

    async def key_for(self, kid: str | None) -> jwt.PyJWK:
        """The signing key named ``kid`` (or the only one, when the token names none)."""
        metadata = await self.metadata()
        if metadata.jwks_uri is None:
            raise TokenRejected("this server's authorization server publishes no signing keys (jwks_uri)")
        async with self._lock:
            now = time.monotonic()
            if (not self._keys and not self._unnamed) or now - self._fetched_at > _KEYS_MAX_AGE:
                await self._fetch_keys(metadata.jwks_uri)
            elif kid is not None and kid not in self._keys and self._may_refetch(now):
                await self._fetch_keys(metadata.jwks_uri)
                # Only a fetch that did not find the key starts the cooldown: a real rotation may follow another.
                self._unknown_kid_fetch_at = -_UNKNOWN_KID_COOLDOWN if kid in self._keys else now
            if kid is not None and kid in self._keys:
                return self._keys[kid]
            candidates = [*self._keys.values(), *self._unnamed]
            if kid is None and len(candidates) == 1:
                return candidates[0]
        raise TokenRejected("the token is signed with a key the authorization server does not publish")

    def _may_refetch(self, now: float) -> bool:
        return now - self._unknown_kid_fetch_at >= _UNKNOWN_KID_COOLDOWN

    async def _fetch_keys(self, jwks_uri: str) -> None:
        document = await self._get_json(jwks_uri, "the authorization server's keys (JWKS)")
        try:
            key_set = jwt.PyJWKSet.from_dict(document)
        except jwt.PyJWKSetError as exc:
            raise IssuerUnavailable(f"the JWKS at {jwks_uri} holds no usable key: {exc}") from None
        signing = [key for key in key_set.keys if key.public_key_use in (None, "sig")]
        self._keys = {key.key_id: key for key in signing if key.key_id}
        self._unnamed = [key for key in signing if not key.key_id]
        self._fetched_at = time.monotonic()


class JwtVerifier:
    """Checks a JWT access token's signature, issuer, lifetime and audience."""

    def __init__(self, keys: IssuerKeys, audience: str) -> None:
        self.keys = keys
        self.audience = audience

    async def check(self, token: str) -> AccessToken:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError:
            raise TokenRejected("the token is not a well-formed JWT") from None
        algorithm = header.get("alg")
        if algorithm not in ALGORITHMS:
            raise TokenRejected(f"the token's signature algorithm {algorithm!r} is not accepted")
        kid = header.get("kid")
        key = await self.keys.key_for(str(kid) if kid is not None else None)
        metadata = await self.keys.metadata()
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=[str(algorithm)],
                audience=list(dict.fromkeys([self.audience, self.audience.rstrip("/")])),
                issuer=metadata.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenRejected("the token has expired; get a new one from the authorization server") from None
        except jwt.ImmatureSignatureError:
            raise TokenRejected("the token is not valid yet (nbf/iat in the future)") from None
        except jwt.InvalidAudienceError:
            raise TokenRejected(
                f"the token was not issued for this server: its audience must be {self.audience} "
                "(ask for it with the 'resource' parameter, RFC 8707)"
            ) from None
        except jwt.InvalidIssuerError:
            raise TokenRejected(f"the token was not issued by {metadata.issuer}") from None
        except jwt.MissingRequiredClaimError as exc:
            raise TokenRejected(f"the token has no {exc.claim!r} claim") from None
        except jwt.InvalidSignatureError:
            raise TokenRejected("the token's signature does not verify") from None
        except jwt.PyJWTError as exc:
            raise TokenRejected(f"the token is not acceptable ({type(exc).__name__})") from None
        return access_token(claims, token, self.audience)


class Introspector:
    """Asks the authorization server about opaque tokens (RFC 7662), authenticated as a confidential client."""

    def __init__(
        self, keys: IssuerKeys, audience: str, client_id: str, client_secret: str, endpoint: str | None
    ) -> None:
        self.keys = keys
        self.audience = audience
        self._auth = (client_id, client_secret)
        self._endpoint = endpoint
        self._cache: dict[str, tuple[float, AccessToken]] = {}

    async def check(self, token: str) -> AccessToken:
        key = fingerprint(token)
        cached = self._cache.get(key)
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            return cached[1]
        claims = await self._introspect(token)
        checked = self._accept(claims, token)
        if len(self._cache) >= _INTROSPECTION_CACHE_SIZE:
            self._cache.clear()
        lifetime = _INTROSPECTION_CACHE_SECONDS
        if checked.expires_at is not None:
            lifetime = min(lifetime, checked.expires_at - time.time())
        if lifetime > 0:
            self._cache[key] = (now + lifetime, checked)
        return checked

    async def _introspect(self, token: str) -> Mapping[str, Any]:
        endpoint = self._endpoint or (await self.keys.metadata()).introspection_endpoint
        if endpoint is None:
            raise TokenRejected("the token is not a JWT, and the authorization server offers no introspection")
        try:
            response = await self.keys.http.post(
                endpoint,
                data={"token": token, "token_type_hint": "access_token"},
                auth=httpx2.BasicAuth(*self._auth),
                headers={"Accept": "application/json"},
            )
        except httpx2.HTTPError as exc:
            reason = type(exc).__name__
            raise IssuerUnavailable(f"cannot reach the introspection endpoint {endpoint}: {reason}") from None
        if response.status_code != 200:
            raise IssuerUnavailable(
                f"the introspection endpoint {endpoint} answered HTTP {response.status_code} "
                "(check MIX_MCP_OAUTH_CLIENT_ID and MIX_MCP_OAUTH_CLIENT_SECRET)"
            )
        try:
            claims = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise IssuerUnavailable(f"the introspection endpoint {endpoint} did not answer JSON") from None
        if not isinstance(claims, dict):
            raise IssuerUnavailable(f"the introspection endpoint {endpoint} did not answer a JSON object")
        return claims

    def _accept(self, claims: Mapping[str, Any], token: str) -> AccessToken:
        if claims.get("active") is not True:
            raise TokenRejected("the authorization server says the token is not active (expired or revoked)")
        expires = claims.get("exp")
        if isinstance(expires, int | float) and expires + LEEWAY_SECONDS < time.time():
            raise TokenRejected("the token has expired; get a new one from the authorization server")
        issuer = claims.get("iss")
        if issuer is not None and str(issuer).rstrip("/") != self.keys.issuer.rstrip("/"):
            raise TokenRejected(f"the token was not issued by {self.keys.issuer}")
        audience = claims.get("aud")
        audiences = [audience] if isinstance(audience, str) else audience if isinstance(audience, list) else []
        if self.audience.rstrip("/") not in {str(a).rstrip("/") for a in audiences}:
            raise TokenRejected(f"the token was not issued for this server: its audience must be {self.audience}")
        return access_token(claims, token, self.audience)


def looks_like_jwt(token: str) -> bool:
    """A JWS in compact form: three base64url parts (an opaque token almost never has two dots)."""
    return token.count(".") == 2


class TokenChecker:
    """The one place a bearer token is checked: a JWT locally, anything else by introspection if configured.

    Also the SDK's ``TokenVerifier`` (``verify_token``), for code that wants only yes or no.
    """

    def __init__(self, jwts: JwtVerifier, introspector: Introspector | None) -> None:
        self.jwts = jwts
        self.introspector = introspector

    async def check(self, token: str) -> AccessToken:
        if looks_like_jwt(token):
            return await self.jwts.check(token)
        if self.introspector is not None:
            return await self.introspector.check(token)
        raise TokenRejected("the token is not a JWT, and this server is not set up to introspect opaque tokens")

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            return await self.check(token)
        except (TokenRejected, IssuerUnavailable):
            return None
