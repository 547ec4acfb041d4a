"""Checking OAuth 2.1 access tokens: JWTs against the issuer's keys (``issuer``), opaque ones by introspection.

A token is untrusted input to its last byte: a header that is not JSON, not an object, or holds a
``kid`` or ``alg`` of the wrong type is refused (401) like any other bad token, never an error of
the server. Signatures and claims are checked by PyJWT, never by hand: the issuer, ``exp``/``nbf``
with a small leeway, and the audience, which must be this server's public URL (RFC 8707). Opaque
tokens go to the issuer's introspection endpoint (RFC 7662) when a client is configured for it.
Every refusal carries a reason safe to show the client; tokens are never logged.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Mapping
from typing import Any, Final

import anyio
import httpx2
import jwt
from mcp.server.auth.provider import AccessToken

from mix_mcp.serving.auth.bounds import INTROSPECTION_CACHE_SECONDS, INTROSPECTION_CACHE_SIZE
from mix_mcp.serving.auth.issuer import (
    IssuerKeys,
    IssuerRefused,
    IssuerUnavailable,
    TokenRejected,
    fetch_json,
)

#: Clock skew tolerated on ``exp``, ``nbf`` and ``iat``, in seconds.
LEEWAY_SECONDS: Final = 30
#: Signature algorithms accepted: asymmetric only, so no shared secret can be guessed or confused with a key.
ALGORITHMS: Final = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")


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


def _epoch(value: Any) -> int | None:
    """A claim's time as whole seconds; ``None`` for anything else (``true``, text, or JSON's 1e400 read as inf)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return int(value)


def access_token(claims: Mapping[str, Any], token: str, resource: str) -> AccessToken:
    """The SDK's view of a checked token: who (``sub``, client), what (scopes), until when; no raw token kept."""
    subject = claims.get("sub")
    client = claims.get("client_id") or claims.get("azp") or subject or ""
    return AccessToken(
        token=fingerprint(token),
        client_id=str(client),
        scopes=scopes_of(claims),
        expires_at=_epoch(claims.get("exp")),
        resource=resource,
        subject=str(subject) if subject is not None else None,
        claims={"iss": claims.get("iss")},
    )


class JwtVerifier:
    """Checks a JWT access token's signature, issuer, lifetime and audience."""

    def __init__(self, keys: IssuerKeys, audience: str) -> None:
        self.keys = keys
        self.audience = audience

    async def check(self, token: str) -> AccessToken:
        algorithm, kid = token_header(token)
        key = await self.keys.key_for(kid)
        metadata = await self.keys.metadata()
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=[algorithm],
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
        except (ValueError, TypeError, OverflowError, RecursionError):
            # Claims of the wrong type that PyJWT does not catch itself (an ``exp`` of 1e400, deep nesting).
            raise TokenRejected("the token's claims are malformed") from None
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
        if len(self._cache) >= INTROSPECTION_CACHE_SIZE:
            self._cache.clear()
        lifetime = INTROSPECTION_CACHE_SECONDS
        if checked.expires_at is not None:
            lifetime = min(lifetime, checked.expires_at - time.time())
        if lifetime > 0:
            self._cache[key] = (now + lifetime, checked)
        return checked

    async def _introspect(self, token: str) -> Mapping[str, Any]:
        endpoint = self._endpoint or (await self.keys.metadata()).introspection_endpoint
        if endpoint is None:
            raise TokenRejected("the token is not a JWT, and the authorization server offers no introspection")
        bounds = self.keys.bounds
        what = "the introspection endpoint"
        try:
            with anyio.fail_after(bounds.fetch_seconds):
                claims = await fetch_json(
                    self.keys.http,
                    endpoint,
                    what,
                    bounds,
                    method="POST",
                    data={"token": token, "token_type_hint": "access_token"},
                    auth=httpx2.BasicAuth(*self._auth),
                )
        except TimeoutError:
            raise IssuerUnavailable(f"{what} {endpoint} did not answer within {bounds.fetch_seconds:g} s") from None
        except IssuerRefused as exc:
            raise IssuerUnavailable(f"{exc} (check MIX_MCP_OAUTH_CLIENT_ID and MIX_MCP_OAUTH_CLIENT_SECRET)") from None
        if not isinstance(claims, dict):
            raise IssuerUnavailable(f"{what} {endpoint} did not answer a JSON object")
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


def _shown(value: Any) -> str:
    """A header value for a refusal: short, printable ASCII, whatever the token held."""
    text = repr(value)
    text = "".join(c for c in text if " " <= c <= "~")
    return text if len(text) <= 40 else text[:37] + "..."


def token_header(token: str) -> tuple[str, str | None]:
    """The signature algorithm and key id a JWT's header names, or ``TokenRejected`` when it is malformed.

    PyJWT reads the header (base64url, JSON, an object, ``kid`` a string); any way that fails is a
    bad token. ``alg`` must then be a string among ``ALGORITHMS``.
    """
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError:
        raise TokenRejected("the token is not a well-formed JWT") from None
    except jwt.PyJWTError as exc:
        raise TokenRejected(f"the token's header is malformed ({_shown(str(exc))[1:-1]})") from None
    except (ValueError, TypeError, RecursionError):
        raise TokenRejected("the token's header is malformed") from None
    algorithm = header.get("alg")
    if not isinstance(algorithm, str) or algorithm not in ALGORITHMS:
        raise TokenRejected(f"the token's signature algorithm {_shown(algorithm)} is not accepted")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise TokenRejected("the token's header is malformed (kid must be a string)")
    return algorithm, kid


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
