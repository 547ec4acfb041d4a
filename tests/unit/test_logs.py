"""Structured logs: one key=value line per record, on stderr, redacted, with noisy HTTP loggers held back."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator

import pytest

from mix_mcp.observe.logs import KeyValueFormatter, configure_logging, kv, log_event
from mix_mcp.observe.redaction import Redactor


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, {n: logging.getLogger(n).level for n in ("httpx2", "httpcore2")})
    yield
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    for name, level in saved[2].items():
        logging.getLogger(name).setLevel(level)
    logging.captureWarnings(False)


def _record(message: str, *args: object, structured: bool = False) -> logging.LogRecord:
    record = logging.LogRecord("lib", logging.INFO, __file__, 1, message, args, None)
    if structured:
        record.structured = True
    return record


def test_kv_quotes_only_what_needs_it() -> None:
    line = kv(tool="get_session", status=None, ok=True, ms=12.50, path="/api/sessions/a%2Fb", note='two "words"\n')
    assert line == ('tool=get_session status=- ok=true ms=12.5 path=/api/sessions/a%2Fb note="two \\"words\\"\\n"')


def test_library_lines_become_msg_and_ours_stay_structured() -> None:
    formatter = KeyValueFormatter(Redactor(["secret-value-1"]))
    foreign = formatter.format(_record("sent %s", "Bearer secret-value-1\nnext"))
    assert foreign.startswith("ts=") and " level=INFO logger=lib " in foreign
    assert foreign.endswith('msg="sent Bearer [redacted]\\nnext"') and "\n" not in foreign
    ours = formatter.format(_record("%s", kv(event="tool_call", tool="x"), structured=True))
    assert ours.endswith("logger=lib event=tool_call tool=x")


def test_an_exception_stays_on_the_same_line() -> None:
    formatter = KeyValueFormatter()
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("lib", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    line = formatter.format(record)
    assert "\n" not in line and 'exc="Traceback' in line and "ValueError: boom" in line


def test_configure_logging_writes_to_stderr_and_holds_http_loggers_back(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("DEBUG", redactor=Redactor(["k-123456789"]))
    assert logging.getLogger("httpcore2").getEffectiveLevel() == logging.WARNING
    assert logging.getLogger("httpx2").getEffectiveLevel() == logging.WARNING
    log_event(logging.getLogger("mix_mcp.test"), logging.DEBUG, "probe", key="k-123456789")
    logging.getLogger("httpcore2.http11").debug("receive_response_headers.complete")
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "event=probe key=[redacted]" in captured.err
    assert "receive_response_headers" not in captured.err
