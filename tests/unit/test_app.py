"""The session view's wiring: when it is published, what the page is told, and that the page stays small."""

from __future__ import annotations

import base64
import hashlib
import json
import re

import pytest

from mix_mcp.cli.command import _settings_from, build_parser
from mix_mcp.config import Settings, load_settings
from mix_mcp.serving.console import VIEW_CSP, console_page
from mix_mcp.tools.app import APP_URI, MAX_BYTES, SessionApp, _script_json, _template, session_app
from mix_mcp.tools.operations import OPERATIONS, OPERATIONS_BY_NAME, select_operations


def _config(app: SessionApp) -> dict[str, object]:
    match = re.search(r'<script type="application/json" id="mix-config">(.*?)</script>', app.html, re.S)
    assert match is not None
    parsed: dict[str, object] = json.loads(match.group(1))
    return parsed


def test_the_page_is_told_the_tools_it_may_call_and_the_questions_asked_first() -> None:
    app = session_app(Settings(), OPERATIONS_BY_NAME)
    assert app is not None
    config = _config(app)
    assert config["tools"] == [
        "list_sessions",
        "get_session",
        "export_session",
        "fork_session",
        "rewind_session",
        "delete_session",
        "send_message",
        "follow_run",
        "answer_permission",
        "answer_notification",
        "cancel_run",
        "list_session_files",
        "read_session_file",
    ]
    assert config["confirm"] == {
        "delete_session": OPERATIONS_BY_NAME["delete_session"].confirm,
        "rewind_session": OPERATIONS_BY_NAME["rewind_session"].confirm,
        "answer_permission": OPERATIONS_BY_NAME["answer_permission"].confirm,
    }
    assert len(app.html.encode()) < MAX_BYTES
    assert app.tool_meta("get_session") == {"ui": {"resourceUri": APP_URI}}
    assert app.tool_meta("export_session") == {"ui": {"resourceUri": APP_URI}}
    assert app.tool_meta("fork_session") is None


def test_a_tool_the_server_leaves_out_is_left_out_of_the_page() -> None:
    settings = Settings(exclude_tools=("fork_session", "delete_session", "send_message", "list_session_files"))
    app = session_app(settings, {op.name: op for op in select_operations(settings)})
    assert app is not None
    assert _config(app)["tools"] == [
        "list_sessions",
        "get_session",
        "export_session",
        "rewind_session",
        "follow_run",
        "answer_permission",
        "answer_notification",
        "cancel_run",
        "read_session_file",
    ]


@pytest.mark.parametrize(
    "settings",
    [Settings(no_ui=True), Settings(tools=("list_sessions", "create_session", "fork_session"))],
    ids=["no-ui", "no-linked-tool"],
)
def test_no_view_without_ui_or_without_a_tool_that_shows_it(settings: Settings) -> None:
    assert session_app(settings, {op.name: op for op in select_operations(settings, OPERATIONS)}) is None


def test_no_ui_from_the_flag_and_from_the_environment() -> None:
    assert load_settings(environ={"MIX_MCP_NO_UI": "true"}).no_ui is True
    assert load_settings(environ={}).no_ui is False
    assert _settings_from(build_parser().parse_args(["serve", "--no-ui"])).no_ui is True


def test_configuration_cannot_end_its_script_element() -> None:
    hostile = {"confirm": {"x": "</script><script>alert(1)</script><!--"}}
    text = _script_json(hostile)
    assert "<" not in text and ">" not in text
    assert json.loads(text) == hostile


def test_the_template_has_one_configuration_slot_and_no_external_reference() -> None:
    html = _template()
    assert html.count("/*MIX_MCP_CONFIG*/{}") == 1
    assert not re.search(r"https?://", html)


def test_the_console_page_allows_only_its_own_script_and_style_by_hash() -> None:
    html, csp = console_page("/mcp")
    for kind in ("script", "style"):
        bodies = re.findall(rf"<{kind}>(.*?)</{kind}>", html, re.DOTALL)
        assert len(bodies) == 1
        digest = base64.b64encode(hashlib.sha256(bodies[0].encode()).digest()).decode()
        assert f"{kind}-src 'sha256-{digest}';" in csp
    # Paths relative to the page: right behind a proxy that adds a path prefix too.
    assert '"endpoint":"mcp"' in html.replace(" ", "")
    assert '"view":"console/view"' in html.replace(" ", "")
    # Mix text never reaches the console page itself, and the page never writes HTML from data.
    assert "innerHTML" not in html and "innerHTML" not in _template()
    assert "console.log" not in html


def test_the_view_served_at_console_view_keeps_its_own_policy() -> None:
    """/console/view sends the view's own CSP (its meta element's) as a header, framed only by the console."""
    meta = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', _template())
    assert meta is not None
    assert meta.group(1) + "; frame-ancestors 'self'" == VIEW_CSP
