"""Structured, leveled logs on stderr, secrets masked: ``key=value`` text, or one JSON object per line.

stdout is the MCP stdio channel, so nothing here ever writes to it. Text lines are ``key=value``
pairs (values with spaces or odd characters are JSON-quoted, so each record stays on one line and
can be split by a machine), starting with ``ts``, ``level`` and ``logger``; JSON lines carry the
same facts as keys, for log shippers. mix-mcp's own events carry an ``event`` key and their fields;
lines from libraries carry their text as ``msg`` (``message`` in JSON). Every line goes through
the ``Redactor`` last, whatever logger produced it.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Mapping
from typing import Any, Final

from mix_mcp.observe.redaction import Redactor

_BARE: Final = re.compile(r"^[A-Za-z0-9_.:/%+@-]+$")
#: Libraries whose chatter is quieter than ours: httpx2 logs full URLs (with any user:password) at INFO
#: and httpcore2 logs raw response headers at DEBUG; mix-mcp logs each request itself, redacted.
_QUIET_LOGGERS: Final = ("httpx2", "httpcore2")
#: Keys a JSON line always has; event fields never overwrite them.
_RESERVED: Final = frozenset({"time", "level", "logger", "message", "exception"})


def _render(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".") if value == value else "nan"
    text = str(value)
    return text if _BARE.match(text) else json.dumps(text)


def kv(**fields: Any) -> str:
    """``key=value`` pairs in the given order."""
    return " ".join(f"{key}={_render(value)}" for key, value in fields.items())


def log_event(logger: logging.Logger, level: int, event: str, **fields: Any) -> None:
    """Log one structured event (cheap when the level is off)."""
    if logger.isEnabledFor(level):
        facts = {"event": event, **fields}
        logger.log(level, "%s", kv(**facts), extra={"structured": True, "fields": facts})


def _stamp(record: logging.LogRecord) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"


class KeyValueFormatter(logging.Formatter):
    """Formats every record, ours or a library's, as one redacted ``key=value`` line."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.redactor = redactor or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        head = kv(ts=_stamp(record), level=record.levelname, logger=record.name)
        message = record.getMessage()
        body = message if getattr(record, "structured", False) else kv(msg=message)
        line = f"{head} {body}"
        if record.exc_info:
            line += " " + kv(exc=self.formatException(record.exc_info))
        if record.stack_info:
            line += " " + kv(stack=record.stack_info)
        return self.redactor.text(line)


class JsonFormatter(logging.Formatter):
    """One redacted JSON object per record: time, level, logger, message, then the event's fields."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.redactor = redactor or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _stamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, Mapping):
            entry.update({str(k): v for k, v in fields.items() if k not in _RESERVED})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return self.redactor.text(json.dumps(entry, ensure_ascii=False, default=str))


class RejectedQueryFilter(logging.Filter):
    """Drops the query string from access-log lines of refused requests (status 400 and up).

    A client may put a credential in the URL (``?access_token=...``): a request that was refused
    for it must not leave it in the logs. uvicorn's access records carry
    ``(client, method, path with query, HTTP version, status)`` as arguments.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[4], int) and args[4] >= 400:
            path = str(args[2]).partition("?")
            record.args = (args[0], args[1], path[0] + ("?[query not logged]" if path[1] else ""), args[3], args[4])
        return True


def configure_logging(level: str, log_format: str = "text", redactor: Redactor | None = None) -> logging.Handler:
    """Send every log record to stderr at ``level``, formatted and redacted; returns the handler."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(redactor) if log_format == "json" else KeyValueFormatter(redactor))
    numeric = logging.getLevelName(level)
    logging.basicConfig(level=numeric, handlers=[handler], force=True)
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(numeric, logging.WARNING))
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RejectedQueryFilter) for f in access.filters):
        access.addFilter(RejectedQueryFilter())
    logging.captureWarnings(True)
    return handler
