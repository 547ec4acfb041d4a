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


def test_serving_settings_from_the_environment() -> None:
    env = {
        "MIX_MCP_TRANSPORT": "HTTP",
        "MIX_MCP_HOST": "0.0.0.0",
        "MIX_MCP_PORT": "9000",
        "MIX_MCP_PATH": "/mix/mcp",
        "MIX_MCP_STATELESS": "yes",
        "MIX_MCP_ALLOWED_HOSTS": "mcp.example.com, mcp.internal:8443,",
        "MIX_MCP_ALLOWED_ORIGINS": "https://app.example.com",
        "MIX_MCP_AUTH_TOKEN": "0123456789abcdef-secret",
        "MIX_MCP_MAX_REQUEST_BYTES": "65536",
        "MIX_MCP_SHUTDOWN_GRACE": "5",
    }
    settings = load_settings(environ=env)
    assert settings.transport == "http" and settings.host == "0.0.0.0" and settings.port == 9000
    assert settings.endpoint_path == "/mix/mcp" and settings.stateless is True
    assert settings.allowed_hosts == ("mcp.example.com", "mcp.internal:8443")
    assert settings.allowed_origins == ("https://app.example.com",)
    assert settings.max_request_bytes == 65536 and settings.shutdown_grace == 5.0
    assert "0123456789abcdef-secret" not in repr(settings)


def test_default_endpoint_paths() -> None:
    assert Settings(transport="http").endpoint_path == "/mcp"
    assert Settings(transport="sse").endpoint_path == "/sse"
    assert Settings(transport="sse", path="/mix/sse").endpoint_path == "/mix/sse"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MIX_MCP_TRANSPORT": "websocket"}, "--transport / MIX_MCP_TRANSPORT must be one of stdio, sse, http"),
        ({"MIX_MCP_PORT": "70000"}, "--port / MIX_MCP_PORT must be between 0 and 65535"),
        ({"MIX_MCP_PATH": "mcp"}, "must be a URL path such as /mcp"),
        ({"MIX_MCP_PATH": "/healthz"}, "it is an operations endpoint"),
        ({"MIX_MCP_HOST": "http://0.0.0.0"}, "must be a host name or IP address"),
        ({"MIX_MCP_ALLOWED_HOSTS": "https://mcp.example.com"}, "is not a host or host:port"),
        ({"MIX_MCP_ALLOWED_ORIGINS": "app.example.com"}, "is not an origin"),
        ({"MIX_MCP_AUTH_TOKEN": "short"}, "at least 16 printable characters"),
        ({"MIX_MCP_AUTH_TOKEN": "has a space in it, too long"}, "without spaces"),
        ({"MIX_MCP_AUTH_TOKEN": "0123456789abcdef", "MIX_MCP_AUTH_TOKEN_FILE": "/x"}, "give the MCP token once"),
        ({"MIX_MCP_MAX_REQUEST_BYTES": "10"}, "between 1024 bytes and 1 GiB"),
        ({"MIX_MCP_SHUTDOWN_GRACE": "0"}, "between 0 and 3600"),
        ({"MIX_MCP_STATELESS": "sometimes"}, "must be true or false"),
    ],
)
def test_bad_serving_settings_name_the_flag_and_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_settings(environ=env)


def test_flags_and_environment_are_spelled_alike() -> None:
    from_flags = load_settings({"log_level": "info", "log_format": "JSON", "tools": ("get_session",)}, environ={})
    from_env = load_settings(
        environ={"MIX_MCP_LOG_LEVEL": "info", "MIX_MCP_LOG_FORMAT": "JSON", "MIX_MCP_TOOLS": "get_session"}
    )
    assert (from_flags.log_level, from_flags.log_format, from_flags.tools) == ("INFO", "json", ("get_session",))
    assert (from_env.log_level, from_env.log_format, from_env.tools) == (
        from_flags.log_level,
        from_flags.log_format,
        from_flags.tools,
    )
