"""Structured, leveled logs on stderr: one ``key=value`` line per event, secrets masked.

stdout is the MCP stdio channel, so nothing here ever writes to it. Lines are ``key=value`` pairs
(values with spaces or odd characters are JSON-quoted, so each record stays on one line and can be
split by a machine), starting with ``ts``, ``level`` and ``logger``. mix-mcp's own events carry an
``event`` key; lines from libraries carry their text as ``msg``. Every line goes through the
``Redactor`` last, whatever logger produced it.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import Any, Final

from mix_mcp.redaction import Redactor

#: ``extra`` marking a record whose message is already ``key=value`` pairs.
STRUCTURED: Final = {"structured": True}
_BARE: Final = re.compile(r"^[A-Za-z0-9_.:/%+@-]+$")
#: Libraries whose chatter is quieter than ours: httpx2 logs full URLs (with any user:password) at INFO
#: and httpcore2 logs raw response headers at DEBUG; mix-mcp logs each request itself, redacted.
_QUIET_LOGGERS: Final = ("httpx2", "httpcore2")


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
        logger.log(level, "%s", kv(event=event, **fields), extra=STRUCTURED)


class KeyValueFormatter(logging.Formatter):
    """Formats every record, ours or a library's, as one redacted ``key=value`` line."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.redactor = redactor or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        moment = time.gmtime(record.created)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", moment) + f".{int(record.msecs):03d}Z"
        head = kv(ts=stamp, level=record.levelname, logger=record.name)
        message = record.getMessage()
        body = message if getattr(record, "structured", False) else kv(msg=message)
        line = f"{head} {body}"
        if record.exc_info:
            line += " " + kv(exc=self.formatException(record.exc_info))
        if record.stack_info:
            line += " " + kv(stack=record.stack_info)
        return self.redactor.text(line)


def configure_logging(level: str, redactor: Redactor | None = None) -> logging.Handler:
    """Send every log record to stderr at ``level``, formatted and redacted; returns the handler."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(KeyValueFormatter(redactor))
    numeric = logging.getLevelName(level)
    logging.basicConfig(level=numeric, handlers=[handler], force=True)
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(numeric, logging.WARNING))
    logging.captureWarnings(True)
    return handler
