"""Emulator input at its edges: strings that are not Unicode get 400, bodies over the limit 413, and a list made
huge by one session gets an error from mix-mcp that names the size and the way out."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from mix_mcp.emulator import SessionStore
from tests.support import clean_env, run_cli, running_emulator

LONE = b'"\\ud83d"'


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    with running_emulator("--max-body-bytes", "2000000") as url:
        yield url


def _post(url: str, path: str, body: bytes, **headers: str) -> httpx2.Response:
    with httpx2.Client(timeout=30) as http:
        return http.post(url + path, content=body, headers={"Content-Type": "application/json", **headers})


def test_a_lone_surrogate_is_a_400_wherever_it_is(emulator: str) -> None:
    created = _post(emulator, "/api/sessions", b'{"title": "fine"}')
    assert created.status_code == 201
    session = created.json()["id"]
    for path, body in [
        ("/api/sessions", b'{"title": ' + LONE + b"}"),
        (f"/api/sessions/{session}/fork", b'{"messageIndex": 0, "title": ' + LONE + b"}"),
        (f"/api/sessions/{session}/rewind", b'{"messageId": ' + LONE + b"}"),
    ]:
        answer = _post(emulator, path, body)
        assert answer.status_code == 400, (path, answer.text)
        assert "not valid Unicode" in answer.json()["error"]["message"]
    with httpx2.Client(timeout=30) as http:
        assert http.get(emulator + "/api/sessions").status_code == 200


def test_bodies_over_the_limit_get_413(emulator: str) -> None:
    big = json.dumps({"title": "x" * 2_100_000}).encode()
    announced = _post(emulator, "/api/sessions", big)
    assert announced.status_code == 413
    assert "--max-body-bytes" in announced.json()["error"]["message"]

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(big), 65536):
            yield big[start : start + 65536]

    with httpx2.Client(timeout=30) as http:
        streamed = http.post(emulator + "/api/sessions", content=chunks(), headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413
    assert _post(emulator, "/api/sessions", json.dumps({"title": "x" * 1_000_000}).encode()).status_code == 201


def test_the_default_limit_is_at_most_10_mib() -> None:
    from mix_mcp.emulator.body_limit import DEFAULT_MAX_BODY_BYTES

    assert DEFAULT_MAX_BODY_BYTES <= 10 * 1024 * 1024


def test_a_list_made_huge_by_one_session_names_the_size_and_the_way_out(tmp_path: Path) -> None:
    db = tmp_path / "mix.db"
    store = SessionStore(db)
    try:
        store.create_session(title="t" * 3_000_000)
    finally:
        store.close()
    with running_emulator("--db", str(db), "--no-seed") as url:
        done = run_cli("call", "list_sessions", "--base-url", url, "--max-response-bytes", "1048576", env=clean_env())
    assert done.returncode == 1
    message = done.stderr
    assert "larger than the 1,048,576-byte limit" in message
    assert "--max-response-bytes / MIX_MAX_RESPONSE_BYTES" in message
    assert "delete_session" in message and "title" in message
