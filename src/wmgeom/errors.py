"""User-facing errors, and the one formatter of configuration errors.

Every problem a user can fix (a bad config value, a missing file, an unknown task)
raises :class:`WmgeomError`. The CLI prints its message on one line and exits with
status 2, without a traceback; any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

from typing import Any, TypeVar

__all__ = ["WmgeomError", "format_validation_error", "validated"]

T = TypeVar("T")


class WmgeomError(Exception):
    """An error caused by user input, with a message that names the problem and the fix."""


def format_validation_error(exc: Any, prefix: str = "config") -> str:
    """One line for a pydantic ``ValidationError``: ``config: model.hidden_size = -3: ...``.

    Every problem is named by its dotted key; an unknown key says so; the offending value
    is quoted when it is a plain value.
    """
    parts = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            parts.append(f"unknown key '{loc}'")
        elif "input" in err and not isinstance(err["input"], dict | list):
            parts.append(f"{loc} = {err['input']!r}: {msg}")
        else:
            parts.append(f"{loc}: {msg}")
    return f"{prefix}: " + "; ".join(parts)


def validated(model: type[T], data: dict[str, Any], prefix: str) -> T:
    """``model.model_validate(data)``, with a validation error turned into one WmgeomError line."""
    from pydantic import ValidationError

    try:
        return model.model_validate(data)  # type: ignore[attr-defined]
    except ValidationError as exc:
        raise WmgeomError(format_validation_error(exc, prefix)) from None


class ArgumentError(WmgeomError, ValueError):
    """A bad argument value: a :class:`WmgeomError` that is also a ``ValueError``.

    Raised where scikit-learn and Python convention expect a ``ValueError`` (estimator
    parameters, input arrays, labels); the CLI treats it as any other WmgeomError.
    """
