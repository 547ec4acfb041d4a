"""Mix's official SDK as the judge of what the emulator sends: its models, not ours.

``mix-python-sdk`` is generated from the Feb 2026 contract; an answer it cannot parse, or an event
field its models do not know, is one the emulator invented. It is a test dependency only: mix-mcp's
runtime client stays lenient, because older Mix versions send what this SDK refuses.
"""

from __future__ import annotations

import json
import types
import typing
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


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The SDK model inside a field's type (``Optional[List[X]]`` -> ``X``), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _model_in(typing.get_args(annotation)[0])
    if origin in (list, typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None


def invented_fields(model: type[BaseModel], value: Any, path: str = "$") -> list[str]:
    """JSON paths of fields in ``value`` that ``model`` (recursively) does not know.

    The SDK's models accept unknown fields silently, so parsing alone cannot catch an invented one.
    """
    if isinstance(value, list):
        return [p for n, item in enumerate(value) for p in invented_fields(model, item, f"{path}[{n}]")]
    if not isinstance(value, dict) or not model.model_fields:
        return []  # a model without fields is the contract's free-form object (inputJson, params)
    known = {field.alias or name: field for name, field in model.model_fields.items()}
    found = [f"{path}.{key}" for key in value if key not in known]
    for key, item in value.items():
        nested = _model_in(known[key].annotation) if key in known else None
        if nested is not None:
            found.extend(invented_fields(nested, item, f"{path}.{key}"))
    return found


def check_answer(model: type[BaseModel], body: Any) -> Any:
    """Validate a JSON answer (an object, or a list of them) with an SDK model; no field the model lacks."""
    typ: Any = list[model] if isinstance(body, list) else model  # type: ignore[valid-type]
    parsed = utils.unmarshal(body, typ)
    invented = invented_fields(model, body)
    assert not invented, f"{model.__name__} answers carry fields the contract lacks: {invented}"
    return parsed
