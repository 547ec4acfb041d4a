"""The shared key ring that seals the 2026-07-28 confirmation round's state, so any replica can read it.

With ``--confirm-destructive``, a call to ``delete_session`` or ``rewind_session`` on the 2026-07-28
protocol returns a question plus an opaque ``requestState``; the client asks the user and calls
again with the answer and that state. The SDK's ``RequestStateBoundary`` seals the state (AES-GCM,
bound to the tool and its arguments). Under a key only one process knows, the answer fails whenever
it lands on another process: behind two ``--stateless`` replicas, or ``uvicorn --workers 2``. So the
operator gives every replica the same keys: ``MIX_MCP_STATE_KEY`` (comma-separated) or
``--state-key-file`` (one key per line). The first key seals; every key unseals, which lets a key be
rotated without failing the questions in flight.

This module sits beside ``config`` (below ``observe``), because the redaction of secrets needs the
keys as much as the server does. Keys never appear in an error message, a log line or a result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from mcp.server.request_state import RequestStateSecurity

from mix_mcp.config import ConfigError, Settings, describe_setting, split_list

#: The shortest key accepted: 32 characters (``secrets.token_urlsafe(32)`` gives 43).
MIN_KEY_CHARS: Final = 32
GENERATE_HINT: Final = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"


def parse_key_text(text: str, where: str) -> tuple[str, ...]:
    """The keys in ``MIX_MCP_STATE_KEY``'s text: comma-separated, surrounding blanks dropped."""
    return _checked(split_list(text), where)


def parse_key_file(text: str, where: str) -> tuple[str, ...]:
    """The keys in a key file: one per line; blank lines and lines starting with '#' are skipped."""
    lines = (line.strip() for line in text.splitlines())
    return _checked(tuple(line for line in lines if line and not line.startswith("#")), where)


def _checked(keys: tuple[str, ...], where: str) -> tuple[str, ...]:
    if not keys:
        raise ConfigError(f"{where} holds no key; generate one with {GENERATE_HINT}")
    for number, key in enumerate(keys, 1):
        # The message names the key by its position, never by any part of its text.
        if len(key) < MIN_KEY_CHARS:
            raise ConfigError(
                f"key {number} in {where} has {len(key)} characters; each key needs at least {MIN_KEY_CHARS} "
                f"(generate one with {GENERATE_HINT})"
            )
        if any(c.isspace() or not c.isprintable() for c in key):
            raise ConfigError(f"key {number} in {where} has a space or a control character; keys are one word each")
    if len(set(keys)) != len(keys):
        raise ConfigError(f"{where} lists the same key twice; each key may appear once")
    return keys


def _read_key_file(path_text: str) -> tuple[str, ...]:
    path = Path(path_text).expanduser()
    where = describe_setting("state_key_file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise ConfigError(f"{where}: cannot read {path}: {reason}") from None
    return parse_key_file(text, f"{path} ({where})")


def configured_keys(settings: Settings) -> tuple[str, ...]:
    """The ring from ``--state-key`` / ``MIX_MCP_STATE_KEY`` or ``--state-key-file``; empty when neither is set.

    Raises:
        ConfigError: a key is too short or repeated, or the file cannot be read.
    """
    if settings.state_key_file is not None:
        return _read_key_file(settings.state_key_file)
    if settings.state_key is not None:
        return parse_key_text(settings.state_key, describe_setting("state_key"))
    return ()


def key_secrets(settings: Settings) -> list[str]:
    """The keys, for the redaction of every text mix-mcp writes; never raises (start-up reports bad keys)."""
    try:
        return list(configured_keys(settings))
    except ConfigError:
        if settings.state_key is not None:
            return [*split_list(settings.state_key), settings.state_key]
        return []


def request_state_security(settings: Settings) -> RequestStateSecurity:
    """The policy the server's request-state boundary seals with: the shared ring, else a process-only key."""
    keys = configured_keys(settings)
    if not keys:
        return RequestStateSecurity.ephemeral()
    return RequestStateSecurity(keys=list(keys))


def require_shared_key(settings: Settings) -> None:
    """Refuse to start a replicated server whose confirmations would fail on every other replica.

    Applies to ``--stateless`` Streamable HTTP with ``--confirm-destructive``: any replica may get
    the answer to a question another replica asked, so all of them must hold the same keys.
    """
    if not (settings.stateless and settings.confirm_destructive) or configured_keys(settings):
        return
    raise ConfigError(
        f"refusing to start: {describe_setting('stateless')} with {describe_setting('confirm_destructive')} "
        "needs a key shared by every replica. The user's answer to a confirmation may reach another replica "
        "(or worker) than the one that asked, and only a shared key lets it read the sealed question. Set "
        f"{describe_setting('state_key')} (at least {MIN_KEY_CHARS} characters, e.g. the output of "
        f"{GENERATE_HINT}) or {describe_setting('state_key_file')}, the same on every replica."
    )


__all__ = [
    "MIN_KEY_CHARS",
    "configured_keys",
    "key_secrets",
    "parse_key_file",
    "parse_key_text",
    "request_state_security",
    "require_shared_key",
]
