"""Every bound on talking to the authorization server, in one place (docs/guarantees.md, "OAuth bounds").

The issuer's metadata, its keys (JWKS) and its introspection answers come over the network from a
server this one does not control. A slow, huge or endless answer must cost a bounded time and a
bounded amount of memory, and a flood of tokens naming made-up keys must not turn into a flood of
fetches. Each number below is the one place its bound is set; ``IssuerBounds`` carries them (tests
pass shorter ones).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

#: Total time for one fetch from the authorization server (connecting, headers and the whole body):
#: one JWKS fetch, one introspection, or the whole metadata discovery (all the URLs it tries).
FETCH_SECONDS: Final = 5.0
#: The largest metadata document, JWKS or introspection answer read; a larger one is refused unread.
MAX_DOCUMENT_BYTES: Final = 256 * 1024
#: How long fetched keys are trusted before they are fetched again (a removed key stops working then).
KEYS_MAX_AGE_SECONDS: Final = 3600.0
#: After a fetch for a key id the keys did not hold (found or not), no other such fetch for this long.
UNKNOWN_KID_COOLDOWN_SECONDS: Final = 10.0
#: After a failed fetch (unreachable, slow, too large, not a JWKS), answer 503 at once for this long.
FAILED_FETCH_RETRY_SECONDS: Final = 5.0
#: Introspection answers are cached this long (at most), by the token's fingerprint.
INTROSPECTION_CACHE_SECONDS: Final = 30.0
#: At most this many introspection answers are cached; the cache is emptied when full.
INTROSPECTION_CACHE_SIZE: Final = 1024


@dataclass(frozen=True, slots=True)
class IssuerBounds:
    """The bounds one ``IssuerKeys`` applies; the defaults are the constants above."""

    fetch_seconds: float = FETCH_SECONDS
    max_document_bytes: int = MAX_DOCUMENT_BYTES
    keys_max_age_seconds: float = KEYS_MAX_AGE_SECONDS
    unknown_kid_cooldown_seconds: float = UNKNOWN_KID_COOLDOWN_SECONDS
    failed_fetch_retry_seconds: float = FAILED_FETCH_RETRY_SECONDS
