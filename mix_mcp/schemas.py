"""JSON Schemas for tools, computed once at start from the pydantic models.

Input schemas are made portable: the shape that every major client accepts (self-contained,
no ``$ref``/``$defs``, optional arguments simply not required rather than ``null`` unions, no
pydantic titles). Output schemas are self-contained too but keep ``null`` where Mix may send it,
so that structured content passed through from Mix always validates.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


def _inline_refs(node: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            target = definitions[ref.rsplit("/", 1)[-1]]
            merged = {**_inline_refs(target, definitions), **{k: v for k, v in node.items() if k != "$ref"}}
            return _inline_refs(merged, definitions)
        return {k: _inline_refs(v, definitions) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline_refs(item, definitions) for item in node]
    return node


def _strip_titles(node: Any) -> Any:
    """Drop pydantic's generated ``title`` keys, but never a property that is itself named 'title'."""
    if isinstance(node, dict):
        cleaned: dict[str, Any] = {}
        for key, value in node.items():
            if key == "title" and isinstance(value, str):
                continue
            if key == "properties" and isinstance(value, dict):
                cleaned[key] = {name: _strip_titles(prop) for name, prop in value.items()}
            else:
                cleaned[key] = _strip_titles(value)
        return cleaned
    if isinstance(node, list):
        return [_strip_titles(item) for item in node]
    return node


def _drop_null_unions(node: Any) -> Any:
    """``anyOf: [X, {"type": "null"}]`` with ``default: null`` becomes plain X, left out of ``required``."""
    if isinstance(node, dict):
        options = node.get("anyOf")
        if isinstance(options, list):
            non_null = [o for o in options if o != {"type": "null"}]
            if len(non_null) == 1 and len(non_null) < len(options):
                rest = {k: v for k, v in node.items() if k != "anyOf"}
                if rest.get("default", ...) is None:
                    del rest["default"]
                return _drop_null_unions({**non_null[0], **rest})
        return {k: _drop_null_unions(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_drop_null_unions(item) for item in node]
    return node


def _self_contained(model: type[BaseModel], *, by_alias: bool, mode: str) -> dict[str, Any]:
    raw = model.model_json_schema(by_alias=by_alias, mode=mode)  # type: ignore[arg-type]
    inlined = _inline_refs(raw, raw.get("$defs", {}))
    assert isinstance(inlined, dict)
    return inlined


def input_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The portable input schema of a tool's argument model (snake_case argument names)."""
    schema = _drop_null_unions(_strip_titles(_self_contained(model, by_alias=False, mode="validation")))
    assert isinstance(schema, dict)
    schema.setdefault("properties", {})
    schema["type"] = "object"
    return schema


def output_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The output schema of a tool's result model (wire names, as structured content carries them)."""
    schema = _strip_titles(_self_contained(model, by_alias=True, mode="serialization"))
    assert isinstance(schema, dict)
    return schema
