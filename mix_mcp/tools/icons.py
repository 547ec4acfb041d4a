"""Icons for the server and its tools: small inline SVGs, so that a client shows them without fetching anything.

Each icon is a data URI (no network request, nothing to host, nothing that can change under the
client) of a plain SVG with no script, no external reference and no text. A tool without its own
icon gets the server's.
"""

from __future__ import annotations

from base64 import b64encode
from typing import Final

import mcp_types as types

_FRAME: Final = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" fill="none" stroke="#4f46e5" '
    'stroke-width="2" stroke-linecap="round" stroke-linejoin="round">{}</svg>'
)

#: The server: three stacked sessions.
_SERVER: Final = (
    '<rect x="3" y="4" width="18" height="4" rx="1"/><rect x="3" y="10" width="18" height="4" rx="1"/>'
    '<rect x="3" y="16" width="18" height="4" rx="1"/>'
)

_SHAPES: Final[dict[str, str]] = {
    "list_sessions": '<path d="M8 6h13M8 12h13M8 18h13"/><circle cx="4" cy="6" r="1"/><circle cx="4" cy="12" r="1"/>'
    '<circle cx="4" cy="18" r="1"/>',
    "create_session": '<rect x="3" y="3" width="18" height="18" rx="2"/><path d="M12 8v8M8 12h8"/>',
    "get_session": '<circle cx="11" cy="11" r="7"/><path d="M21 21l-5-5"/>',
    "delete_session": '<path d="M4 7h16M9 7V4h6v3M6 7l1 13h10l1-13"/>',
    "update_session_callbacks": '<path d="M4 12a8 8 0 0 1 14-5l2 2M20 12a8 8 0 0 1-14 5l-2-2M20 4v5h-5M4 20v-5h5"/>',
    "export_session": '<path d="M6 2h9l5 5v15H6zM15 2v5h5M9 13h8M9 17h8"/>',
    "fork_session": '<circle cx="6" cy="5" r="2"/><circle cx="18" cy="5" r="2"/><circle cx="12" cy="19" r="2"/>'
    '<path d="M6 7v2a3 3 0 0 0 3 3h6a3 3 0 0 0 3-3V7M12 12v5"/>',
    "rewind_session": '<path d="M11 19l-7-7 7-7M20 19l-7-7 7-7"/>',
    # Session files: a folder, a picture, an arrow up into a tray, a folder with a cross.
    "list_session_files": '<path d="M3 6a1 1 0 0 1 1-1h5l2 2h9a1 1 0 0 1 1 1v10a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1z"/>',
    "read_session_file": '<rect x="3" y="4" width="18" height="16" rx="2"/><circle cx="9" cy="10" r="2"/>'
    '<path d="M21 17l-5-5-9 8"/>',
    "upload_session_file": '<path d="M12 15V3M7 8l5-5 5 5M4 15v4a1 1 0 0 0 1 1h14a1 1 0 0 0 1-1v-4"/>',
    "delete_session_file": '<path d="M3 6a1 1 0 0 1 1-1h5l2 2h9a1 1 0 0 1 1 1v10a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1z"/>'
    '<path d="M10 11l4 4M14 11l-4 4"/>',
}


def _icon(shape: str) -> types.Icon:
    svg = _FRAME.format(shape)
    source = "data:image/svg+xml;base64," + b64encode(svg.encode("utf-8")).decode("ascii")
    return types.Icon(src=source, mime_type="image/svg+xml", sizes=["any"])


SERVER_ICON: Final = _icon(_SERVER)


def tool_icon(name: str) -> types.Icon:
    """The icon of the tool ``name`` (the server's own when the tool has none)."""
    shape = _SHAPES.get(name)
    return _icon(shape) if shape is not None else SERVER_ICON
