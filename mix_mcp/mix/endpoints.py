"""The Mix endpoints mix-mcp uses: HTTP method, path template and success status.

The eight sessions endpoints, the agent-run endpoints (send a message, read messages, cancel, answer a
permission or a question, the event stream), a session's files (Feb 2026) and Mix's health check.

These are contract facts shared by the client (which sends them) and the emulator (which serves
them), so that neither can drift from the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

HttpMethod = Literal["GET", "POST", "PATCH", "DELETE"]

#: Every sessions path starts here; nothing the client sends may leave it.
SESSIONS_PREFIX: Final = "/api/sessions"
#: Permission answers live outside the sessions group, keyed by the permission's own id.
PERMISSIONS_PREFIX: Final = "/api/permissions"
#: Answers to an agent's questions (``notification`` events), keyed by the notification's own id.
NOTIFICATIONS_PREFIX: Final = "/api/notifications"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One Mix HTTP operation. ``path`` may hold ``{id}`` (and ``{filename}``), each filled with one encoded
    path segment."""

    operation_id: str
    method: HttpMethod
    path: str
    success_status: int

    @property
    def takes_id(self) -> bool:
        return "{id}" in self.path


LIST_SESSIONS: Final = Endpoint("listSessions", "GET", SESSIONS_PREFIX, 200)
CREATE_SESSION: Final = Endpoint("createSession", "POST", SESSIONS_PREFIX, 201)
GET_SESSION: Final = Endpoint("getSession", "GET", SESSIONS_PREFIX + "/{id}", 200)
DELETE_SESSION: Final = Endpoint("deleteSession", "DELETE", SESSIONS_PREFIX + "/{id}", 204)
UPDATE_SESSION_CALLBACKS: Final = Endpoint("updateSessionCallbacks", "PATCH", SESSIONS_PREFIX + "/{id}/callbacks", 200)
EXPORT_SESSION: Final = Endpoint("exportSession", "GET", SESSIONS_PREFIX + "/{id}/export", 200)
FORK_SESSION: Final = Endpoint("forkSession", "POST", SESSIONS_PREFIX + "/{id}/fork", 201)
REWIND_SESSION: Final = Endpoint("rewindSession", "POST", SESSIONS_PREFIX + "/{id}/rewind", 200)

# An agent run: send a message (202, the run goes on in Mix), follow it on the event stream, answer
# its permission requests, cancel it, read what it wrote.
SEND_MESSAGE: Final = Endpoint("sendMessage", "POST", SESSIONS_PREFIX + "/{id}/messages", 202)
GET_SESSION_MESSAGES: Final = Endpoint("getSessionMessages", "GET", SESSIONS_PREFIX + "/{id}/messages", 200)
CANCEL_SESSION_PROCESSING: Final = Endpoint("cancelSessionProcessing", "POST", SESSIONS_PREFIX + "/{id}/cancel", 200)
#: ``{id}`` is the permission's id here, not a session's.
GRANT_PERMISSION: Final = Endpoint("grantPermission", "POST", PERMISSIONS_PREFIX + "/{id}/grant", 200)
DENY_PERMISSION: Final = Endpoint("denyPermission", "POST", PERMISSIONS_PREFIX + "/{id}/deny", 200)
#: ``{id}`` is the notification's id; the body is ``{"type": ..., "value": ...}``; Mix answers 204 (Feb 2026 on).
RESPOND_TO_NOTIFICATION: Final = Endpoint("respondToNotification", "POST", NOTIFICATIONS_PREFIX + "/{id}/respond", 204)
#: Server-sent events for one session (``?sessionId=``); ``Last-Event-ID`` replays what a dropped connection missed.
STREAM_EVENTS: Final = Endpoint("streamEvents", "GET", "/stream", 200)

RUN_ENDPOINTS: Final = (
    SEND_MESSAGE,
    GET_SESSION_MESSAGES,
    CANCEL_SESSION_PROCESSING,
    GRANT_PERMISSION,
    DENY_PERMISSION,
    RESPOND_TO_NOTIFICATION,
)

ALL_ENDPOINTS: Final = (
    LIST_SESSIONS,
    CREATE_SESSION,
    GET_SESSION,
    DELETE_SESSION,
    UPDATE_SESSION_CALLBACKS,
    EXPORT_SESSION,
    FORK_SESSION,
    REWIND_SESSION,
)

# A session's storage directory (Mix from Feb 2026 on): list, multipart upload, download (``?thumb=`` asks
# for a thumbnail of an image or video), delete. ``{filename}`` is one path segment, like ``{id}``.
LIST_SESSION_FILES: Final = Endpoint("listSessionFiles", "GET", SESSIONS_PREFIX + "/{id}/files", 200)
UPLOAD_SESSION_FILE: Final = Endpoint("uploadSessionFile", "POST", SESSIONS_PREFIX + "/{id}/files/upload", 201)
GET_SESSION_FILE: Final = Endpoint("getSessionFile", "GET", SESSIONS_PREFIX + "/{id}/files/{filename}", 200)
DELETE_SESSION_FILE: Final = Endpoint("deleteSessionFile", "DELETE", SESSIONS_PREFIX + "/{id}/files/{filename}", 204)

FILE_ENDPOINTS: Final = (LIST_SESSION_FILES, UPLOAD_SESSION_FILE, GET_SESSION_FILE, DELETE_SESSION_FILE)

#: Mix's health check, outside the sessions group: a network server's readiness probe asks it.
HEALTH_CHECK: Final = Endpoint("healthCheck", "GET", "/health", 200)
