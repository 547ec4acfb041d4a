"""Host and Origin checks against DNS rebinding, matched exactly: host by host, port by port, case-insensitively.

The SDK's own check compares by prefix, so ``Host: localhost:8000.evil.com`` passed for the pattern
``localhost:*`` while the legitimate ``LOCALHOST:8000`` and a port-less ``localhost`` were refused.
Here each header is first parsed strictly (a host name or IP literal, then at most a numeric port);
anything else is refused. A pattern's ``:*`` means any port, or none. The allowed lists are the
ones ``http_security.transport_security`` builds; the SDK's check is switched off in favour of this one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from mcp.server.transport_security import TransportSecuritySettings
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

_HOST: Final = re.compile(r"^(\[[0-9a-f:.]+\]|[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?)(?::([0-9]{1,5}))?$")
_ORIGIN: Final = re.compile(r"^(https?)://(.+)$")
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
_ANY: Final = -1
#: Decisions remembered per (Host, Origin) pair: a client sends the same pair on every request. Bounded,
#: so that a flood of distinct headers costs a re-parse, never memory.
_REMEMBERED: Final = 256


@dataclass(frozen=True, slots=True)
class _Pattern:
    host: str
    #: A port, ``_ANY`` (any port or none) or ``None`` (no port given).
    port: int | None

    def matches(self, host: str, port: int | None) -> bool:
        return host == self.host and (self.port == _ANY or self.port == port)


def _split(text: str) -> tuple[str, int | None] | None:
    """``host[:port]`` in lower case, or ``None`` when it is not exactly that."""
    match = _HOST.match(text.strip().lower())
    if match is None:
        return None
    port = int(match.group(2)) if match.group(2) is not None else None
    if port is not None and port > 65535:
        return None
    return match.group(1), port


def _pattern(entry: str) -> _Pattern | None:
    entry = entry.strip().lower()
    if entry.endswith(":*"):
        parsed = _split(entry[:-2])
        return None if parsed is None or parsed[1] is not None else _Pattern(parsed[0], _ANY)
    parsed = _split(entry)
    return None if parsed is None else _Pattern(*parsed)


class HostOriginPolicy:
    """Which Host and Origin headers a network endpoint accepts."""

    def __init__(self, security: TransportSecuritySettings) -> None:
        self._hosts = [p for p in map(_pattern, security.allowed_hosts) if p is not None]
        self._origins: list[tuple[str, _Pattern]] = []
        for entry in security.allowed_origins:
            match = _ORIGIN.match(entry.strip().lower().rstrip("/"))
            pattern = _pattern(match.group(2)) if match else None
            if match and pattern is not None:
                self._origins.append((match.group(1), pattern))
        self._verdicts: dict[tuple[bytes, bytes | None], int] = {}

    def host_allowed(self, header: str | None) -> bool:
        parsed = _split(header) if header else None
        return parsed is not None and any(p.matches(*parsed) for p in self._hosts)

    def origin_allowed(self, header: str | None) -> bool:
        if header is None:
            return True  # not a browser, or a same-origin request that did not send it
        match = _ORIGIN.match(header.strip().lower())
        parsed = _split(match.group(2)) if match else None
        if match is None or parsed is None:
            return False
        scheme, (host, port) = match.group(1), parsed
        # An origin at the scheme's default port may be written with or without it.
        default = _DEFAULT_PORTS[scheme]
        port = default if port is None else port
        for allowed_scheme, pattern in self._origins:
            wanted = default if pattern.port is None else pattern.port
            if allowed_scheme == scheme and pattern.host == host and wanted in (_ANY, port):
                return True
        return False

    def refusal(self, scope: Scope) -> Response | None:
        hosts: list[bytes] = []
        origins: list[bytes] = []
        for name, value in scope.get("headers", ()):
            if name == b"host":
                hosts.append(value)
            elif name == b"origin":
                origins.append(value)
        if len(hosts) != 1:
            return _refused(421, _WRONG_HOST)
        verdict = self._verdict(hosts[0], origins[0] if len(origins) == 1 else None)
        if verdict == 0 and len(origins) > 1:
            verdict = 403
        return None if verdict == 0 else _refused(verdict, _WRONG_HOST if verdict == 421 else _WRONG_ORIGIN)

    def _verdict(self, host: bytes, origin: bytes | None) -> int:
        key = (host, origin)
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = self._judge(host, origin)
            if len(self._verdicts) >= _REMEMBERED:
                self._verdicts.clear()
            self._verdicts[key] = verdict
        return verdict

    def _judge(self, host: bytes, origin: bytes | None) -> int:
        """0 when both headers are accepted, else the status of the refusal."""
        if not self.host_allowed(host.decode("latin-1")):
            return 421
        if not self.origin_allowed(None if origin is None else origin.decode("latin-1")):
            return 403
        return 0


_WRONG_HOST: Final = "This server does not answer for that Host; see --allowed-hosts."
_WRONG_ORIGIN: Final = "Requests from that Origin are not accepted; see --allowed-origins."


def _refused(status: int, message: str) -> Response:
    return JSONResponse(
        {"error": "forbidden" if status == 403 else "misdirected_request", "message": message}, status_code=status
    )


class HostOriginGuard:
    """ASGI wrapper that applies a ``HostOriginPolicy`` to every HTTP request before ``app`` sees it."""

    def __init__(self, app: ASGIApp, policy: HostOriginPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = self.policy.refusal(scope)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)


def without_sdk_check(security: TransportSecuritySettings) -> TransportSecuritySettings:
    """The settings for the SDK's transports: its prefix-matching check off, since ``HostOriginGuard`` does it."""
    return security.model_copy(update={"enable_dns_rebinding_protection": False})
