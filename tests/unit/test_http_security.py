"""The access rules of the network transports, checked one decision at a time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mix_mcp.config import ConfigError, Settings
from mix_mcp.listening import is_loopback
from mix_mcp.serving.http_security import (
    LOOPBACK_HOSTS,
    LOOPBACK_ORIGINS,
    AccessPolicy,
    check_exposure,
    host_patterns,
    resolve_auth_token,
    transport_security,
)
from mix_mcp.serving.transports import messages_path

TOKEN = "0123456789abcdef-token"


def scope(authorization: bytes | None = None, server: tuple[str, int] | None = ("127.0.0.1", 8000)) -> dict[str, Any]:
    headers = [(b"authorization", authorization)] if authorization is not None else []
    return {"type": "http", "headers": headers, "server": server}


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        *[("127.0.0.1", True), ("127.9.9.9", True), ("::1", True), ("[::1]", True), ("localhost", True)],
        *[("0.0.0.0", False), ("::", False), ("10.0.0.5", False), ("mcp.example.com", False)],
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_a_reachable_bind_needs_a_token_or_an_explicit_waiver() -> None:
    for host in ("127.0.0.1", "localhost", "::1"):
        check_exposure(Settings(host=host), None)
    exposed = Settings(host="0.0.0.0")
    with pytest.raises(ConfigError, match=r"refusing to listen on 0\.0\.0\.0 without a token"):
        check_exposure(exposed, None)
    check_exposure(exposed, TOKEN)
    check_exposure(Settings(host="0.0.0.0", allow_unauthenticated=True), None)


def test_host_patterns() -> None:
    assert host_patterns("mcp.example.com") == ["mcp.example.com", "mcp.example.com:*"]
    assert host_patterns("mcp.example.com:8443") == ["mcp.example.com:8443"]
    assert host_patterns("[fd00::1]") == ["[fd00::1]", "[fd00::1]:*"]
    assert host_patterns("[fd00::1]:9000") == ["[fd00::1]:9000"]


def test_rebinding_protection_stays_on_whatever_the_bind_address() -> None:
    loopback = transport_security(Settings())
    assert loopback.enable_dns_rebinding_protection
    assert loopback.allowed_hosts == list(LOOPBACK_HOSTS)
    assert loopback.allowed_origins == list(LOOPBACK_ORIGINS)
    wide = transport_security(
        Settings(
            host="0.0.0.0",
            allowed_hosts=("mcp.example.com",),
            allowed_origins=("https://app.example.com/",),
        )
    )
    assert wide.enable_dns_rebinding_protection
    assert wide.allowed_hosts == [*LOOPBACK_HOSTS, "mcp.example.com", "mcp.example.com:*"]
    assert wide.allowed_origins == [*LOOPBACK_ORIGINS, "https://app.example.com"]
    specific = transport_security(Settings(host="10.0.0.5"))
    assert specific.allowed_hosts[-2:] == ["10.0.0.5", "10.0.0.5:*"]


def test_without_a_token_only_loopback_arrivals_pass() -> None:
    policy = AccessPolicy(None, allow_unauthenticated=False)
    assert not policy.requires_token
    assert policy.refusal(scope()) is None
    assert policy.refusal(scope(server=None)) is None  # a Unix socket is local
    refused = policy.refusal(scope(server=("10.0.0.5", 8000)))
    assert refused is not None and refused.status_code == 403
    waived = AccessPolicy(None, allow_unauthenticated=True)
    assert waived.refusal(scope(server=("10.0.0.5", 8000))) is None


@pytest.mark.parametrize(
    ("authorization", "error"),
    [
        (None, None),
        (b"Bearer", None),
        (b"Basic " + TOKEN.encode(), None),
        (TOKEN.encode(), None),
        (b"Bearer " + TOKEN.encode() + b"x", "invalid_token"),
        (b"Bearer " + TOKEN[:-1].encode(), "invalid_token"),
    ],
)
def test_a_token_is_required_and_compared_exactly(authorization: bytes | None, error: str | None) -> None:
    policy = AccessPolicy(TOKEN, allow_unauthenticated=False)
    refused = policy.refusal(scope(authorization))
    assert refused is not None and refused.status_code == 401
    challenge = refused.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="mix-mcp"')
    assert (f'error="{error}"' in challenge) if error else ("error=" not in challenge)
    assert TOKEN.encode() not in bytes(refused.body)


@pytest.mark.parametrize("authorization", [b"Bearer " + TOKEN.encode(), b"bearer  " + TOKEN.encode() + b" "])
def test_the_right_token_passes_from_anywhere(authorization: bytes) -> None:
    policy = AccessPolicy(TOKEN, allow_unauthenticated=False)
    assert policy.refusal(scope(authorization, server=("10.0.0.5", 8000))) is None


def test_token_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text(f"  {TOKEN}  \nsecond line ignored\n", encoding="utf-8")
    assert resolve_auth_token(Settings(auth_token_file=str(path))) == TOKEN
    assert resolve_auth_token(Settings(auth_token=TOKEN)) == TOKEN
    assert resolve_auth_token(Settings()) is None
    path.write_text("short\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="at least 16 printable characters"):
        resolve_auth_token(Settings(auth_token_file=str(path)))
    with pytest.raises(ConfigError, match="--auth-token-file / MIX_MCP_AUTH_TOKEN_FILE: cannot read"):
        resolve_auth_token(Settings(auth_token_file=str(tmp_path / "missing")))


def test_sse_messages_sit_beside_the_stream() -> None:
    assert messages_path("/sse") == "/messages/"
    assert messages_path("/mix/sse") == "/mix/messages/"
    assert messages_path("/mix/sse/") == "/mix/messages/"
    assert messages_path("/") == "/messages/"
