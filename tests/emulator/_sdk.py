"""Mix's official SDK as the judge of what the emulator sends: its models, not ours.

``mix-python-sdk`` is generated from the Feb 2026 contract; an answer it cannot parse, or an event
field its models do not know, is one the emulator invented. It is a test dependency only: mix-mcp's
runtime client stays lenient, because older Mix versions send what this SDK refuses.
"""

from __future__ import annotations

import json
from typing import Any, Final

from mix_python_sdk import models, utils
from pydantic import BaseModel

#: The SDK's model of each event of ``SSEEventStream``, by event name.
EVENT_MODELS: Final[dict[str, type[BaseModel]]] = {
    "connected": models.SSEConnectedEvent,
    "heartbeat": models.SSEHeartbeatEvent,
    "error": models.SSEErrorEvent,
    "complete": models.SSECompleteEvent,
    "thinking": models.SSEThinkingEvent,
    "content": models.SSEContentEvent,
    "tool_use_start": models.SSEToolUseStartEvent,
    "tool_use_parameter_streaming_complete": models.SSEToolUseParameterStreamingCompleteEvent,
    "tool_use_parameter_delta": models.SSEToolUseParameterDeltaEvent,
    "tool_execution_start": models.SSEToolExecutionStartEvent,
    "tool_execution_complete": models.SSEToolExecutionCompleteEvent,
    "permission": models.SSEPermissionEvent,
    "notification": models.SSENotificationEvent,
    "user_message_created": models.SSEUserMessageCreatedEvent,
    "session_created": models.SSESessionCreatedEvent,
    "session_deleted": models.SSESessionDeletedEvent,
}


def wire_names(model: type[BaseModel]) -> set[str]:
    """The JSON names of a model's fields (aliases where it has them)."""
    return {field.alias or name for name, field in model.model_fields.items()}


def data_fields(kind: str) -> set[str]:
    """The data fields the SDK knows for events of ``kind``."""
    data_model = EVENT_MODELS[kind].model_fields["data"].annotation
    assert isinstance(data_model, type) and issubclass(data_model, BaseModel)
    return wire_names(data_model)


def check_event(event_id: str, kind: str, data: dict[str, Any]) -> Any:
    """Parse one event as the SDK's stream does; fail on an unknown event or a data field the SDK lacks."""
    assert kind in EVENT_MODELS, f"event {kind!r} is not in the contract's SSEEventStream"
    parsed = utils.unmarshal_json(json.dumps({"id": event_id, "event": kind, "data": data}), models.SSEEventStream)
    assert isinstance(parsed, EVENT_MODELS[kind]), f"the SDK read {kind!r} as {type(parsed).__name__}"
    invented = set(data) - data_fields(kind)
    assert not invented, f"{kind} carries fields the contract lacks: {sorted(invented)}"
    return parsed


def check_answer(model: Any, body: Any) -> Any:
    """Validate a JSON answer with an SDK model (or a type such as ``list[SessionData]``)."""
    return utils.unmarshal(body, model)
