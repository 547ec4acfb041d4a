"""Every refusal: validation rules with the contract's messages, 404s, bad bodies, routing errors and 500s."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from mix_mcp.emulator import DEMO_SESSION_ID, BackgroundEmulator, SessionStore
from mix_mcp.mix import endpoints

from ._support import assert_error

SESSION_TYPE_MESSAGE = (
    "API can only create main sessions. Use /fork endpoint for forked sessions. "
    "Subagent sessions are created automatically."
)
SUBAGENT_TYPE_MESSAGE = (
    "subagentType cannot be set for API-created sessions. "
    "Subagent sessions are created programmatically by the task delegation system."
)
PROMPT_MODE_MESSAGE = "promptMode must be 'default', 'append', or 'replace'"
BASH = {"toolName": "Bash", "type": "bash_script", "bashCommand": "true"}

CREATE_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("no-title", {}, "title is required"),
    ("empty-title", {"title": ""}, "title is required"),
    ("blank-title", {"title": "   "}, "title is required"),
    ("null-title", {"title": None}, "title is required"),
    ("number-title", {"title": 5}, "title must be a string"),
    ("bad-mode", {"title": "t", "promptMode": "prepend"}, PROMPT_MODE_MESSAGE),
    ("empty-mode", {"title": "t", "promptMode": ""}, PROMPT_MODE_MESSAGE),
    ("number-mode", {"title": "t", "promptMode": 1}, PROMPT_MODE_MESSAGE),
    (
        "append-75kb",
        {"title": "t", "promptMode": "append", "customSystemPrompt": "x" * 76_800},
        "Custom prompt size (75KB) exceeds append mode limit of 50KB",
    ),
    (
        "replace-150kb",
        {"title": "t", "promptMode": "replace", "customSystemPrompt": "x" * 153_600},
        "Custom prompt size (150KB) exceeds replace mode limit of 100KB",
    ),
    (
        "append-one-byte-over",
        {"title": "t", "promptMode": "append", "customSystemPrompt": "x" * 51_201},
        "Custom prompt size (51KB) exceeds append mode limit of 50KB",
    ),
    (
        "append-counts-utf8-bytes",
        {"title": "t", "promptMode": "append", "customSystemPrompt": "é" * 25_601},
        "Custom prompt size (51KB) exceeds append mode limit of 50KB",
    ),
    ("prompt-not-string", {"title": "t", "customSystemPrompt": 7}, "customSystemPrompt must be a string"),
    ("forked-type", {"title": "t", "sessionType": "forked"}, SESSION_TYPE_MESSAGE),
    ("subagent-type", {"title": "t", "sessionType": "subagent"}, SESSION_TYPE_MESSAGE),
    ("empty-session-type", {"title": "t", "sessionType": ""}, SESSION_TYPE_MESSAGE),
    ("subagent-type-set", {"title": "t", "subagentType": "general-purpose"}, SUBAGENT_TYPE_MESSAGE),
    ("subagent-type-empty", {"title": "t", "subagentType": ""}, SUBAGENT_TYPE_MESSAGE),
    ("callbacks-not-array", {"title": "t", "callbacks": {"toolName": "Bash"}}, "callbacks must be an array"),
]

CALLBACK_CASES: list[tuple[str, list[Any], str]] = [
    ("not-object", [5], "callbacks[0]: must be an object"),
    ("no-tool-name", [{"type": "bash_script", "bashCommand": "x"}], "callbacks[0]: toolName is required"),
    ("empty-tool-name", [{**BASH, "toolName": ""}], "callbacks[0]: toolName is required"),
    ("tool-name-number", [{**BASH, "toolName": 3}], "callbacks[0]: toolName must be a string"),
    ("no-type", [{"toolName": "Bash", "bashCommand": "x"}], "callbacks[0]: type is required"),
    (
        "unknown-type",
        [{"toolName": "Bash", "type": "webhook"}],
        "callbacks[0]: type must be 'bash_script', 'sub_agent', or 'send_message'",
    ),
    (
        "bash-without-command",
        [{"toolName": "Bash", "type": "bash_script"}],
        "callbacks[0]: bashCommand is required for bash_script callbacks",
    ),
    (
        "bash-empty-command",
        [{"toolName": "Bash", "type": "bash_script", "bashCommand": ""}],
        "callbacks[0]: bashCommand is required for bash_script callbacks",
    ),
    (
        "sub-agent-without-prompt",
        [{"toolName": "Write", "type": "sub_agent"}],
        "callbacks[0]: subAgentPrompt is required for sub_agent callbacks",
    ),
    (
        "send-message-without-content",
        [{"toolName": "*", "type": "send_message"}],
        "callbacks[0]: messageContent is required for send_message callbacks",
    ),
    (
        "send-message-exclude-from-context",
        [{"toolName": "*", "type": "send_message", "messageContent": "hi", "excludeFromContext": False}],
        "callbacks[0]: excludeFromContext is not allowed for send_message callbacks",
    ),
    ("timeout-string", [{**BASH, "bashTimeout": "60s"}], "callbacks[0]: bashTimeout must be an integer"),
    ("timeout-bool", [{**BASH, "bashTimeout": True}], "callbacks[0]: bashTimeout must be an integer"),
    ("timeout-float", [{**BASH, "bashTimeout": 1.5}], "callbacks[0]: bashTimeout must be an integer"),
    ("exclude-string", [{**BASH, "excludeFromContext": "yes"}], "callbacks[0]: excludeFromContext must be a boolean"),
    ("name-number", [{**BASH, "name": 1}], "callbacks[0]: name must be a string"),
    (
        "second-invalid",
        [BASH, {"toolName": "Bash", "type": "bash_script"}],
        "callbacks[1]: bashCommand is required for bash_script callbacks",
    ),
]


@pytest.mark.parametrize(("body", "message"), [case[1:] for case in CREATE_CASES], ids=[c[0] for c in CREATE_CASES])
def test_create_validation(client: httpx2.Client, body: dict[str, Any], message: str) -> None:
    assert_error(client.post("/api/sessions", json=body), 400, "validation_error", message)


@pytest.mark.parametrize(
    ("callbacks", "message"), [case[1:] for case in CALLBACK_CASES], ids=[c[0] for c in CALLBACK_CASES]
)
def test_callback_rules_on_create_and_update(client: httpx2.Client, callbacks: list[Any], message: str) -> None:
    assert_error(
        client.post("/api/sessions", json={"title": "t", "callbacks": callbacks}), 400, "validation_error", message
    )
    assert_error(
        client.patch(f"/api/sessions/{DEMO_SESSION_ID}/callbacks", json={"callbacks": callbacks}),
        400,
        "validation_error",
        message,
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "callbacks is required"),
        ({"callbacks": None}, "callbacks is required"),
        ({"callbacks": {}}, "callbacks must be an array"),
    ],
)
def test_update_callbacks_body(client: httpx2.Client, body: dict[str, Any], message: str) -> None:
    assert_error(
        client.patch(f"/api/sessions/{DEMO_SESSION_ID}/callbacks", json=body), 400, "validation_error", message
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "messageIndex is required"),
        ({"messageIndex": None}, "messageIndex is required"),
        ({"messageIndex": "1"}, "messageIndex must be an integer"),
        ({"messageIndex": True}, "messageIndex must be an integer"),
        ({"messageIndex": 1.5}, "messageIndex must be an integer"),
        ({"messageIndex": -1}, "messageIndex must be >= 0"),
        ({"messageIndex": 0, "title": 5}, "title must be a string"),
    ],
)
def test_fork_validation(client: httpx2.Client, body: dict[str, Any], message: str) -> None:
    assert_error(client.post(f"/api/sessions/{DEMO_SESSION_ID}/fork", json=body), 400, "validation_error", message)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "messageId is required"),
        ({"messageId": ""}, "messageId is required"),
        ({"messageId": 12}, "messageId must be a string"),
        ({"messageId": "msg_x", "cleanupMedia": "yes"}, "cleanupMedia must be a boolean"),
    ],
)
def test_rewind_validation(client: httpx2.Client, body: dict[str, Any], message: str) -> None:
    assert_error(client.post(f"/api/sessions/{DEMO_SESSION_ID}/rewind", json=body), 400, "validation_error", message)


def test_rewind_unknown_message(client: httpx2.Client) -> None:
    response = client.post(f"/api/sessions/{DEMO_SESSION_ID}/rewind", json={"messageId": "msg_missing"})
    assert_error(response, 404, "not_found", "Message not found in session: msg_missing")


def test_include_subagents_must_be_boolean(client: httpx2.Client) -> None:
    response = client.get("/api/sessions", params={"includeSubagents": "maybe"})
    assert_error(response, 400, "validation_error", "includeSubagents must be 'true' or 'false'")


VALID_BODIES: dict[str, dict[str, Any]] = {
    endpoints.UPDATE_SESSION_CALLBACKS.operation_id: {"callbacks": []},
    endpoints.FORK_SESSION.operation_id: {"messageIndex": 0},
    endpoints.REWIND_SESSION.operation_id: {"messageId": "msg_x"},
}
ID_ENDPOINTS = [endpoint for endpoint in endpoints.ALL_ENDPOINTS if endpoint.takes_id]


@pytest.mark.parametrize("endpoint", ID_ENDPOINTS, ids=[e.operation_id for e in ID_ENDPOINTS])
def test_unknown_session_is_404(client: httpx2.Client, endpoint: endpoints.Endpoint) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    body = VALID_BODIES.get(endpoint.operation_id)
    response = client.request(endpoint.method, endpoint.path.replace("{id}", missing), json=body)
    assert_error(response, 404, "not_found", f"Session not found: {missing}")


BODY_ENDPOINTS = [e for e in endpoints.ALL_ENDPOINTS if e.method in ("POST", "PATCH")]


@pytest.mark.parametrize("endpoint", BODY_ENDPOINTS, ids=[e.operation_id for e in BODY_ENDPOINTS])
@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{not json", "Invalid JSON in request body"),
        (b"", "Invalid JSON in request body"),
        (b'{"title": NaN}', "Invalid JSON in request body"),
        (b"\xff\xfe", "Invalid JSON in request body"),
        (b'["title"]', "Request body must be a JSON object"),
        (b'"title"', "Request body must be a JSON object"),
    ],
    ids=["malformed", "empty", "nan", "not-utf8", "array", "string"],
)
def test_body_must_be_a_json_object(
    client: httpx2.Client, endpoint: endpoints.Endpoint, raw: bytes, message: str
) -> None:
    path = endpoint.path.replace("{id}", DEMO_SESSION_ID)
    response = client.request(endpoint.method, path, content=raw, headers={"content-type": "application/json"})
    assert_error(response, 400, "bad_request", message)


@pytest.mark.parametrize("path", ["/api/nope", "/api/sessions/x/unknown", "/api/sessions/", "/"])
def test_unknown_route_is_404_envelope(client: httpx2.Client, path: str) -> None:
    assert_error(client.get(path), 404, "not_found", f"Route not found: GET {path}")


def test_wrong_method_is_405_envelope(client: httpx2.Client) -> None:
    response = client.put("/api/sessions", json={"title": "t"})
    assert_error(response, 405, "bad_request", "Method not allowed: PUT /api/sessions")
    assert {m.strip() for m in response.headers["allow"].split(",")} >= {"GET", "POST"}
    response = client.post(f"/api/sessions/{DEMO_SESSION_ID}/export")
    assert_error(response, 405, "bad_request")
    assert "DELETE" in client.patch(f"/api/sessions/{DEMO_SESSION_ID}").headers["allow"]


class _BrokenStore(SessionStore):
    def list_sessions(self, *, include_subagents: bool = False) -> list[dict[str, Any]]:
        raise RuntimeError("disk on fire: /var/lib/secret-path")


def test_unexpected_exception_is_500_envelope_without_details() -> None:
    store = _BrokenStore()
    try:
        with BackgroundEmulator(store=store) as emulator, httpx2.Client(base_url=emulator.url) as http:
            response = http.get("/api/sessions")
            assert_error(response, 500, "internal_error", "Internal server error")
            assert "secret-path" not in response.text
            assert "Traceback" not in response.text
            # The server survives the failure.
            assert_error(http.get("/api/sessions/nope"), 404, "not_found")
    finally:
        store.close()


@pytest.mark.parametrize("suffix", ["%2Fexport", "%2fexport", "%2F..%2F"])
def test_an_encoded_slash_keeps_the_id_one_segment(client: httpx2.Client, suffix: str) -> None:
    """``/api/sessions/<id>%2Fexport`` names a session whose id contains '/', never the export of <id>."""
    response = client.get(f"/api/sessions/{DEMO_SESSION_ID}{suffix}")
    message = assert_error(response, 404, "not_found")
    assert f"{DEMO_SESSION_ID}/" in message


def test_an_encoded_unicode_id_is_decoded(client: httpx2.Client) -> None:
    assert_error(client.get("/api/sessions/%C3%BCber"), 404, "not_found", "Session not found: über")
