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
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .config_errors import describe_error
from .errors import InputError

M = TypeVar("M", bound=BaseModel)


class Strict(BaseModel):
    """Base for every config section: unknown keys are errors, values are immutable.

    Types are strict (``true`` is not the number 1, ``"3"`` is not 3) and floats finite
    (``inf``/``nan`` rejected), so a nonsense number stops the run before any work instead of
    being fitted.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


#: Ranges of the numbers configs hold. Floats are finite everywhere (``allow_inf_nan=False``);
#: these bounds keep them where the samplers work. A prior sd below 1e-3 is a point mass
#: written as a density: its precision (1e6 and up against data of order 1) makes the
#: posterior-mode Hessian so ill-conditioned that the Cholesky factorisation stalls (an
#: ``intercept_sd`` of 1e-300 hung inside LAPACK, deaf to Ctrl-C); above 1e3 on a log scale
#: it says nothing a smaller one does not. Means on log/logit scales beyond +-100 are
#: e**100 people.
PriorSd = Annotated[float, Field(ge=1e-3, le=1e3)]
PriorMean = Annotated[float, Field(ge=-100, le=100)]
#: Beta / Gamma shape and rate parameters.
Shape = Annotated[float, Field(ge=1e-3, le=1e6)]
#: Seeds: NumPy, PyMC and nutpie all take these, and they fit the int64 attributes of idata.
Seed = Annotated[int, Field(ge=0, lt=2**32)]
#: A factor applied to a capture probability or a rate (1 = no change).
Multiplier = Annotated[float, Field(ge=0, le=1e3)]


def read_toml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML ({exc})") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not valid TOML (not UTF-8 text at byte {exc.start})") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None


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
