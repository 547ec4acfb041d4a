"""The error taxonomy, and how each error reads to an agent: what failed, then the next step.

Agents act on text. Every message here names the operation, what Mix (or the network) said, and
one concrete thing to do next; none carries a header, a key or a stack trace.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Final

from pydantic import ValidationError

from mix_mcp.config import describe_setting
from mix_mcp.mix.answers import reworded_validation

SNIPPET_CHARS: Final = 200
#: At most this many argument problems are listed; the rest are counted.
MAX_PROBLEMS: Final = 20
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class ErrorHints:
    """Operation-specific next steps, so that advice fits the tool that failed."""

    not_found: str = "Call list_sessions to see the ids that exist."
    bad_request: str = "Fix the arguments named in the message and call again."
    #: For writes that must not be repeated blindly: what to check when the outcome is unknown.
    maybe_applied: str = ""
    #: What to do instead when the Mix at hand does not offer the operation at all.
    unavailable: str = "Use the tools this server still lists, or upgrade the Mix server."
    #: What a 5xx most likely means for this operation, when it means something particular.
    server_error: str = ""
    #: (argument, advice) pairs: the advice when Mix's refusal names that argument.
    argument_advice: tuple[tuple[str, str], ...] = ()


class MixMCPError(Exception):
    """Base of every error mix-mcp turns into an ``isError`` tool result."""

    #: Attempts made before giving up; the client sets it, messages mention it when above one.
    attempts: int = 1
    #: A non-idempotent write may have reached Mix and been carried out before it failed.
    maybe_applied: bool = False

    def describe(self, hints: ErrorHints) -> str:
        """The whole message for the agent: what failed, why, and what to do next."""
        text = self.explain(hints)
        if self.maybe_applied and hints.maybe_applied:
            text += " " + hints.maybe_applied
        return text

    def explain(self, hints: ErrorHints) -> str:
        return str(self)

    def failed(self, operation: str | None) -> str:
        """``"<operation> failed"``, with the attempt count when retries were spent."""
        text = f"{operation} failed" if operation else "Mix request failed"
        return text + (f" after {self.attempts} attempts" if self.attempts > 1 else "")


class ArgumentsError(MixMCPError):
    """Tool arguments failed validation; raised before any HTTP request."""

    def __init__(self, tool: str, problems: list[str]) -> None:
        super().__init__(f"Invalid arguments for {tool}: " + "; ".join(problems))
        self.tool = tool
        self.problems = problems

    def explain(self, hints: ErrorHints) -> str:
        listed = "\n".join(f"- {p}" for p in self.problems[:MAX_PROBLEMS])
        if len(self.problems) > MAX_PROBLEMS:
            listed += f"\n- ... and {len(self.problems) - MAX_PROBLEMS} more"
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
    #: Seconds Mix asked to wait (``Retry-After``), when it said.
    retry_after: float | None = None
    content_type: str = ""
    #: The answer says the session does not exist although its status is not 404 (older Mix's 500 "no rows").
    missing: bool = False

    def __post_init__(self) -> None:
        super().__init__(f"HTTP {self.status} from {self.method} {self.path}: {self.message}")

    def explain(self, hints: ErrorHints) -> str:
        origin = f"HTTP {self.status}"
        if self.error_type:
            origin += f" {self.error_type}"
        origin += f" from {self.method} {self.path}"
        if not self.envelope_ok:
            origin += f", content-type {self.content_type or 'none'}, not in Mix's error format"
        message, argument = reworded_validation(self.message)
        if argument is not None:
            message = f"Mix refused the argument {argument!r}: {message}"
        if self.missing:
            message = (
                f"the session does not exist (Mix said {message!r}, an older Mix's way of saying not found; "
                "repeating will not change it)"
            )
        return f"{self.failed(self.operation)}: {message} ({origin}). {self.next_step(hints)}"

    def next_step(self, hints: ErrorHints) -> str:
        if self.status == 404 or self.missing:
            return hints.not_found
        if self.status in (400, 409, 422):
            text = self.message.lower()
            for argument, advice in hints.argument_advice:
                camel = argument.split("_")[0] + "".join(part.title() for part in argument.split("_")[1:])
                if argument in text or camel.lower() in text:
                    return advice
            return hints.bad_request
        if self.status in (401, 403):
            return (
                "Mix rejected the credentials: set MIX_API_KEY (or --api-key) to a valid key for this Mix server "
                "and restart mix-mcp."
            )
        if self.retry_after is not None and (self.status == 429 or self.status >= 500):
            return f"Mix asked to wait {math.ceil(self.retry_after)}s (Retry-After) before calling again."
        if self.status == 429:
            return "Mix is rate limiting; wait a few seconds before calling again."
        if self.status >= 500 and hints.server_error:
            return hints.server_error
        if self.status >= 500:
            return "Mix failed; try again shortly, and check the Mix server's logs if it persists."
        return "Check the arguments and the Mix server's logs."


@dataclass
class OperationUnavailableError(MixMCPError):
    """Mix's router has no such route (or not with this method): the running Mix version lacks the operation."""

    status: int
    method: str
    path: str
    answer: str
    operation: str | None = None

    def __post_init__(self) -> None:
        super().__init__(f"This Mix server does not offer {self.operation or self.path}")

    def explain(self, hints: ErrorHints) -> str:
        name = self.operation or f"{self.method} {self.path}"
        return (
            f"This Mix server does not offer {name}: {self.method} {self.path} answered HTTP {self.status} "
            f"{self.answer!r} from Mix's router, so this Mix version has no such endpoint (this is not about your "
            f"arguments). {hints.unavailable} mix-mcp now leaves {name} out of its tool list; `mix-mcp doctor` "
            "lists the operations this Mix offers."
        )


@dataclass
class WrongBaseURLError(MixMCPError):
    """Every route answered 404, Mix's health check included: the base URL is not a Mix server's root."""

    method: str
    path: str
    base_url: str
    operation: str | None = None

    def __post_init__(self) -> None:
        super().__init__(f"Mix answered 404 for every route under {self.base_url}")

    def explain(self, hints: ErrorHints) -> str:
        return (
            f"{self.failed(self.operation)}: Mix answered 404 for every route: is MIX_BASE_URL the Mix root? "
            f"`mix-mcp doctor` checks it. ({self.method} {self.path} answered 404, and so did the health check "
            f"beside it; {describe_setting('base_url')} is {self.base_url}.) Set it to the Mix server's root, such "
            "as http://localhost:8088, without /api or /mcp, and restart mix-mcp."
        )


@dataclass
class MixUnreachableError(MixMCPError):
    """No HTTP answer at all: connection refused, DNS failure, reset."""

    url: str
    reason: str
    operation: str | None = None

    def __post_init__(self) -> None:
        super().__init__(f"Mix is unreachable at {self.url}: {self.reason}")

    def explain(self, hints: ErrorHints) -> str:
        return (
            f"{self.failed(self.operation)}: Mix is unreachable at {self.url} ({self.reason}). Start the Mix server "
            "there, point mix-mcp at the right one with MIX_BASE_URL / --base-url, or try the built-in emulator "
            "with `mix-mcp serve --emulator`."
        )


@dataclass
class MixTimeoutError(MixMCPError):
    """Mix did not answer in time."""

    url: str
    phase: str
    seconds: float
    operation: str | None = None
    #: The setting that bounds this phase (``read_timeout``, ``connect_timeout`` or ``call_timeout``).
    setting: str = "read_timeout"

    def __post_init__(self) -> None:
        super().__init__(f"Mix at {self.url} timed out ({self.phase}: {self.seconds:g}s limit)")

    def explain(self, hints: ErrorHints) -> str:
        return (
            f"{self.failed(self.operation)}: Mix at {self.url} did not answer in time ({self.phase}: "
            f"{self.seconds:g}s limit). It may be overloaded; call again later, or raise "
            f"{describe_setting(self.setting)} if this operation is legitimately slow."
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

    def explain(self, hints: ErrorHints) -> str:
        parts = [
            f"{self.failed(self.operation)}: Mix's answer to {self.method} {self.path} {self.reason} "
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


class AnswerTooLargeError(MixResponseError):
    """An answer (a session file) over the limit of the call that asked for it: not a fault of Mix's."""

    def __init__(
        self, status: int, method: str, path: str, content_type: str, size: int, limit: int, advice: str
    ) -> None:
        self.size, self.limit, self.advice = size, limit, advice
        reason = f"is larger than the {limit:,}-byte limit (at least {size:,} bytes)"
        MixResponseError.__init__(self, status, method, path, content_type, reason)

    def explain(self, hints: ErrorHints) -> str:
        return (
            f"{self.failed(self.operation)}: the file is too large to return here: at least {self.size:,} bytes, over "
            f"the {self.limit:,}-byte limit (GET {self.path}, {self.content_type or 'no content-type'}). {self.advice}"
        )


class TruncatedAnswerError(MixResponseError):
    """The connection closed in the middle of the body: a network fault, so a safe request may be repeated."""


def body_snippet(body: bytes, content_type: str = "", limit: int = SNIPPET_CHARS) -> str:
    """A short, single-line, tag-free excerpt of a body, for error messages."""
    text = body[: limit * 8].decode("utf-8", errors="replace")
    if "html" in content_type.lower() or text.lstrip().startswith("<"):
        text = _TAG.sub(" ", text)
    text = _SPACE.sub(" ", text).strip()
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text[:limit] + ("..." if len(text) > limit else "")
