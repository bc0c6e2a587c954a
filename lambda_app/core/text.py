"""How numbers are written for people: one module, each function for one place they appear."""

from __future__ import annotations

from typing import Any


def number(x: float | int | None) -> str:
    """A bound or value as a person reads it: 1,000,000 and 0.25, never 1e+06 or 1.0."""
    if x is None:
        return ""
    if isinstance(x, float) and not x.is_integer():
        return f"{x:,.6f}".rstrip("0").rstrip(".")
    return f"{int(x):,}"


def input_value(value: Any) -> str:
    """A default as the text an <input> holds (no thousands separators: the server parses it)."""
    if isinstance(value, float):
        return f"{value:.6f}".rstrip("0").rstrip(".") if not value.is_integer() else str(int(value))
    return str(value)


def reason_value(value: Any) -> str:
    """A value inside a reason ("Annual income of 48,000"): money with separators, ratios short."""
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) >= 100 else f"{value:.2f}".rstrip("0").rstrip(".")
    if isinstance(value, int) and abs(value) >= 10_000:
        return f"{value:,}"
    return str(value)


def signed(x: float) -> str:
    """A contribution on a chart, one decimal, its sign always shown."""
    # A real minus sign: a hyphen reads as a dash and screen readers may skip it.
    return f"+{x:.1f}" if x >= 0 else f"\u2212{abs(x):.1f}"
