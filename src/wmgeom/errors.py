"""User-facing errors, and the one formatter of configuration errors.

Every problem a user can fix (a bad config value, a missing file, an unknown task)
raises :class:`WmgeomError`; a bad argument to a public function raises its subclass
:class:`ArgumentError`, which is also a ``ValueError`` (as scikit-learn raises). The CLI
prints the message on one line and exits with status 2, without a traceback; any other
exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import contextvars
from typing import Any, TypeVar

__all__ = ["ArgumentError", "WmgeomError", "format_validation_error", "validated",
           "validating"]

_VALIDATING: contextvars.ContextVar[bool] = contextvars.ContextVar("validating", default=False)

T = TypeVar("T")


class WmgeomError(Exception):
    """An error caused by user input, with a message that names the problem and the fix."""


class ArgumentError(WmgeomError, ValueError):
    """A bad argument value: a :class:`WmgeomError` that is also a ``ValueError``.

    Raised where scikit-learn and Python convention expect a ``ValueError`` (estimator
    parameters, input arrays, labels); the message names the argument and its value. The
    CLI treats it as any other WmgeomError.
    """


def format_validation_error(exc: Any, prefix: str = "config") -> str:
    """One line for a pydantic ``ValidationError``: ``config: model.hidden_size = -3: ...``.

    Every problem is named by its dotted key; an unknown key says so; the offending value
    is quoted when it is a plain value.
    """
    parts = []
    for err in _deepest_branches(exc.errors()):
        loc = ".".join(str(x) for x in err["loc"] if not _is_branch(x)) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            parts.append(f"unknown key '{loc}'")
        elif "input" in err and not isinstance(err["input"], dict | list):
            parts.append(f"{loc} = {err['input']!r}: {msg}")
        else:
            parts.append(f"{loc}: {msg}")
    return f"{prefix}: " + "; ".join(parts)


def _is_branch(part: Any) -> bool:
    """Whether a location part names a branch of a union type (``list[float]``, ``int``)
    rather than a key."""
    return isinstance(part, str) and ("[" in part or part in {"int", "float", "str", "bool",
                                                               "none", "dict", "list"})


def _deepest_branches(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The errors of a union value, only for the branch that matched deepest: for
    ``[0.0, .inf]`` given to ``list[float] | int``, the infinite entry, not "not an int"."""
    def key(err):
        loc = err["loc"]
        cut = next((i for i, x in enumerate(loc) if _is_branch(x)), len(loc))
        return loc[:cut], len(loc) - cut

    depth: dict[tuple, int] = {}
    for err in errors:
        base, d = key(err)
        depth[base] = max(depth.get(base, 0), d)
    return [e for e in errors if key(e)[1] == depth[key(e)[0]] or key(e)[1] == 0]


def validating() -> bool:
    """Whether :func:`validated` is validating a config (a section's own constructor then
    leaves its errors to the enclosing model, which names them by their dotted key)."""
    return _VALIDATING.get()


def validated(model: type[T], data: dict[str, Any], prefix: str) -> T:
    """``model.model_validate(data)``, with a validation error turned into one WmgeomError line."""
    from pydantic import ValidationError

    token = _VALIDATING.set(True)
    try:
        return model.model_validate(data)  # type: ignore[attr-defined]
    except ValidationError as exc:
        raise WmgeomError(format_validation_error(exc, prefix)) from None
    finally:
        _VALIDATING.reset(token)
