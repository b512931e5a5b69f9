"""Numbers for people: one formatter for the report page, the tables it shows and the docs.

A column's name says what its numbers are, and the formatter follows it: accuracies and
fractions as percentages with one decimal, parameter counts in thousands or millions,
p-values as ``p < 0.001`` or with two significant digits, iterations and counts as integers
with thousands separators, seconds with one decimal, anything else with three significant
digits and never in scientific notation (below 0.001 two significant digits written out,
below 0.0001 as ``< 0.0001``). The CSV tables keep every digit; only what a person reads is
rounded.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import numpy as np
import pandas as pd

__all__ = ["format_table", "format_value", "kind_of", "percent_text", "count_text",
           "readable_text"]

_PERCENT_PREFIXES = ("acc_", "accuracy")
_PERCENT_WORDS = ("accuracy", "acc_", "_acc", "fraction", "rate")
_P_VALUE_NAMES = ("p", "p_value", "pvalue")
_COUNT_WORDS = ("iterations", "trials", "runs", "seeds", "n_", "count", "rows", "cells",
                "folds", "units", "hidden_size", "conditions", "frames")


def kind_of(column: str) -> str:
    """What the numbers of ``column`` are: ``percent``, ``parameters``, ``p``, ``count``,
    ``seconds`` or ``number``."""
    name = str(column).lower()
    if name == "parameters" or name.endswith("_parameters"):
        return "parameters"
    if name in _P_VALUE_NAMES or name.endswith("_p") or name.startswith("p_"):
        return "p"
    if name.startswith(_PERCENT_PREFIXES) or any(w in name for w in _PERCENT_WORDS):
        return "percent"
    if name == "seconds" or name.endswith("_seconds") or name.endswith("_s"):
        return "seconds"
    if any(w in name for w in _COUNT_WORDS) or name in ("seed", "n", "step", "lag"):
        return "count"
    return "number"


def percent_text(value: float) -> str:
    """``0.98765`` → ``"98.8%"``."""
    return f"{100 * value:.1f}%"


def count_text(value: float) -> str:
    """``12500`` → ``"12,500"``; a fractional count (a mean over seeds) keeps one decimal."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _parameters(value: float) -> str:
    if abs(value) >= 1e6:
        return f"{value / 1e6:.2f} M"
    if abs(value) >= 1e3:
        return f"{value / 1e3:.0f} k"
    return f"{value:.0f}"


def _p(value: float) -> str:
    return "< 0.001" if value < 0.001 else f"{value:.2g}"


def _number(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) < 1e-4:
        return "< 0.0001" if value > 0 else "> -0.0001"
    if abs(value) < 1e-3:
        return np.format_float_positional(value, precision=2, fractional=False, trim="-")
    if abs(value) >= 1e3:
        return f"{value:,.0f}"
    return f"{value:.3g}"


_FORMATS: dict[str, Callable[[float], str]] = {
    "percent": percent_text, "parameters": _parameters, "p": _p, "count": count_text,
    "seconds": lambda v: f"{v:,.1f}", "number": _number,
}


def format_value(column: str, value) -> str:
    """``value`` of ``column`` as a person reads it (text and booleans unchanged; missing
    values as an empty cell)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        try:
            if pd.isna(value):
                return ""
        except (TypeError, ValueError):
            pass
        return str(value)
    return _FORMATS[kind_of(column)](float(value))


def format_table(df: pd.DataFrame) -> pd.DataFrame:
    """Every cell of ``df`` as text, formatted by its column (:func:`format_value`)."""
    return pd.DataFrame({c: [format_value(str(c), v) for v in df[c].tolist()]
                         for c in df.columns}, index=df.index)


_SCIENTIFIC = re.compile(r"(?P<p>\bp\s*=\s*)?(?P<x>-?\d+(?:\.\d+)?[eE][-+]?\d+)")


def readable_text(text: str) -> str:
    """``text`` with every number in scientific notation written for people: a p-value
    (``p=1.4e-05``) as ``p < 0.001``, any other as :func:`format_value` writes a number."""
    def one(match: re.Match) -> str:
        value = float(match.group("x"))
        if match.group("p"):
            shown = _p(value)
            return f"p {shown}" if shown.startswith("<") else f"p = {shown}"
        return _number(value)

    return _SCIENTIFIC.sub(one, text)
