"""The token check against a misbehaving authorization server, in process: real HTTP on loopback, short bounds.

The hostile issuer (tests/faults/hostile_issuer.py) answers slowly, hugely, endlessly or with the
wrong types; the checks here run ``TokenChecker`` on a real ``httpx2`` client with bounds shorter
than the defaults (``IssuerBounds``), so that every stall resolves within a second or two. The same
faults through a running ``mix-mcp serve`` are in test_hostile_issuer_http.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import httpx2
import pytest

from mix_mcp.serving.auth.bounds import IssuerBounds
from mix_mcp.serving.auth.issuer import IssuerKeys, IssuerUnavailable, TokenRejected
from mix_mcp.serving.auth.tokens import JwtVerifier, TokenChecker
from tests.faults.hostile_issuer import KID, Behaviour, HostileIssuer

AUDIENCE = "http://127.0.0.1:1/mcp"
#: Bounds short enough for tests; the cooldown long enough not to end during one.
SHORT = IssuerBounds(
    fetch_seconds=1.0, max_document_bytes=64 * 1024, unknown_kid_cooldown_seconds=60, failed_fetch_retry_seconds=0.3
)


@pytest.fixture
def issuer() -> Iterator[HostileIssuer]:
    with HostileIssuer() as server:
        yield server


@pytest.fixture
async def checker(issuer: HostileIssuer) -> AsyncIterator[TokenChecker]:
    async with httpx2.AsyncClient(timeout=30) as http:
        yield TokenChecker(JwtVerifier(IssuerKeys(issuer.url, http, SHORT), AUDIENCE), None)


async def _until(condition: Any, within: float = 3.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come true in time"
        await anyio.sleep(0.01)


@pytest.mark.anyio
async def test_a_held_key_never_waits_for_a_stalled_fetch_and_unknown_kids_share_one(
    issuer: HostileIssuer, checker: TokenChecker
) -> None:
    valid = issuer.token(AUDIENCE)
    assert (await checker.check(valid)).subject == "alice"
    assert issuer.count("/jwks") == 1
    issuer.jwks = Behaviour(delay=30)
    outcomes: list[tuple[str, float]] = []

    async def unknown(n: int) -> None:
        started = time.monotonic()
        try:
            await checker.check(issuer.token(AUDIENCE, kid=f"made-up-{n}"))
            outcomes.append(("accepted", 0.0))
        except (TokenRejected, IssuerUnavailable) as exc:
            outcomes.append((type(exc).__name__, time.monotonic() - started))

    async with anyio.create_task_group() as tasks:
        for n in range(5):
            tasks.start_soon(unknown, n)
        await _until(lambda: issuer.count("/jwks") == 2)
        started = time.monotonic()
        for _ in range(20):
            assert (await checker.check(valid)).subject == "alice"
        held_key_seconds = (time.monotonic() - started) / 20
    assert held_key_seconds < 0.2, f"a token whose key is held took {held_key_seconds:.3f} s during the stall"
    assert issuer.count("/jwks") == 2, "five unknown kids shared one fetch"
    assert [name for name, _ in outcomes] == ["IssuerUnavailable"] * 5
    assert max(seconds for _, seconds in outcomes) < SHORT.fetch_seconds + 1.0
    # Within the cooldown, another unknown kid is refused at once, without a fetch.
    with pytest.raises(TokenRejected, match="does not publish"):
        await checker.check(issuer.token(AUDIENCE, kid="made-up-again"))
    assert issuer.count("/jwks") == 2


@pytest.mark.anyio
async def test_unknown_kids_cannot_start_a_fetch_storm(issuer: HostileIssuer, checker: TokenChecker) -> None:
    assert (await checker.check(issuer.token(AUDIENCE))).subject == "alice"
    for n in range(50):
        with pytest.raises(TokenRejected, match="does not publish"):
            await checker.check(issuer.token(AUDIENCE, kid=f"made-up-{n}"))
    assert issuer.count("/jwks") == 2, "one fetch for the first unknown kid, then the cooldown"


@pytest.mark.anyio
async def test_an_endless_jwks_is_cut_at_the_time_bound(issuer: HostileIssuer, checker: TokenChecker) -> None:
    issuer.jwks = Behaviour(endless=True)
    started = time.monotonic()
    with pytest.raises(IssuerUnavailable, match="did not answer within 1 s"):
        await checker.check(issuer.token(AUDIENCE))
    assert time.monotonic() - started < SHORT.fetch_seconds + 1.0


@pytest.mark.anyio
@pytest.mark.parametrize("declare", [False, True], ids=["streamed", "declared"])
async def test_a_huge_jwks_is_refused_past_the_size_bound(
    issuer: HostileIssuer, checker: TokenChecker, declare: bool
) -> None:
    issuer.jwks = Behaviour(huge=100 * 1024 * 1024, declare=declare)
    started = time.monotonic()
    with pytest.raises(IssuerUnavailable, match=f"larger than {SHORT.max_document_bytes} bytes"):
        await checker.check(issuer.token(AUDIENCE))
    assert time.monotonic() - started < SHORT.fetch_seconds
    # Whatever the kernel's socket buffers took, the issuer could not push the 100 MB through.
    await anyio.sleep(0.2)
    assert issuer.bytes_sent.get("/jwks", 0) < 20 * 1024 * 1024


@pytest.mark.anyio
async def test_a_huge_metadata_document_is_refused(issuer: HostileIssuer, checker: TokenChecker) -> None:
    issuer.metadata = Behaviour(huge=10 * 1024 * 1024)
    with pytest.raises(IssuerUnavailable, match="larger than"):
        await checker.check(issuer.token(AUDIENCE))


def _real_key(issuer: HostileIssuer, **changes: Any) -> dict[str, Any]:
    return {**issuer.jwks_document()["keys"][0], **changes}


JWKS_OF_WRONG_TYPES: dict[str, Any] = {
    "a-list": [],
    "a-string": "keys",
    "keys-a-number": {"keys": 5},
    "keys-of-junk": {"keys": ["x", 5, None, [], {"kty": 7}]},
    "rsa-without-numbers": {"keys": [{"kty": "RSA", "kid": KID}]},
    "rsa-numbers-of-wrong-types": {"keys": [{"kty": "RSA", "kid": KID, "n": 5, "e": []}]},
    "kid-a-number": "kid-a-number",
    "rsa-exponent-4000-digits": "rsa-exponent-4000-digits",
    "nested-100000-deep": b'{"keys": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "integer-5000-digits": b'{"keys": [], "n": ' + b"7" * 5_000 + b"}",
    "not-utf8": b'{"keys": ["\xff\xfe"]}',
}


@pytest.mark.anyio
@pytest.mark.parametrize("case", list(JWKS_OF_WRONG_TYPES))
async def test_a_jwks_of_the_wrong_types_means_the_issuer_is_unavailable(
    issuer: HostileIssuer, checker: TokenChecker, case: str
) -> None:
    document = JWKS_OF_WRONG_TYPES[case]
    if case == "kid-a-number":
        document = {"keys": [_real_key(issuer, kid=5)]}
    elif case == "rsa-exponent-4000-digits":
        document = {"keys": [_real_key(issuer, e=10**4000)]}
    issuer.jwks = Behaviour(raw=document) if isinstance(document, bytes) else Behaviour(document=document)
    with pytest.raises(IssuerUnavailable, match=r"JWKS|not JSON"):
        await checker.check(issuer.token(AUDIENCE))


METADATA_OF_WRONG_TYPES: dict[str, tuple[Any, type[Exception], str]] = {
    "a-list": ([], IssuerUnavailable, "not a metadata object"),
    "issuer-a-list": ({"issuer": ["x"]}, IssuerUnavailable, "names the issuer"),
    "jwks-uri-an-object": ({"jwks_uri": {"url": "x"}}, TokenRejected, "publishes no signing keys"),
    "jwks-uri-not-http": ({"jwks_uri": "file:///etc/passwd"}, TokenRejected, "publishes no signing keys"),
    "jwks-uri-unparseable": ({"jwks_uri": "http://[::1"}, TokenRejected, "publishes no signing keys"),
}


@pytest.mark.anyio
@pytest.mark.parametrize("case", list(METADATA_OF_WRONG_TYPES))
async def test_metadata_of_the_wrong_types_is_not_used(issuer: HostileIssuer, checker: TokenChecker, case: str) -> None:
    document, error, reason = METADATA_OF_WRONG_TYPES[case]
    if isinstance(document, dict) and "issuer" not in document:
        document = {"issuer": issuer.url, **document}
    issuer.metadata = Behaviour(document=document)
    with pytest.raises(error, match=reason):
        await checker.check(issuer.token(AUDIENCE))
    assert issuer.count("/jwks") == 0


@pytest.mark.anyio
async def test_a_dead_issuer_is_asked_again_only_after_the_retry_pause(
    issuer: HostileIssuer, checker: TokenChecker
) -> None:
    issuer.metadata = Behaviour(status=500)
    for _ in range(10):
        with pytest.raises(IssuerUnavailable, match="HTTP 500"):
            await checker.check(issuer.token(AUDIENCE))
    asked = issuer.count("/.well-known/oauth-authorization-server")
    assert asked == 1, "ten checks within the retry pause asked once"
    issuer.metadata = Behaviour()
    await anyio.sleep(SHORT.failed_fetch_retry_seconds)
    assert (await checker.check(issuer.token(AUDIENCE))).subject == "alice"


@pytest.mark.anyio
async def test_a_signed_token_with_claims_of_the_wrong_types_is_refused(
    issuer: HostileIssuer, checker: TokenChecker
) -> None:
    for claims in ({"exp": "tomorrow"}, {"exp": [1]}, {"nbf": {"a": 1}}, {"iat": "x"}):
        with pytest.raises(TokenRejected):
            await checker.check(issuer.token(AUDIENCE, **claims))
    # Signed claims PyJWT reads but no int() can take: JSON's 1e400 is Python's inf.
    header = json.dumps({"alg": "RS256", "kid": KID}).encode()
    for exp in (b"1e400", b"NaN", b"-Infinity"):
        payload = json.dumps(issuer.claims(AUDIENCE)).encode().replace(b'"exp": ', b'"exp": ' + exp + b', "x": ')
        with pytest.raises(TokenRejected):
            await checker.check(issuer.forged(AUDIENCE, header, payload))


@pytest.mark.anyio
async def test_keys_past_their_age_are_refreshed_once_while_held_keys_serve_meanwhile(issuer: HostileIssuer) -> None:
    bounds = IssuerBounds(fetch_seconds=1.0, keys_max_age_seconds=0.2, failed_fetch_retry_seconds=0.3)
    async with httpx2.AsyncClient(timeout=30) as http:
        checker = TokenChecker(JwtVerifier(IssuerKeys(issuer.url, http, bounds), AUDIENCE), None)
        valid = issuer.token(AUDIENCE)
        assert (await checker.check(valid)).subject == "alice"
        await anyio.sleep(0.3)
        issuer.jwks = Behaviour(delay=30)
        refresher: list[str] = []

        async def refresh() -> None:
            try:
                await checker.check(valid)
                refresher.append("accepted")
            except IssuerUnavailable as exc:
                refresher.append(str(exc))

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(refresh)
            await _until(lambda: issuer.count("/jwks") == 2)
            started = time.monotonic()
            assert (await checker.check(valid)).subject == "alice"
            assert time.monotonic() - started < 0.2, "a held key waited for the refresh another token started"
        assert refresher == ["the authorization server did not answer within 1 s"]
        assert issuer.count("/jwks") == 2
