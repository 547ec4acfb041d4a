"""Assertions shared by the emulator tests: Mix's envelope and body shapes, checked exactly."""

from __future__ import annotations

from typing import Any

import httpx2

from mix_mcp.mix.models import ErrorResponse, ExportSession, SessionData


def assert_error(response: httpx2.Response, status: int, error_type: str, message: str | None = None) -> str:
    """The response is exactly Mix's error envelope; returns the message for further checks."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "type"}
    envelope = ErrorResponse.model_validate(body)
    assert envelope.error.code == status
    assert envelope.error.type == error_type
    if message is not None:
        assert envelope.error.message == message
    return envelope.error.message


def assert_no_nulls(data: dict[str, Any]) -> None:
    """Absent optional fields are omitted, never sent as null."""
    nulls = [key for key, value in data.items() if value is None]
    assert not nulls, f"null fields: {nulls}"


def session_body(response: httpx2.Response, status: int = 200) -> dict[str, Any]:
    """A ``SessionData`` body, validated against the contract model."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    SessionData.model_validate(body)
    assert_no_nulls(body)
    assert body["createdAt"].endswith("Z")
    return body


def export_body(response: httpx2.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    ExportSession.model_validate(body)
    return body


def message_ids(client: httpx2.Client, session_id: str) -> list[str]:
    return [message["id"] for message in export_body(client.get(f"/api/sessions/{session_id}/export"))["messages"]]
