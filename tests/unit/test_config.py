"""Settings: environment and flags, validated once, secrets kept out of reprs."""

from __future__ import annotations

import pytest

from mix_mcp.config import ConfigError, Settings, load_settings, parse_header_flag, redact_url


def test_defaults_point_at_mix_default() -> None:
    settings = load_settings(environ={})
    assert settings.base_url == "http://localhost:8088"
    assert settings.api_key is None


def test_environment_is_read_and_flags_win() -> None:
    env = {
        "MIX_BASE_URL": "https://mix.example.com/base",
        "MIX_API_KEY": "sk-secret",
        "MIX_READ_TIMEOUT": "12.5",
        "MIX_MAX_RETRIES": "4",
        "MIX_EXTRA_HEADERS": '{"X-Team": "a"}',
        "MIX_MCP_EMULATOR": "true",
        "MIX_MCP_LOG_LEVEL": "debug",
    }
    settings = load_settings({"read_timeout": 3.0, "extra_headers": {"X-Other": "b"}}, environ=env)
    assert settings.base_url == "https://mix.example.com/base"
    assert settings.read_timeout == 3.0
    assert settings.max_retries == 4
    assert settings.use_emulator is True
    assert settings.log_level == "DEBUG"
    assert dict(settings.extra_headers) == {"X-Team": "a", "X-Other": "b"}
    assert "sk-secret" not in repr(settings)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MIX_BASE_URL": "localhost:8088"}, "--base-url / MIX_BASE_URL must be an http(s) URL"),
        ({"MIX_READ_TIMEOUT": "soon"}, "--read-timeout / MIX_READ_TIMEOUT must be a number"),
        ({"MIX_READ_TIMEOUT": "-1"}, "between 0 and 3600"),
        ({"MIX_MAX_RETRIES": "99"}, "between 0 and 10"),
        ({"MIX_EXTRA_HEADERS": "X-Team: a"}, "MIX_EXTRA_HEADERS must be a JSON object"),
        ({"MIX_EXTRA_HEADERS": '{"Bad Header": "a"}'}, "not a valid header name"),
        ({"MIX_MCP_EMULATOR": "perhaps"}, "must be true or false"),
        ({"MIX_MCP_LOG_LEVEL": "LOUD"}, "must be one of"),
        ({"MIX_API_KEY": "a\nb"}, "single-line"),
    ],
)
def test_bad_settings_name_the_flag_and_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_settings(environ=env)


def test_credentials_in_the_url_are_never_displayed() -> None:
    settings = Settings(base_url="https://user:hunter2@mix.example.com:8443/api")
    assert settings.display_base_url == "https://mix.example.com:8443/api"
    assert redact_url("http://mix:8088") == "http://mix:8088"


def test_header_flag_parsing() -> None:
    assert parse_header_flag("X-Team: research") == ("X-Team", "research")
    with pytest.raises(ConfigError):
        parse_header_flag("no-colon")
