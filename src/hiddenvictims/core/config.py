"""Reading TOML configs into strict pydantic models, with one-line errors.

Every config model derives from :class:`Strict` (unknown keys rejected). A validation failure
becomes an :class:`InputError` naming the file, the key path and, for a misspelt key, the
closest allowed key ("did you mean ...?").
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from .config_errors import describe_error
from .errors import InputError

M = TypeVar("M", bound=BaseModel)


class Strict(BaseModel):
    """Base for every config section: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def read_toml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML ({exc})") from None


def parse(model: type[M], data: dict[str, Any], source: str) -> M:
    """Validate ``data`` as ``model`` or raise a one-line InputError."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InputError(f"{source}: {describe_error(exc, model)}") from None


def load(model: type[M], path: str | Path) -> M:
    """Read TOML at ``path`` and validate it as ``model``."""
    return parse(model, read_toml(path), str(path))


def config_hash(obj: BaseModel | dict) -> str:
    """Stable SHA-256 of a config (its JSON with sorted keys): stamps results and caches."""
    data = obj.model_dump(mode="json") if isinstance(obj, BaseModel) else obj
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
