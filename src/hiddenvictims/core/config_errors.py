"""One formatter for pydantic validation errors: a one-line message naming the key path.

Used by every config reader (:func:`hiddenvictims.core.config.parse`) and by the scenario
schema, whose interventions are a discriminated union on ``kind``: the most useful error is
chosen (an unknown ``kind`` or an unknown key before a type error), union tags are dropped
from the key path, and a misspelt key or kind gets a "did you mean ...?" hint.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from .errors import InputError, did_you_mean

__all__ = ["describe_error", "validate_with"]


def _members(tp: Any) -> list[Any]:
    """Candidate types inside Annotated / Optional / Union."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _members(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        return [m for a in typing.get_args(tp) for m in _members(a) if a is not type(None)]
    return [tp]


def _kind_of(model: Any) -> str | None:
    field = getattr(model, "model_fields", {}).get("kind")
    if field is None:
        return None
    args = typing.get_args(field.annotation)
    return args[0] if args else None


def _model_at(root: Any, loc: tuple) -> Any:
    """The pydantic model class at ``loc`` (tags of discriminated unions included), or None."""
    current = root
    for part in loc:
        cands = _members(current)
        if isinstance(part, str) and any(_kind_of(c) == part for c in cands):
            current = next(c for c in cands if _kind_of(c) == part)
            continue
        nxt = None
        for cand in cands:
            origin = typing.get_origin(cand)
            if isinstance(cand, type) and issubclass(cand, BaseModel) and isinstance(part, str):
                field = cand.model_fields.get(part)
                if field is not None:
                    nxt = field.annotation
                    break
            elif origin in (list, tuple) and isinstance(part, int):
                nxt = typing.get_args(cand)[0]
                break
            elif origin is dict and isinstance(part, str):
                nxt = typing.get_args(cand)[1]
                break
        if nxt is None:
            return None
        current = nxt
    models = [c for c in _members(current) if isinstance(c, type) and issubclass(c, BaseModel)]
    return models[0] if len(models) == 1 else None


def _clean(loc: tuple, tags: Sequence[str]) -> list[str]:
    """Loc without union tags (``tags`` after a list index) and validator names, as path parts."""
    out = []
    for i, part in enumerate(loc):
        if isinstance(part, str) and part.startswith("function-"):
            continue
        if isinstance(part, str) and part in tags and i > 0 and isinstance(loc[i - 1], int):
            continue
        out.append(str(part))
    return out


def describe_error(
    exc: ValidationError, root: Any, prefix: str = "", tags: Sequence[str] = (), tag_noun: str = "kind"
) -> str:
    """ "key 'a.b': message" or "unknown key 'a.b' (did you mean ...)" for the most useful error.

    ``tags`` are the ``kind`` values of a discriminated union in ``root`` (named ``tag_noun``
    in messages); a tag in the error's location is dropped from the key path.
    """
    errors = exc.errors()
    order = ("union_tag_invalid", "union_tag_not_found", "extra_forbidden")
    err = next((e for t in order for e in errors if e["type"] == t), errors[0])
    parts = ([prefix] if prefix else []) + _clean(err["loc"], tags)
    path = ".".join(parts) or "<root>"
    if not tags and err["type"].startswith("union_tag"):
        tags = [t.strip(" '") for t in str(err.get("ctx", {}).get("expected_tags", "")).split(",") if t.strip()]
    kinds = ", ".join(tags)
    if err["type"] == "union_tag_invalid":
        tag = str(err["ctx"]["tag"])
        hint = did_you_mean(tag, tags)
        return f"key '{path}.kind': unknown {tag_noun} '{tag}'{hint} (known: {kinds})"
    if err["type"] == "union_tag_not_found":
        return f"key '{path}': missing 'kind' (one of: {kinds})"
    if err["type"] == "extra_forbidden":
        model = _model_at(root, tuple(err["loc"][:-1]))
        allowed = [f.alias or n for n, f in model.model_fields.items()] if model is not None else []
        return f"unknown key '{path}'{did_you_mean(str(err['loc'][-1]), allowed)}"
    msg = err["msg"].replace("\n", " ")
    return f"key '{path}': {msg}"


def validate_with(
    tp: Any, data: Any, source: str, prefix: str = "", tags: Sequence[str] = (), tag_noun: str = "kind"
) -> Any:
    """Validate ``data`` as type ``tp`` or raise a one-line InputError naming ``source``."""
    try:
        return TypeAdapter(tp).validate_python(data)
    except ValidationError as exc:
        raise InputError(f"{source}: {describe_error(exc, tp, prefix, tags, tag_noun)}") from None
