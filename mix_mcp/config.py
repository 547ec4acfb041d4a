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

from mix_mcp.listening import is_loopback

DEFAULT_BASE_URL: Final = "http://localhost:8088"
LOG_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS: Final = ("text", "json")
_HEADER_NAME: Final = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_RESERVED_HEADERS: Final = frozenset({"host", "content-length", "transfer-encoding", "connection"})
_TOOL_NAME: Final = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
TRANSPORTS: Final = ("stdio", "sse", "http")
#: Mix versions the built-in emulator can play (``mix_mcp.emulator.profiles`` holds what each one does).
EMULATOR_MIX_VERSIONS: Final = ("2025-10", "2026-02", "2025-09")
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
    #: How long send_message and follow_run wait for a run before returning it unfinished, with the
    #: follow_run call that goes on: below the 5 s some clients cut a tool call at (openai-agents).
    run_wait: float = 4.0
    max_retries: int = 2
    retry_deadline: float = 15.0
    max_response_bytes: int = 64 * 1024 * 1024
    #: Below the idle timeouts of common servers and proxies (nginx 75 s, Node 5 s, many gateways 60 s).
    keepalive_expiry: float = 4.0
    use_emulator: bool = False
    mix_version: str = EMULATOR_MIX_VERSIONS[0]
    log_level: str = "WARNING"
    log_format: str = "text"
    read_only: bool = False
    tools: tuple[str, ...] | None = None
    exclude_tools: tuple[str, ...] | None = None
    confirm_destructive: bool = False
    spotlight: bool = False
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
    oauth_issuer: str | None = None
    public_url: str | None = None
    oauth_introspection_url: str | None = None
    oauth_client_id: str | None = None
    oauth_client_secret: str | None = field(default=None, repr=False)
    state_key: str | None = field(default=None, repr=False)
    state_key_file: str | None = None
    session_idle_expiry: float = 900.0
    max_sessions: int = 1000
    body_timeout: float = 30.0

    def __post_init__(self) -> None:
        _check_base_url(self.base_url)
        for name in ("connect_timeout", "read_timeout", "call_timeout", "retry_deadline", "shutdown_grace"):
            value = getattr(self, name)
            if not value > 0 or value > 3600:
                raise ConfigError(f"{describe_setting(name)} must be between 0 and 3600 seconds, got {value}")
        if not 0.5 <= self.run_wait <= 3600:
            raise ConfigError(
                f"{describe_setting('run_wait')} must be between 0.5 and 3600 seconds, got {self.run_wait}"
            )
        if not 0.1 <= self.keepalive_expiry <= 3600:
            raise ConfigError(
                f"{describe_setting('keepalive_expiry')} must be between 0.1 and 3600 seconds, "
                f"got {self.keepalive_expiry}"
            )
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
        if self.mix_version not in EMULATOR_MIX_VERSIONS:
            raise ConfigError(
                f"{describe_setting('mix_version')} must be one of {', '.join(EMULATOR_MIX_VERSIONS)}, "
                f"got {self.mix_version!r}"
            )
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
        if self.state_key is not None and self.state_key_file is not None:
            raise ConfigError(
                f"give the state keys once: {describe_setting('state_key')} or {describe_setting('state_key_file')}"
            )
        if not 1024 <= self.max_request_bytes <= 1024**3:
            raise ConfigError(f"{describe_setting('max_request_bytes')} must be between 1024 bytes and 1 GiB")
        _check_oauth(self)
        for name in ("session_idle_expiry", "body_timeout"):
            value = getattr(self, name)
            if not 1 <= value <= 86400:
                raise ConfigError(f"{describe_setting(name)} must be between 1 and 86400 seconds, got {value}")
        if not 1 <= self.max_sessions <= 1_000_000:
            raise ConfigError(
                f"{describe_setting('max_sessions')} must be between 1 and 1000000, got {self.max_sessions}"
            )

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
    Setting(
        "run_wait",
        "--run-wait",
        "MIX_MCP_RUN_WAIT",
        "Seconds send_message and follow_run wait for an agent run before returning it unfinished, with the "
        "follow_run call that goes on (a call's max_wait_seconds overrides it; --timeout caps it).",
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
    Setting(
        "keepalive_expiry",
        "--keepalive-expiry",
        "MIX_KEEPALIVE_EXPIRY",
        "Seconds an idle pooled connection to Mix is kept for reuse (at least 0.1); keep it below Mix's idle timeout.",
    ),
    Setting("use_emulator", "--emulator", "MIX_MCP_EMULATOR", "Run against the built-in Mix emulator (in process)."),
    Setting(
        "mix_version",
        "--mix-version",
        "MIX_MCP_EMULATOR_MIX_VERSION",
        "Mix version the built-in emulator plays with --emulator: 2025-10, 2026-02 or 2025-09.",
    ),
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
        "Publish only the read-only tools (list_sessions, get_session, export_session, list_messages, "
        "list_session_files, read_session_file).",
    ),
    Setting("tools", "--tools", "MIX_MCP_TOOLS", "Publish only these tools (names separated by commas)."),
    Setting("exclude_tools", "--exclude-tools", "MIX_MCP_EXCLUDE_TOOLS", "Never publish these tools (comma list)."),
    Setting(
        "confirm_destructive",
        "--confirm-destructive",
        "MIX_MCP_CONFIRM_DESTRUCTIVE",
        "Ask the user (MCP elicitation) before delete_session, rewind_session and answer_permission; refuse if "
        "the client cannot ask.",
    ),
    Setting(
        "spotlight",
        "--spotlight",
        "MIX_MCP_SPOTLIGHT",
        "Wrap text from Mix sessions in per-result random boundaries that the tool descriptions call data.",
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
    Setting(
        "oauth_issuer",
        "--oauth-issuer",
        "MIX_MCP_OAUTH_ISSUER",
        "Accept OAuth 2.1 access tokens (JWTs) from this authorization server instead of a static token.",
        "serve",
    ),
    Setting(
        "public_url",
        "--public-url",
        "MIX_MCP_PUBLIC_URL",
        "The MCP endpoint's URL as clients reach it (e.g. https://mcp.example.com/mcp): the tokens' audience.",
        "serve",
    ),
    Setting(
        "oauth_introspection_url",
        "--oauth-introspection-url",
        "MIX_MCP_OAUTH_INTROSPECTION_URL",
        "Token introspection endpoint (RFC 7662) for opaque tokens; default: the issuer's, when a client is set.",
        "serve",
    ),
    Setting(
        "oauth_client_id",
        "--oauth-client-id",
        "MIX_MCP_OAUTH_CLIENT_ID",
        "Client id this server introspects opaque tokens with (enables introspection).",
        "serve",
    ),
    Setting(
        "oauth_client_secret",
        "--oauth-client-secret",
        "MIX_MCP_OAUTH_CLIENT_SECRET",
        "That client's secret. Never logged.",
        "serve",
        secret=True,
    ),
    Setting(
        "state_key",
        "--state-key",
        "MIX_MCP_STATE_KEY",
        "Key(s) sealing the confirmation round's state, the same on every replica (at least 32 characters; "
        "comma-separated: the first seals, all unseal). Never logged.",
        "serve",
        secret=True,
    ),
    Setting(
        "state_key_file",
        "--state-key-file",
        "MIX_MCP_STATE_KEY_FILE",
        "File holding those keys, one per line (the first seals), instead of --state-key.",
        "serve",
    ),
    Setting(
        "session_idle_expiry",
        "--session-idle-expiry",
        "MIX_MCP_SESSION_IDLE_EXPIRY",
        "Seconds a stateful Streamable HTTP session may stay idle before it is closed (http, not --stateless).",
        "serve",
    ),
    Setting(
        "max_sessions",
        "--max-sessions",
        "MIX_MCP_MAX_SESSIONS",
        "Most stateful Streamable HTTP sessions open at once; a new client beyond it gets 503 saying so.",
        "serve",
    ),
    Setting(
        "body_timeout",
        "--body-timeout",
        "MIX_MCP_BODY_TIMEOUT",
        "Seconds a client may take to send a request body; a slower one gets 408 (http, sse).",
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
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # an unusable port or bracket: show only what cannot hold a password
        return url.rpartition("@")[2] if "@" in url else url
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if port is not None:
        host = f"{host}:{port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def _check_base_url(url: str) -> None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (urlsplit checks the port only when asked for it)
    except ValueError as exc:
        raise ConfigError(
            f"{describe_setting('base_url')} is not a usable URL ({exc}), got {redact_url(url)!r}; "
            f"use e.g. {DEFAULT_BASE_URL}"
        ) from None
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


def _check_oauth(settings: Settings) -> None:
    """OAuth settings that fit together: an issuer and the public URL, never beside a static token."""
    for name in ("oauth_issuer", "public_url", "oauth_introspection_url"):
        value = getattr(settings, name)
        if value is not None:
            check_secure_url(value, describe_setting(name))
    if settings.oauth_issuer is None:
        given = [
            n for n in ("oauth_introspection_url", "oauth_client_id", "oauth_client_secret") if getattr(settings, n)
        ]
        if given:
            raise ConfigError(f"{describe_setting(given[0])} needs {describe_setting('oauth_issuer')}")
        return
    if settings.public_url is None:
        raise ConfigError(
            f"{describe_setting('oauth_issuer')} needs {describe_setting('public_url')}: the MCP endpoint's URL as "
            "clients reach it (e.g. https://mcp.example.com/mcp), which access tokens must name as their audience"
        )
    if settings.auth_token is not None or settings.auth_token_file is not None:
        raise ConfigError(
            f"choose one way to authenticate MCP clients: {describe_setting('oauth_issuer')} or "
            f"{describe_setting('auth_token')}"
        )
    if (settings.oauth_client_id is None) != (settings.oauth_client_secret is None):
        raise ConfigError(
            f"token introspection needs both {describe_setting('oauth_client_id')} and "
            f"{describe_setting('oauth_client_secret')}"
        )
    if settings.oauth_introspection_url is not None and settings.oauth_client_id is None:
        raise ConfigError(f"{describe_setting('oauth_introspection_url')} needs {describe_setting('oauth_client_id')}")


def check_secure_url(url: str, where: str) -> None:
    """An https URL, or http on a loopback host (a local test server): tokens and keys must not travel in clear."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(f"{where} must be an https URL without query or fragment, got {redact_url(url)!r}")
    if parts.scheme == "http" and not is_loopback(parts.hostname or ""):
        raise ConfigError(f"{where} must use https (http is accepted on loopback only), got {redact_url(url)!r}")


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
