"""What a tool result is made of: structured content, and the text an agent reads.

Most results are read as the JSON of their structured content; a transcript in Markdown is read as
Markdown. Keeping the two together lets a shaping function that has already measured its text hand
it over, instead of having it serialised a second time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import mcp_types as types


def compact_json(value: Any) -> str:
    """The one JSON form results use: no spaces, UTF-8 kept as is (what ``max_chars`` counts)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class Shaped:
    """A tool result before it becomes an MCP ``CallToolResult``."""

    structured: dict[str, Any]
    #: The text content; ``None`` means the compact JSON of ``structured``.
    text: str | None = None
    #: The result's ``_meta`` (e.g. the label of untrusted text), or ``None``.
    meta: dict[str, Any] | None = None
    #: Content blocks after the text: a session file read as an image or an embedded blob.
    blocks: tuple[types.ContentBlock, ...] = ()

    def render_text(self) -> str:
        return self.text if self.text is not None else compact_json(self.structured)
