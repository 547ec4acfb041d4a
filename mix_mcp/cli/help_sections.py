"""The headings under which ``--help`` lists the settings flags, by what a person wants to do.

The settings table (``config.SETTINGS``) says which commands take a setting; this table says where its
flag appears in ``--help``, so that ``serve --help`` reads as four short lists (how to reach Mix, which
tools an agent gets, how to serve on a network, what gets logged) instead of one long one. A new
setting appears under the section that names it here; one that is not named falls back to the section
of its command group (Mix connection, or network serving), so a forgotten entry is never hidden.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from mix_mcp.config import Setting


@dataclass(frozen=True, slots=True)
class HelpSection:
    title: str
    description: str
    #: Setting names listed under this heading, in this order.
    settings: tuple[str, ...]


MIX_CONNECTION: Final = HelpSection(
    "Mix connection",
    "Where Mix is and how to reach it (each flag overrides its environment variable).",
    (
        "base_url",
        "api_key",
        "extra_headers",
        "use_emulator",
        "connect_timeout",
        "read_timeout",
        "call_timeout",
        "run_wait",
        "max_retries",
        "retry_deadline",
        "max_response_bytes",
    ),
)
TOOL_SELECTION: Final = HelpSection(
    "Tool selection and confirmation",
    "Which tools an agent gets, and which ones ask the user first.",
    ("read_only", "tools", "exclude_tools", "confirm_destructive"),
)
NETWORK_SERVING: Final = HelpSection(
    "Network serving and security",
    "Serving MCP on a network (Streamable HTTP or SSE) instead of stdio, and who may connect.",
    (
        "transport",
        "host",
        "port",
        "path",
        "stateless",
        "auth_token",
        "auth_token_file",
        "allow_unauthenticated",
        "allowed_hosts",
        "allowed_origins",
        "max_request_bytes",
        "shutdown_grace",
    ),
)
LOGGING_AND_TRACING: Final = HelpSection(
    "Logging and tracing",
    "Logs go to stderr. Traces: set OTEL_EXPORTER_OTLP_ENDPOINT (pip install 'mix-mcp[otel]').",
    ("log_level", "log_format"),
)
#: The order of the headings in ``--help``.
HELP_SECTIONS: Final = (MIX_CONNECTION, TOOL_SELECTION, NETWORK_SERVING, LOGGING_AND_TRACING)
#: Where a setting named in no section goes, by its command group (``Setting.group``).
FALLBACK: Final = {"mix": MIX_CONNECTION, "serve": NETWORK_SERVING}


def section_of(setting: Setting) -> HelpSection:
    """The heading a setting's flag appears under."""
    for section in HELP_SECTIONS:
        if setting.name in section.settings:
            return section
    return FALLBACK.get(setting.group, MIX_CONNECTION)


def grouped_for_help(settings: Iterable[Setting]) -> list[tuple[HelpSection, list[Setting]]]:
    """The sections that hold any of ``settings``, in help order, each with its settings in its order.

    Settings a section does not name come after those it names, in the order of the settings table.
    """
    by_section: dict[str, list[Setting]] = {}
    for setting in settings:
        by_section.setdefault(section_of(setting).title, []).append(setting)
    result = []
    for section in HELP_SECTIONS:
        members = by_section.get(section.title)
        if members:
            order = {name: index for index, name in enumerate(section.settings)}
            members.sort(key=lambda s: order.get(s.name, len(order)))
            result.append((section, members))
    return result
