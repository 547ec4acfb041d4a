"""Settings from flags and environment, validated once at start.

Every limit and timeout is a named setting with a sane default, so that a bad value fails at
start with a message naming the flag and variable, never later inside a tool call.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

DEFAULT_BASE_URL: Final = "http://localhost:8088"
LOG_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS: Final = ("text", "json")
_HEADER_NAME: Final = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_RESERVED_HEADERS: Final = frozenset({"host", "content-length", "transfer-encoding", "connection"})
_TOOL_NAME: Final = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class ConfigError(ValueError):
    """A setting is unusable; the message names the flag or variable to fix."""


@dataclass(frozen=True, slots=True)
class Setting:
    """How one setting is spelled on the command line and in the environment, for docs and errors."""

    name: str
    flag: str
    env: str
    help: str
    #: Never printed, logged or written anywhere but where the user typed it; shown as a placeholder.
    secret: bool = False


@dataclass(frozen=True)
class Settings:
    """Everything the server needs to reach Mix. Immutable once validated."""

    base_url: str = DEFAULT_BASE_URL
    api_key: str | None = field(default=None, repr=False)
    extra_headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    call_timeout: float = 60.0
    max_retries: int = 2
    retry_deadline: float = 15.0
    max_response_bytes: int = 64 * 1024 * 1024
    use_emulator: bool = False
    log_level: str = "WARNING"
    log_format: str = "text"
    read_only: bool = False
    tools: tuple[str, ...] | None = None
    exclude_tools: tuple[str, ...] | None = None
    confirm_destructive: bool = False

    def __post_init__(self) -> None:
        _check_base_url(self.base_url)
        for name in ("connect_timeout", "read_timeout", "call_timeout", "retry_deadline"):
            value = getattr(self, name)
            if not value > 0 or value > 3600:
                raise ConfigError(f"{describe_setting(name)} must be between 0 and 3600 seconds, got {value}")
        if not 0 <= self.max_retries <= 10:
            raise ConfigError(f"{describe_setting('max_retries')} must be between 0 and 10, got {self.max_retries}")
        if self.max_response_bytes < 1024:
            raise ConfigError(f"{describe_setting('max_response_bytes')} must be at least 1024 bytes")
        if self.api_key is not None and (not self.api_key.strip() or any(c in self.api_key for c in "\r\n")):
            raise ConfigError(f"{describe_setting('api_key')} must be a non-empty single-line token")
        for name, value in self.extra_headers.items():
            _check_header(name, value)
        if self.log_level not in LOG_LEVELS:
            raise ConfigError(f"{describe_setting('log_level')} must be one of {', '.join(LOG_LEVELS)}")
        if self.log_format not in LOG_FORMATS:
            raise ConfigError(f"{describe_setting('log_format')} must be one of {', '.join(LOG_FORMATS)}")
        for name in ("tools", "exclude_tools"):
            names = getattr(self, name)
            if names is not None and (not names or not all(_TOOL_NAME.match(n) for n in names)):
                raise ConfigError(
                    f"{describe_setting(name)} takes tool names separated by commas, e.g. list_sessions,get_session; "
                    f"got {','.join(names)!r}"
                )

    @property
    def display_base_url(self) -> str:
        """The base URL without any user:password part, safe to show in logs and errors."""
        return redact_url(self.base_url)

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


SETTINGS: Final = (
    Setting("base_url", "--base-url", "MIX_BASE_URL", "Mix REST API base URL."),
    Setting(
        "api_key",
        "--api-key",
        "MIX_API_KEY",
        "Mix API key, sent as 'Authorization: Bearer'. Never logged.",
        secret=True,
    ),
    Setting(
        "extra_headers",
        "--header",
        "MIX_EXTRA_HEADERS",
        "Extra request headers: flag 'Name: value' (repeatable); env a JSON object.",
        secret=True,
    ),
    Setting("connect_timeout", "--connect-timeout", "MIX_CONNECT_TIMEOUT", "Seconds to establish a connection."),
    Setting("read_timeout", "--read-timeout", "MIX_READ_TIMEOUT", "Seconds to wait for Mix's answer."),
    Setting(
        "call_timeout",
        "--timeout",
        "MIX_MCP_TIMEOUT",
        "Deadline of one tool call in seconds, retries included.",
    ),
    Setting("max_retries", "--max-retries", "MIX_MAX_RETRIES", "Retries after a failed attempt, where safe."),
    Setting(
        "retry_deadline",
        "--retry-deadline",
        "MIX_RETRY_DEADLINE",
        "No retry starts later than this many seconds after a call began.",
    ),
    Setting(
        "max_response_bytes",
        "--max-response-bytes",
        "MIX_MAX_RESPONSE_BYTES",
        "Largest Mix response accepted, in bytes.",
    ),
    Setting("use_emulator", "--emulator", "MIX_MCP_EMULATOR", "Run against the built-in Mix emulator (in process)."),
    Setting(
        "log_level",
        "--log-level",
        "MIX_MCP_LOG_LEVEL",
        "Level of the logs on stderr; INFO logs one line per tool call and per retry.",
    ),
    Setting(
        "log_format",
        "--log-format",
        "MIX_MCP_LOG_FORMAT",
        "Log format on stderr: 'text' (key=value lines), or 'json' (one object per line, for log shippers).",
    ),
    Setting(
        "read_only",
        "--read-only",
        "MIX_MCP_READ_ONLY",
        "Publish only the read-only tools (list_sessions, get_session, export_session).",
    ),
    Setting("tools", "--tools", "MIX_MCP_TOOLS", "Publish only these tools (names separated by commas)."),
    Setting("exclude_tools", "--exclude-tools", "MIX_MCP_EXCLUDE_TOOLS", "Never publish these tools (comma list)."),
    Setting(
        "confirm_destructive",
        "--confirm-destructive",
        "MIX_MCP_CONFIRM_DESTRUCTIVE",
        "Ask the user (MCP elicitation) before delete_session and rewind_session; refuse if the client cannot ask.",
    ),
)
_BY_NAME: Final = {s.name: s for s in SETTINGS}


def describe_setting(name: str) -> str:
    setting = _BY_NAME[name]
    return f"{setting.flag} / {setting.env}"


def redact_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def _check_base_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"{describe_setting('base_url')} must be an http(s) URL such as {DEFAULT_BASE_URL}, got {redact_url(url)!r}"
        )
    if parts.query or parts.fragment:
        raise ConfigError(f"{describe_setting('base_url')} must not carry a query or fragment")


def _check_header(name: str, value: str) -> None:
    if not _HEADER_NAME.match(name):
        raise ConfigError(f"{describe_setting('extra_headers')}: {name!r} is not a valid header name")
    if name.lower() in _RESERVED_HEADERS:
        raise ConfigError(f"{describe_setting('extra_headers')}: {name!r} is managed by the HTTP client")
    if any(c in value for c in "\r\n\x00"):
        raise ConfigError(f"{describe_setting('extra_headers')}: the value of {name!r} has a line break")


def parse_header_flag(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep:
        raise ConfigError(f"--header takes 'Name: value', got {text!r}")
    return name.strip(), value.strip()


def _parse_bool(name: str, text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"{describe_setting(name)} must be true or false, got {text!r}")


def _parse_number(name: str, text: str, kind: type[int] | type[float]) -> int | float:
    try:
        return kind(text)
    except ValueError:
        raise ConfigError(f"{describe_setting(name)} must be a number, got {text!r}") from None


def parse_names(text: str) -> tuple[str, ...]:
    """``'a, b,c'`` -> ``('a', 'b', 'c')``: a comma-separated list of names, blanks dropped."""
    return tuple(name.strip() for name in text.split(",") if name.strip())


def _parse_headers_env(text: str) -> dict[str, str]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ConfigError('MIX_EXTRA_HEADERS must be a JSON object of strings, e.g. {"X-Team": "research"}')
    return {str(k): v for k, v in value.items()}


def settings_from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Read the environment into keyword arguments for ``Settings`` (unset variables are left out)."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    kinds = {f.name: f.type for f in fields(Settings)}
    for setting in SETTINGS:
        raw = env.get(setting.env)
        if raw is None or (raw == "" and kinds[setting.name] != "bool"):
            continue
        kind = kinds[setting.name]
        if setting.name == "extra_headers":
            values[setting.name] = _parse_headers_env(raw)
        elif kind == "tuple[str, ...] | None":
            values[setting.name] = parse_names(raw)
        elif kind == "bool":
            values[setting.name] = _parse_bool(setting.name, raw)
        elif kind == "int":
            values[setting.name] = _parse_number(setting.name, raw, int)
        elif kind == "float":
            values[setting.name] = _parse_number(setting.name, raw, float)
        elif setting.name == "log_level":
            values[setting.name] = raw.strip().upper()
        elif setting.name == "log_format":
            values[setting.name] = raw.strip().lower()
        else:
            values[setting.name] = raw.strip()
    return values


def load_settings(overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Environment first, then flags (``overrides``; ``None`` values mean 'not given')."""
    values = settings_from_env(environ)
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        if key == "extra_headers":
            values[key] = {**values.get(key, {}), **value}
        else:
            values[key] = value
    return Settings(**values)


def env_value(settings: Settings, name: str) -> str:
    """A setting's value spelled the way ``settings_from_env`` reads it back."""
    value = getattr(settings, name)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return json.dumps(dict(value), separators=(",", ":"))
    return str(value)


def changed_settings(settings: Settings, *, always: tuple[str, ...] = ("base_url",)) -> list[Setting]:
    """The settings that differ from the defaults (plus ``always``), in table order."""
    defaults = Settings()
    return [s for s in SETTINGS if s.name in always or getattr(settings, s.name) != getattr(defaults, s.name)]
