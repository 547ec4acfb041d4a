"""Redactor: secrets are masked in clear and in the encodings they travel in, and nothing else is touched."""

from __future__ import annotations

import base64
from urllib.parse import quote

import pytest

from mix_mcp.config import Settings
from mix_mcp.observe.redaction import MASK, Redactor, secrets_of

KEY = "sk-live-9f8e7d6c5b4a3210"


@pytest.mark.parametrize(
    "carrier",
    [
        f"Authorization: Bearer {KEY}",
        f"echo={quote(KEY, safe='')}",
        base64.b64encode(KEY.encode()).decode(),
        base64.b64encode(f"x{KEY}".encode()).decode(),
        base64.b64encode(f"xy{KEY}".encode()).decode(),
        base64.b64encode(f"Bearer {KEY}".encode()).decode(),
        base64.urlsafe_b64encode(f"user:{KEY}??>>".encode()).decode(),
    ],
    ids=["clear", "percent", "base64", "base64-offset-1", "base64-offset-2", "base64-bearer", "urlsafe"],
)
def test_every_form_of_the_secret_is_masked(carrier: str) -> None:
    redactor = Redactor([KEY])
    masked = redactor.text(f"before {carrier} after")
    assert MASK in masked
    assert masked.startswith("before ") and masked.endswith(" after")
    assert KEY not in masked and KEY[:10] not in masked
    assert base64.b64encode(KEY.encode()).decode()[:12] not in masked
    assert redactor.bytes(carrier.encode()) == masked.removeprefix("before ").removesuffix(" after").encode()


def test_without_secrets_or_with_short_ones_text_is_untouched() -> None:
    text = "tool=list_sessions outcome=ok key=abc"
    assert Redactor().text(text) == text
    assert not Redactor()
    assert Redactor(["abc", ""]).text(text) == text


def test_secrets_come_from_the_key_the_url_password_and_credential_headers() -> None:
    settings = Settings(
        base_url="http://alice:url-password-1@mix.example:8088",
        api_key="api-key-123456",
        extra_headers={"X-Team": "research", "X-Auth-Token": "header-token-1", "Proxy-Authorization": "Basic Zm9vYmFy"},
    )
    found = secrets_of(settings)
    assert {"api-key-123456", "url-password-1", "header-token-1", "Basic Zm9vYmFy", "Zm9vYmFy"} <= set(found)
    assert "research" not in found and "alice" not in found
