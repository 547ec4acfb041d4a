"""The error taxonomy, and how each error reads to an agent: what failed, then the next step.

Agents act on text. Every message here names the operation, what Mix (or the network) said, and
one concrete thing to do next; none carries a header, a key or a stack trace.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from pydantic import ValidationError

SNIPPET_CHARS: Final = 200
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class ErrorHints:
    """Operation-specific next steps, so that advice fits the tool that failed."""

    not_found: str = "Call list_sessions to see the ids that exist."
    bad_request: str = "Fix the arguments named in the message and call again."


class MixMCPError(Exception):
    """Base of every error mix-mcp turns into an ``isError`` tool result."""

    def describe(self, hints: ErrorHints) -> str:
        return str(self)


class ArgumentsError(MixMCPError):
    """Tool arguments failed validation; raised before any HTTP request."""

    def __init__(self, tool: str, problems: list[str]) -> None:
        super().__init__(f"Invalid arguments for {tool}: " + "; ".join(problems))
        self.tool = tool
        self.problems = problems

    def describe(self, hints: ErrorHints) -> str:
        listed = "\n".join(f"- {p}" for p in self.problems)
        return (
            f"Invalid arguments for {self.tool} (nothing was sent to Mix):\n{listed}\n"
            "Fix these arguments (the tool's input schema lists the accepted names and limits) and call again."
        )

    @classmethod
    def from_validation(cls, tool: str, error: ValidationError) -> ArgumentsError:
        return cls(tool, [_format_pydantic_error(e) for e in error.errors(include_url=False)])


def _format_pydantic_error(item: object) -> str:
    assert isinstance(item, dict)
    location = ".".join(str(part) for part in item.get("loc", ())) or "arguments"
    kind = item.get("type", "")
    message = str(item.get("msg", "invalid"))
    if kind == "extra_forbidden":
        return f"{location}: unknown argument (check the tool's input schema for the accepted names)"
    if kind == "missing":
        return f"{location}: required argument is missing"
    message = message.removeprefix("Value error, ")
    return f"{location}: {message}"


@dataclass
class MixAPIError(MixMCPError):
    """Mix answered with an HTTP error status. ``error_type`` and ``message`` come from its envelope."""

    status: int
    method: str
    path: str
    message: str
    error_type: str | None = None
    operation: str | None = None
    envelope_ok: bool = True

    def __post_init__(self) -> None:
        super().__init__(f"HTTP {self.status} from {self.method} {self.path}: {self.message}")

    def describe(self, hints: ErrorHints) -> str:
        origin = f"HTTP {self.status}"
        if self.error_type:
            origin += f" {self.error_type}"
        origin += f" from {self.method} {self.path}"
        if not self.envelope_ok:
            origin += ", not in Mix's error format"
        op = f"{self.operation} failed" if self.operation else "Mix request failed"
        return f"{op}: {self.message} ({origin}). {self.next_step(hints)}"

    def next_step(self, hints: ErrorHints) -> str:
        if self.status == 404:
            return hints.not_found
        if self.status in (400, 409, 422):
            return hints.bad_request
        if self.status in (401, 403):
            return (
                "Mix rejected the credentials: set MIX_API_KEY (or --api-key) to a valid key for this Mix server "
                "and restart mix-mcp."
            )
        if self.status == 429:
            return "Mix is rate limiting; wait a few seconds before calling again."
        if self.status >= 500:
            return "Mix failed internally; try again shortly, and check the Mix server's logs if it persists."
        return "Check the arguments and the Mix server's logs."


@dataclass
class MixUnreachableError(MixMCPError):
    """No HTTP answer at all: connection refused, DNS failure, reset."""

    url: str
    reason: str
    operation: str | None = None

    def __post_init__(self) -> None:
        super().__init__(f"Mix is unreachable at {self.url}: {self.reason}")

    def describe(self, hints: ErrorHints) -> str:
        op = f"{self.operation} failed" if self.operation else "Mix request failed"
        return (
            f"{op}: Mix is unreachable at {self.url} ({self.reason}). Start the Mix server there, point mix-mcp at "
            "the right one with MIX_BASE_URL / --base-url, or try the built-in emulator with `mix-mcp serve "
            "--emulator`."
        )


@dataclass
class MixTimeoutError(MixMCPError):
    """Mix did not answer in time."""

    url: str
    phase: str
    seconds: float
    operation: str | None = None

    def __post_init__(self) -> None:
        super().__init__(f"Mix at {self.url} timed out ({self.phase} after {self.seconds:g}s)")

    def describe(self, hints: ErrorHints) -> str:
        op = f"{self.operation} failed" if self.operation else "Mix request failed"
        return (
            f"{op}: Mix at {self.url} did not answer in time ({self.phase} after {self.seconds:g}s). It may be "
            "overloaded; call again later, or raise MIX_READ_TIMEOUT / --read-timeout for slow operations."
        )


@dataclass
class MixResponseError(MixMCPError):
    """Mix answered, but not with what the contract promises (not JSON, truncated, wrong shape, too large)."""

    status: int
    method: str
    path: str
    content_type: str
    reason: str
    snippet: str = ""
    operation: str | None = None
    problems: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(f"Unexpected answer from {self.method} {self.path}: {self.reason}")

    def describe(self, hints: ErrorHints) -> str:
        op = f"{self.operation} failed" if self.operation else "Mix request failed"
        parts = [
            f"{op}: Mix's answer to {self.method} {self.path} {self.reason} "
            f"(HTTP {self.status}, content-type {self.content_type or 'none'})."
        ]
        if self.problems:
            parts.append("Contract mismatches: " + "; ".join(self.problems[:5]) + ".")
        if self.snippet:
            parts.append(f"Body starts: {self.snippet!r}.")
        parts.append(
            "Check that MIX_BASE_URL points at a Mix server (not a proxy or another service) and that it is "
            "healthy; `mix-mcp call list_sessions` shows whether the base URL answers."
        )
        return " ".join(parts)


def body_snippet(body: bytes, content_type: str = "") -> str:
    """A short, single-line, tag-free excerpt of a body, for error messages."""
    text = body[: SNIPPET_CHARS * 8].decode("utf-8", errors="replace")
    if "html" in content_type.lower() or text.lstrip().startswith("<"):
        text = _TAG.sub(" ", text)
    text = _SPACE.sub(" ", text).strip()
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text[:SNIPPET_CHARS] + ("..." if len(text) > SNIPPET_CHARS else "")
