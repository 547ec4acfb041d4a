"""The session view: an MCP App (extension ``io.modelcontextprotocol/ui``) for get_session and export_session.

A transcript is easier to look at than to read as JSON. Hosts that render MCP Apps (in a sandboxed
iframe) show ``sessions.html`` beside the result of the two tools that name it in their
``_meta.ui.resourceUri``: the session's header, its transcript window by window, the session tree,
the session's files (images inline), and "fork here", "rewind to here" and "delete". It is also a
console: a message box sends to the session's agent (``send_message``), the run shows as it goes
(polled with ``follow_run``), permission requests and questions are answered in place
(``answer_permission``, ``answer_notification``) and Stop calls ``cancel_run``. Each is an ordinary
tool call through the host. ``serving.console`` serves the same page in a browser at ``/console``.

Everything here is additive, as the extension asks: tool results are unchanged, hosts that do not
render Apps ignore ``_meta.ui`` and never read the ``ui://`` resource, and ``--no-ui`` publishes none
of it. The page is one self-contained file (inline CSS and JS, no network at all: its CSP, both the
one declared to the host and the one in the page itself, allows no origin), shipped as package data.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources as package_files
from typing import Any, Final

import mcp_types as types
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID, ResourceCsp

from mix_mcp.config import Settings
from mix_mcp.tools.operations import Operation

APP_URI: Final = "ui://mix-mcp/sessions.html"
#: The tools whose results the view shows (the others it calls, but never renders a host's call of).
LINKED_TOOLS: Final = ("get_session", "export_session")
#: The tools the page may call through the host, when the server publishes them.
CALLED_TOOLS: Final = (
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
)
#: No origin at all: the page loads nothing and connects nowhere; the host's bridge is its only channel.
CSP: Final = ResourceCsp(connect_domains=[], resource_domains=[])
#: Where the page's configuration goes (a JSON script block, so that it is data, never code).
_CONFIG_SLOT: Final = "/*MIX_MCP_CONFIG*/{}"
#: The budget of the page, so that a host can load it quickly and keep it in memory.
MAX_BYTES: Final = 150 * 1024


def tool_meta(name: str) -> dict[str, Any] | None:
    """``_meta`` for a tool's definition while the view is on: its URI for the linked tools, nothing for others."""
    return {"ui": {"resourceUri": APP_URI}} if name in LINKED_TOOLS else None


@cache
def _template() -> str:
    return (package_files.files(__package__) / "sessions.html").read_text(encoding="utf-8")


def _script_json(value: Any) -> str:
    """JSON safe inside a ``<script>`` element: no ``</script>`` or ``<!--`` can end it early."""
    return json.dumps(value, separators=(",", ":")).replace("<", "\\u003c").replace(">", "\\u003e")


@dataclass(frozen=True, slots=True)
class SessionApp:
    """The view as this server publishes it: the page (told which tools exist) and how tools point to it."""

    html: str

    @property
    def meta(self) -> dict[str, Any]:
        return {"ui": {"csp": CSP.model_dump(by_alias=True, exclude_none=True), "prefersBorder": True}}

    def tool_meta(self, name: str) -> dict[str, Any] | None:
        return tool_meta(name)

    def resource(self) -> types.Resource:
        return types.Resource(
            uri=APP_URI,
            name="session-view",
            title="Mix session view",
            description="Interactive view of a Mix session (MCP App): header, transcript, session tree, files, "
            "actions, and a console to talk to the session's agent.",
            mime_type=APP_MIME_TYPE,
            size=len(self.html.encode("utf-8")),
            _meta=self.meta,
        )

    def read(self) -> types.ReadResourceResult:
        content = types.TextResourceContents(uri=APP_URI, mime_type=APP_MIME_TYPE, text=self.html, _meta=self.meta)
        return types.ReadResourceResult(contents=[content])


def session_app(settings: Settings, enabled: Mapping[str, Operation]) -> SessionApp | None:
    """The view for these tools, or ``None`` when --no-ui is set or no tool would show it."""
    if settings.no_ui or not any(name in enabled for name in LINKED_TOOLS):
        return None
    called = [name for name in CALLED_TOOLS if name in enabled]
    config = {
        "tools": called,
        # The questions of the tools the page calls, so it can say what the server will ask.
        "confirm": {name: enabled[name].confirm for name in called if enabled[name].confirm is not None},
    }
    return SessionApp(_template().replace(_CONFIG_SLOT, _script_json(config), 1))


__all__ = ["APP_URI", "EXTENSION_ID", "LINKED_TOOLS", "MAX_BYTES", "SessionApp", "session_app", "tool_meta"]
