"""Tool documents from the operation table: the ``tool_schemas/`` snapshots and the README's tool table.

Snapshots make every change to what agents see reviewable in a diff; a test fails when they
drift from the code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mix_mcp.config import SETTINGS, Settings
from mix_mcp.tools.app import tool_meta
from mix_mcp.tools.operations import OPERATIONS, Operation
from mix_mcp.tools.schemas import CATALOG_PATH


def tool_document(op: Operation) -> dict[str, Any]:
    document = {
        "name": op.name,
        "title": op.title,
        "description": op.description,
        "inputSchema": op.computed_input_schema(),
        "outputSchema": op.computed_output_schema(),
        "annotations": op.annotations,
    }
    meta = tool_meta(op.name)  # the session view's link, as a server without --no-ui publishes it
    if meta is not None:
        document["_meta"] = meta
    return document


def tool_documents() -> list[dict[str, Any]]:
    return [tool_document(op) for op in OPERATIONS]


def _render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _catalog_text() -> str:
    catalog = {
        document["name"]: {"inputSchema": document["inputSchema"], "outputSchema": document["outputSchema"]}
        for document in tool_documents()
    }
    return json.dumps(catalog, ensure_ascii=False, separators=(",", ":"), sort_keys=True) + "\n"


def write_snapshots(directory: Path) -> list[Path]:
    """Write one file per tool into ``directory``, and the package's schema catalog."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for document in tool_documents():
        path = directory / f"{document['name']}.json"
        path.write_text(_render(document), encoding="utf-8")
        written.append(path)
    CATALOG_PATH.write_text(_catalog_text(), encoding="utf-8")
    written.append(CATALOG_PATH)
    return written


def check_snapshots(directory: Path) -> list[str]:
    """Every difference between ``directory`` and the code, one line each (empty when in sync)."""
    drift: list[str] = []
    expected = {f"{d['name']}.json": _render(d) for d in tool_documents()}
    present = {p.name for p in directory.glob("*.json")} if directory.is_dir() else set()
    for name, text in expected.items():
        path = directory / name
        if name not in present:
            drift.append(f"{path}: missing")
        elif path.read_text(encoding="utf-8") != text:
            drift.append(f"{path}: differs from the code")
    drift.extend(f"{directory / name}: no such tool" for name in sorted(present - expected.keys()))
    if not CATALOG_PATH.is_file() or CATALOG_PATH.read_text(encoding="utf-8") != _catalog_text():
        drift.append(f"{CATALOG_PATH}: differs from the code")
    return drift


def _flags(op: Operation) -> str:
    if op.read_only:
        return "read-only"
    parts = ["destructive" if op.destructive else "additive", "idempotent" if op.idempotent else "not idempotent"]
    return ", ".join(parts)


def render_table() -> str:
    """The README's tool table (Markdown)."""
    rows = ["| Tool | Mix endpoint | Kind | What it does |", "| --- | --- | --- | --- |"]
    for op in OPERATIONS:
        summary = op.description.split(". ")[0].rstrip(".") + "."
        rows.append(f"| `{op.name}` | `{op.endpoint.method} {op.endpoint.path}` | {_flags(op)} | {summary} |")
    return "\n".join(rows)


def render_settings_table(group: str = "mix") -> str:
    """The README's configuration table (Markdown) for one group of settings ("mix" or "serve")."""
    defaults = Settings()
    rows = ["| Flag | Environment variable | Default | Meaning |", "| --- | --- | --- | --- |"]
    for setting in (s for s in SETTINGS if s.group == group):
        value = getattr(defaults, setting.name)
        shown = "unset" if value in (None, {}, ()) else f"`{value}`"
        rows.append(f"| `{setting.flag}` | `{setting.env}` | {shown} | {setting.help} |")
    return "\n".join(rows)


def render_retry_table() -> str:
    """The README's retry policy table (Markdown), from each operation's ``retry_safe``."""
    rows = ["| Tool | Repeated after | Why |", "| --- | --- | --- |"]
    for op in OPERATIONS:
        once = "each call creates a session" if op.endpoint.success_status == 201 else "a repeat would act twice"
        why = "read-only" if op.read_only else ("idempotent" if op.idempotent else once)
        rows.append(f"| `{op.name}` | {op.retry_policy} | {why} |")
    return "\n".join(rows)
