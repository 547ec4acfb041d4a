"""WireTrace: only a reported failure to write the request head proves that nothing was sent."""

from __future__ import annotations

import pytest

from mix_mcp.mix.wire_trace import WireTrace


async def _feed(*events: str) -> WireTrace:
    wire = WireTrace()
    for event in events:
        await wire(event, {})
    return wire


@pytest.mark.anyio
async def test_a_failed_head_write_proves_nothing_was_sent() -> None:
    wire = await _feed("connection.connect_tcp.started", "http11.send_request_headers.started",
                       "http11.send_request_headers.failed", "http11.receive_response_headers.failed")  # fmt: skip
    assert wire.nothing_sent


@pytest.mark.anyio
async def test_a_written_head_or_no_report_proves_nothing() -> None:
    sent = await _feed("http11.send_request_headers.started", "http11.send_request_headers.complete",
                       "http11.send_request_body.failed", "http11.receive_response_headers.failed")  # fmt: skip
    assert not sent.nothing_sent
    assert not (await _feed()).nothing_sent
