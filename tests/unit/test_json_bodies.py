"""Mix's JSON answers: parsed from the bytes in place, with the standard library deciding every refusal, and a
large body let go once parsed."""

from __future__ import annotations

import json

import pytest

from mix_mcp.mix import client as mix_client
from mix_mcp.mix.client import Reply
from mix_mcp.mix.json_text import parse_json, valid_unicode
from mix_mcp.mix.lean_http import _Body

ACCEPTED = [
    b'{"a":1,"a":2}',
    b"\xef\xbb\xbf{}",  # a byte-order mark
    b"NaN",
    b"[1e400, -0.0, 123456789012345678901234567890]",
    '{"t": "café \\u2028 日本語"}'.encode(),
    "[1]".encode("utf-16"),  # json.loads detects UTF-16 and UTF-32
]
REFUSED = [b'"\xff"', b'{"a":1} x', b'{"a":', b"  ", b"<html>"]


@pytest.mark.parametrize("body", ACCEPTED)
def test_what_json_loads_accepts_parses_to_the_same_value(body: bytes) -> None:
    expected = json.loads(body)
    got = parse_json(body)
    assert json.dumps(got) == json.dumps(expected)  # NaN != NaN, so compare the JSON text


def test_lone_surrogates_become_the_replacement_character_so_the_result_can_be_written() -> None:
    body = b'{"title": "cut \\ud83d emoji", "\\udc00key": ["\\ud800", {"pair": "\\ud83d\\ude00 ok"}], "n": 1}'
    value = parse_json(body)
    assert value == {"title": "cut \ufffd emoji", "\ufffdkey": ["\ufffd", {"pair": "\U0001f600 ok"}], "n": 1}
    json.dumps(value, ensure_ascii=False).encode("utf-8")  # would raise on a lone surrogate
    assert parse_json('{"t": "\\udfff"}') == {"t": "\ufffd"}, "the event stream's text too"


def test_a_value_without_surrogates_is_left_as_it_is() -> None:
    value = {"a": ["café", "日本語 👩‍💻"], "b": {"c": 1.5}}
    assert valid_unicode(value) == value
    text = "日本語 👩‍💻"
    assert valid_unicode(text) is text


@pytest.mark.parametrize("body", REFUSED)
def test_what_json_loads_refuses_is_refused_with_its_error(body: bytes) -> None:
    with pytest.raises((json.JSONDecodeError, UnicodeDecodeError)) as ours:
        parse_json(body)
    with pytest.raises((json.JSONDecodeError, UnicodeDecodeError)) as theirs:
        json.loads(body)
    assert type(ours.value) is type(theirs.value)
    assert str(ours.value) == str(theirs.value)


def test_a_large_body_is_let_go_once_parsed_and_its_head_kept_for_messages() -> None:
    body = bytearray(b'{"x":"' + b"y" * (2 * 1024 * 1024) + b'"}')
    reply = Reply(200, "application/json", body, None)
    frozen = mix_client._immutable(reply)
    assert isinstance(frozen.body, bytes) and frozen.body == b'{"x":"' + b"y" * (2 * 1024 * 1024) + b'"}'
    assert len(body) == 0, "the growing buffer is freed as soon as it is copied"
    released = mix_client._released(frozen)
    assert released.body == frozen.body[: mix_client.SNIPPET_SOURCE_BYTES]
    assert (released.status, released.content_type) == (200, "application/json")


def test_a_small_body_is_kept_as_it_is() -> None:
    reply = Reply(200, "application/json", bytearray(b"{}"), None)
    assert mix_client._immutable(reply) is reply
    assert mix_client._released(reply) is reply


def test_a_body_in_pieces_is_joined_once_and_one_piece_is_not_copied() -> None:
    empty = _Body()
    assert len(empty) == 0 and empty.joined() == b""
    one = _Body()
    piece = b"x" * 1000
    one.append(piece)
    one.append(b"")
    assert one.joined() is piece
    many = _Body()
    for n in range(5):
        many.append(bytes([65 + n]) * 3)
    assert len(many) == 15
    assert many.joined() == b"AAABBBCCCDDDEEE"
    assert many.joined() == b"AAABBBCCCDDDEEE", "joining again gives the same body"
