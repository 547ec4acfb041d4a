"""Settings from flags and environment, validated once at start.

Every limit and timeout is a named setting with a sane default, so that a bad value fails at
start with a message naming the flag and variable, never later inside a tool call. One table
(``SETTINGS``) drives the command-line flags, the environment variables and the README's tables.
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
TRANSPORTS: Final = ("stdio", "sse", "http")
#: Where each network transport listens unless ``--path`` says otherwise.
DEFAULT_PATHS: Final = {"http": "/mcp", "sse": "/sse"}
#: Operations endpoints, always at these paths and outside the token check.
HEALTH_PATH: Final = "/healthz"
READY_PATH: Final = "/readyz"
_MIN_TOKEN_LENGTH: Final = 16


class ConfigError(ValueError):
    """A setting is unusable; the message names the flag or variable to fix."""


@dataclass(frozen=True, slots=True)
class Setting:
    """How one setting is spelled on the command line and in the environment, for docs and errors."""

    name: str
    flag: str
    env: str
    help: str
    #: "mix": how to reach Mix (``serve`` and ``call``); "serve": how to serve MCP (``serve`` only).
    group: str = "mix"
    #: Never printed, logged or written anywhere but where the user typed it; shown as a placeholder.
    secret: bool = False


@dataclass(frozen=True)
class Settings:
    """Everything the server needs to reach Mix and to serve MCP. Immutable once validated."""

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
    no_ui: bool = False
    transport: str = "stdio"
    host: str = "127.0.0.1"
    port: int = 8000
    path: str | None = None
    stateless: bool = False
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    auth_token: str | None = field(default=None, repr=False)
    auth_token_file: str | None = None
    allow_unauthenticated: bool = False
    max_request_bytes: int = 1024 * 1024
    shutdown_grace: float = 30.0

    def __post_init__(self) -> None:
        _check_base_url(self.base_url)
        for name in ("connect_timeout", "read_timeout", "call_timeout", "retry_deadline", "shutdown_grace"):
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
        self._check_serving()

    def _check_serving(self) -> None:
        if self.transport not in TRANSPORTS:
            raise ConfigError(f"{describe_setting('transport')} must be one of {', '.join(TRANSPORTS)}")
        if not self.host or any(c.isspace() or c in "/[]" for c in self.host):
            raise ConfigError(f"{describe_setting('host')} must be a host name or IP address, got {self.host!r}")
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"{describe_setting('port')} must be between 0 and 65535, got {self.port}")
        if self.path is not None:
            _check_path(self.path)
        for host in self.allowed_hosts:
            if not host or any(c.isspace() or c in "/@" for c in host):
                raise ConfigError(f"{describe_setting('allowed_hosts')}: {host!r} is not a host or host:port")
        for origin in self.allowed_origins:
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
                raise ConfigError(
                    f"{describe_setting('allowed_origins')}: {origin!r} is not an origin such as https://app.example.com"
                )
        if self.auth_token is not None:
            check_token(self.auth_token, describe_setting("auth_token"))
        if self.auth_token is not None and self.auth_token_file is not None:
            raise ConfigError(
                f"give the MCP token once: {describe_setting('auth_token')} or {describe_setting('auth_token_file')}"
            )
        if not 1024 <= self.max_request_bytes <= 1024**3:
            raise ConfigError(f"{describe_setting('max_request_bytes')} must be between 1024 bytes and 1 GiB")

    @property
    def endpoint_path(self) -> str:
        """Where MCP clients connect on a network transport (the SSE stream for ``sse``)."""
        return self.path or DEFAULT_PATHS.get(self.transport, DEFAULT_PATHS["http"])

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
    Setting(
        "transport",
        "--transport",
        "MIX_MCP_TRANSPORT",
        "MCP transport: 'stdio', 'http' (Streamable HTTP) or 'sse' (the older HTTP+SSE).",
        "serve",
    ),
    Setting("host", "--host", "MIX_MCP_HOST", "Interface to listen on (http, sse).", "serve"),
    Setting("port", "--port", "MIX_MCP_PORT", "TCP port to listen on; 0 picks a free one (http, sse).", "serve"),
    Setting(
        "path",
        "--path",
        "MIX_MCP_PATH",
        "Endpoint path: default '/mcp' for http, '/sse' for sse (whose messages go to 'messages/' beside it).",
        "serve",
    ),
    Setting(
        "no_ui",
        "--no-ui",
        "MIX_MCP_NO_UI",
        "Publish no MCP App: no ui:// session view, no _meta.ui on get_session and export_session.",
        "serve",
    ),
    Setting(
        "stateless",
        "--stateless",
        "MIX_MCP_STATELESS",
        "Streamable HTTP without sessions: any replica can answer any request (no sticky sessions needed).",
        "serve",
    ),
    Setting(
        "allowed_hosts",
        "--allowed-hosts",
        "MIX_MCP_ALLOWED_HOSTS",
        "Host headers accepted besides loopback names, comma-separated ('name' or 'name:port').",
        "serve",
    ),
    Setting(
        "allowed_origins",
        "--allowed-origins",
        "MIX_MCP_ALLOWED_ORIGINS",
        "Browser Origins accepted besides loopback ones, comma-separated (e.g. 'https://app.example.com').",
        "serve",
    ),
    Setting(
        "auth_token",
        "--auth-token",
        "MIX_MCP_AUTH_TOKEN",
        f"Bearer token MCP clients must send (at least {_MIN_TOKEN_LENGTH} characters). Never logged.",
        "serve",
        secret=True,
    ),
    Setting(
        "auth_token_file",
        "--auth-token-file",
        "MIX_MCP_AUTH_TOKEN_FILE",
        "File holding that token (its first line), instead of --auth-token.",
        "serve",
    ),
    Setting(
        "allow_unauthenticated",
        "--allow-unauthenticated",
        "MIX_MCP_ALLOW_UNAUTHENTICATED",
        "Listen on a non-loopback address without a token (only behind something that authenticates).",
        "serve",
    ),
    Setting(
        "max_request_bytes",
        "--max-request-bytes",
        "MIX_MCP_MAX_REQUEST_BYTES",
        "Largest MCP request body accepted, in bytes; larger ones get HTTP 413.",
        "serve",
    ),
    Setting(
        "shutdown_grace",
        "--shutdown-grace",
        "MIX_MCP_SHUTDOWN_GRACE",
        "Seconds a stopping server waits for tool calls in flight.",
        "serve",
    ),
)
SETTING_GROUPS: Final = {"mix": "Mix connection", "serve": "MCP server"}
_BY_NAME: Final = {s.name: s for s in SETTINGS}
#: Settings that take a comma-separated list (a tuple of names), from a flag or the environment alike.
LIST_SETTINGS: Final = frozenset(f.name for f in fields(Settings) if str(f.type).startswith("tuple"))


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


def _check_path(path: str) -> None:
    if not path.startswith("/") or any(c.isspace() or c in "?#%" for c in path):
        raise ConfigError(f"{describe_setting('path')} must be a URL path such as /mcp, got {path!r}")
    if path.rstrip("/") in (HEALTH_PATH, READY_PATH):
        raise ConfigError(f"{describe_setting('path')} cannot be {path!r}: it is an operations endpoint")


def check_token(token: str, where: str) -> None:
    """A token clients must present: long enough to resist guessing, and one header-safe word."""
    if len(token) < _MIN_TOKEN_LENGTH or any(c.isspace() or not c.isprintable() for c in token):
        raise ConfigError(
            f"{where} must be at least {_MIN_TOKEN_LENGTH} printable characters without spaces "
            "(e.g. the output of `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
        )


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


def _parse_headers_env(text: str) -> dict[str, str]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ConfigError('MIX_EXTRA_HEADERS must be a JSON object of strings, e.g. {"X-Team": "research"}')
    return {str(k): v for k, v in value.items()}


def split_list(text: str) -> tuple[str, ...]:
    """A comma-separated value as a tuple, blanks dropped: 'a, b,' -> ('a', 'b')."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


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
        elif setting.name in LIST_SETTINGS:
            values[setting.name] = split_list(raw)
        elif kind == "bool":
            values[setting.name] = _parse_bool(setting.name, raw)
        elif kind == "int":
            values[setting.name] = _parse_number(setting.name, raw, int)
        elif kind == "float":
            values[setting.name] = _parse_number(setting.name, raw, float)
        else:
            values[setting.name] = raw.strip()
    return values


def _normalized(name: str, value: Any) -> Any:
    """One spelling whatever the source: log levels upper case, formats and transports lower case."""
    if isinstance(value, str):
        if name == "log_level":
            return value.upper()
        if name in ("log_format", "transport"):
            return value.lower()
    return value


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
    return Settings(**{key: _normalized(key, value) for key, value in values.items()})


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
