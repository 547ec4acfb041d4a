"""The state key ring: where keys come from, the rules they follow, rotation, the refusal, and redaction."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp.server.request_state import InvalidRequestState

from mix_mcp.config import ConfigError, Settings, load_settings
from mix_mcp.observe.redaction import MASK, Redactor, secrets_of
from mix_mcp.serving.transports import build_app
from mix_mcp.state_keys import configured_keys, parse_key_file, parse_key_text, request_state_security

OLD = "o" * 20 + "-old-key-material-0123"
NEW = "n" * 20 + "-new-key-material-4567"


def test_keys_from_the_environment_are_comma_separated_first_one_first() -> None:
    settings = load_settings(environ={"MIX_MCP_STATE_KEY": f" {NEW} ,{OLD},"})
    assert configured_keys(settings) == (NEW, OLD)
    assert configured_keys(Settings()) == ()


def test_keys_from_a_file_are_one_per_line_with_comments_and_blanks_skipped(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    path.write_text(f"# rotated 2026-11\n{NEW}\n\n  {OLD}  \n", encoding="utf-8")
    assert configured_keys(Settings(state_key_file=str(path))) == (NEW, OLD)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("short-but-secret-1", "key 1 in X has 18 characters; each key needs at least 32"),
        (f"{NEW},tiny-secret-value", "key 2 in X has 17 characters"),
        (f"{NEW},{NEW}", "lists the same key twice"),
        (",,", "holds no key"),
        (f"{NEW[:20]}\x07{NEW[20:]}", "control character"),
    ],
    ids=["short", "second-short", "duplicate", "empty", "control"],
)
def test_bad_keys_are_refused_by_position_never_by_their_text(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_key_text(text, "X")
    assert expected in str(refused.value)
    for part in text.split(","):
        if len(part) >= 6:
            assert part not in str(refused.value)


def test_a_key_with_a_space_in_a_file_is_refused() -> None:
    with pytest.raises(ConfigError, match="space"):
        parse_key_file(f"{NEW} {OLD}\n", "the file")


def test_an_unreadable_key_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(ConfigError, match="--state-key-file / MIX_MCP_STATE_KEY_FILE: cannot read"):
        configured_keys(Settings(state_key_file=str(missing)))


def test_the_keys_are_given_once() -> None:
    with pytest.raises(ConfigError, match="give the state keys once"):
        Settings(state_key=NEW, state_key_file="/tmp/keys")


def test_rotation_the_first_key_seals_and_every_key_unseals() -> None:
    before = request_state_security(Settings(state_key=OLD)).codec
    during = request_state_security(Settings(state_key=f"{NEW},{OLD}")).codec
    after = request_state_security(Settings(state_key=NEW)).codec
    sealed_before = before.seal(b"question")
    assert during.unseal(sealed_before) == b"question", "the old key still unseals during the rotation"
    sealed_during = during.seal(b"question")
    assert after.unseal(sealed_during) == b"question", "the new key seals"
    with pytest.raises(InvalidRequestState):
        after.unseal(sealed_before)
    with pytest.raises(InvalidRequestState):
        before.unseal(sealed_during)


def test_without_keys_each_process_gets_its_own() -> None:
    one = request_state_security(Settings()).codec
    other = request_state_security(Settings()).codec
    with pytest.raises(InvalidRequestState):
        other.unseal(one.seal(b"question"))


def test_a_replicated_confirming_app_is_refused_and_a_keyed_or_sessionful_one_is_built() -> None:
    with pytest.raises(ConfigError, match="refusing to start") as refused:
        build_app(Settings(transport="http", stateless=True, confirm_destructive=True), None)
    assert "every replica" in str(refused.value)
    build_app(Settings(transport="http", stateless=True, confirm_destructive=True, state_key=NEW), None)
    build_app(Settings(transport="http", confirm_destructive=True), None)
    build_app(Settings(transport="http", stateless=True), None)


def test_state_keys_are_redacted_wherever_they_come_from(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    path.write_text(f"{NEW}\n{OLD}\n", encoding="utf-8")
    for settings in (Settings(state_key=f"{NEW},{OLD}"), Settings(state_key_file=str(path))):
        assert {NEW, OLD} <= set(secrets_of(settings))
        masked = Redactor.from_settings(settings).text(f"a={NEW} b={OLD}")
        assert masked == f"a={MASK} b={MASK}"
    bad = Settings(state_key=f"{NEW},short-bad-key1")
    assert {NEW, "short-bad-key1"} <= set(secrets_of(bad)), "even keys that start-up will refuse are masked"
