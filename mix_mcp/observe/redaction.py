"""Keeping secrets out of every text mix-mcp writes: log lines, error messages, body snippets.

The client never puts a header into a message, but a misconfigured proxy or a hostile upstream may
echo one back in a body, and a library may log more than it should. So every outgoing text passes
through one ``Redactor`` that knows the configured secrets, in clear and in the forms they travel
in (base64 at any byte alignment, as in Basic auth; percent-encoded), and masks them before the text
is truncated, so that no prefix of a secret survives either.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Final
from urllib.parse import quote, urlsplit

from mix_mcp.config import Settings
from mix_mcp.state_keys import key_secrets

MASK: Final = "[redacted]"
#: Shorter values are not treated as secrets: masking them would shred ordinary text.
MIN_SECRET_CHARS: Final = 6
_SENSITIVE_HEADER: Final = re.compile(r"auth|token|key|secret|cookie|session|password|credential", re.IGNORECASE)
#: Leading base64 characters that still depend on the bytes before the secret, by alignment (0, 1, 2).
_UNSTABLE_LEAD: Final = (0, 2, 3)


def _base64_cores(raw: bytes) -> set[str]:
    """The base64 text that encodes ``raw`` wherever it sits in a longer encoded string."""
    cores: set[str] = set()
    for pad in range(3):
        encoded = base64.b64encode(b"\0" * pad + raw).decode("ascii")
        stable_end = ((pad + len(raw)) // 3) * 4
        core = encoded[_UNSTABLE_LEAD[pad] : stable_end]
        if len(core) >= MIN_SECRET_CHARS:
            cores.add(core)
            cores.add(core.replace("+", "-").replace("/", "_"))
    return cores


def secrets_of(settings: Settings) -> list[str]:
    """What must never be shown: the API key, the MCP token (flag or file), the OAuth client secret, a password
    in the base URL, credential-like extra headers, state keys."""
    found: list[str] = []
    if settings.api_key:
        found.append(settings.api_key)
    if settings.oauth_client_secret:
        found.append(settings.oauth_client_secret)
    if settings.auth_token:
        found.append(settings.auth_token)
    found.extend(_token_file_lines(settings.auth_token_file))
    password = urlsplit(settings.base_url).password
    if password:
        found.append(password)
    for name, value in settings.extra_headers.items():
        if _SENSITIVE_HEADER.search(name) and value:
            found.append(value)
            scheme, _, credential = value.partition(" ")
            if credential and scheme.isalpha():
                found.append(credential.strip())
    found.extend(key_secrets(settings))
    return found


def _token_file_lines(path: str | None) -> list[str]:
    """Every line of the token file: the first is the token, and no other line should be shown either.

    An unreadable file is no secret to mask here; starting the server reports it as a configuration error.
    """
    if path is None:
        return []
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    return [line.strip() for line in text.splitlines() if line.strip()]


class Redactor:
    """Masks a fixed set of secrets (and their encodings) in text and bytes."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if len(secret) < MIN_SECRET_CHARS:
                continue
            forms.add(secret)
            forms.add(quote(secret, safe=""))
            forms.update(_base64_cores(secret.encode("utf-8")))
        ordered = sorted(forms, key=len, reverse=True)
        self._text = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        self._bytes = re.compile(b"|".join(re.escape(f.encode("utf-8")) for f in ordered)) if ordered else None

    @classmethod
    def from_settings(cls, settings: Settings) -> Redactor:
        return cls(secrets_of(settings))

    def __bool__(self) -> bool:
        return self._text is not None

    def text(self, value: str) -> str:
        return self._text.sub(MASK, value) if self._text is not None else value

    def bytes(self, value: bytes) -> bytes:
        return self._bytes.sub(MASK.encode(), value) if self._bytes is not None else value
