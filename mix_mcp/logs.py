"""Logging on stderr: text for people, or one JSON object per line for log shippers.

stdout is the MCP stdio channel, so every handler here writes to stderr. Lines that describe an
event (one tool call) carry their facts as ``fields``; the text format shows them as key=value,
the JSON format as top-level keys, so a log pipeline can filter on ``tool`` or ``outcome``
without parsing messages.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s %(message)s"
#: Keys a JSON line always has; event fields never overwrite them.
_RESERVED: Final = frozenset({"time", "level", "logger", "message", "exception"})


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, RFC 3339), level, logger, message, then the event's fields."""

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        entry: dict[str, Any] = {
            "time": moment.replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, Mapping):
            entry.update({str(k): v for k, v in fields.items() if k not in _RESERVED})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str, log_format: str = "text") -> None:
    """Send logs to stderr at ``level``, as text or JSON lines (no-op when logging is already set up)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=getattr(logging, level), handlers=[handler])


def log_event(logger: logging.Logger, level: int, fields: Mapping[str, Any]) -> None:
    """Log ``fields`` as one line: ``k=v ...`` as the message, and the fields themselves for JSON output."""
    if logger.isEnabledFor(level):
        message = " ".join(f"{key}={value}" for key, value in fields.items())
        logger.log(level, message, extra={"fields": dict(fields)})
