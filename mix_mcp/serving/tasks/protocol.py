"""The tasks extension's vocabulary: identifiers, statuses, request parameters, wire shapes and errors.

Only the 2026-07-28 protocol carries it: the client declares the extension in each request's
``_meta`` capabilities, and a ``CreateTaskResult`` is a ``resultType`` the handshake generation cannot
deliver. A ``tasks/*`` request that does not declare the extension is refused with -32021, as the
extension requires, whichever generation it comes on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal

import mcp_types as types
from mcp.shared.exceptions import MCPError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

EXTENSION_ID: Final = "io.modelcontextprotocol/tasks"
CLIENT_CAPABILITIES_KEY: Final = "io.modelcontextprotocol/clientCapabilities"
METHODS: Final = ("tasks/get", "tasks/update", "tasks/cancel")

TaskStatus = Literal["working", "input_required", "completed", "failed", "cancelled"]
TERMINAL: Final[frozenset[str]] = frozenset({"completed", "failed", "cancelled"})


class TaskIdParams(types.RequestParams):
    """``tasks/get`` and ``tasks/cancel``: the task concerned."""

    task_id: str


class UpdateTaskParams(TaskIdParams):
    """``tasks/update``: answers to the task's outstanding input requests, by their keys."""

    input_responses: dict[str, Any]


def declared(params: Mapping[str, Any] | None, protocol_version: str) -> bool:
    """Whether this request declares the extension in its own capabilities (2026-07-28 only).

    Capabilities are per request on that generation: a declaration on an earlier request counts for
    nothing, and the handshake generation has no per-request capabilities at all.
    """
    if protocol_version not in MODERN_PROTOCOL_VERSIONS or not params:
        return False
    meta = params.get("_meta")
    capabilities = meta.get(CLIENT_CAPABILITIES_KEY) if isinstance(meta, Mapping) else None
    extensions = capabilities.get("extensions") if isinstance(capabilities, Mapping) else None
    return isinstance(extensions, Mapping) and EXTENSION_ID in extensions


def missing_capability(method: str) -> MCPError:
    """-32021 for a ``tasks/*`` request that did not declare the extension."""
    return MCPError(
        code=types.MISSING_REQUIRED_CLIENT_CAPABILITY,
        message=f"{method} needs the {EXTENSION_ID} extension: declare it in the request's client capabilities "
        "(_meta io.modelcontextprotocol/clientCapabilities.extensions) on the 2026-07-28 protocol.",
        data={"requiredCapabilities": {"extensions": {EXTENSION_ID: {}}}},
    )


def unknown_task(task_id: str) -> MCPError:
    """-32602 for a task id this server does not know (never made, expired, or someone else's)."""
    shown = task_id if len(task_id) <= 80 else task_id[:80] + "…"
    return MCPError(
        code=types.INVALID_PARAMS,
        message=f"Task {shown!r} was not found: it never existed, or it expired (tasks are kept for their ttlMs "
        "from creation). Call the tool again to start a new one.",
    )
