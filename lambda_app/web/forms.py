"""The applicant form: its fields from the schema, what was posted, and messages an officer can act on."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from starlette.datastructures import FormData

from lambda_app.core.batch import (
    FieldError,
)
from lambda_app.core.bundle import Manifest
from lambda_app.core.schema import EXAMPLE_APPLICANT, FEATURES, FIELDS, SPECS, FieldSpec
from lambda_app.core.text import input_value, number


def is_flag(spec: FieldSpec) -> bool:
    return spec.kind == "int" and spec.minimum == 0 and spec.maximum == 1


@dataclass(frozen=True)
class FormField:
    spec: FieldSpec
    value: str
    error: str = ""

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def control(self) -> str:
        return "select" if self.spec.kind == "category" or is_flag(self.spec) else "number"

    @property
    def options(self) -> list[tuple[str, str]]:
        if is_flag(self.spec):
            return [("0", "0 \u2014 no"), ("1", "1 \u2014 yes")]
        return [(c, c) for c in self.spec.choices]

    @property
    def min(self) -> str:
        return "" if self.spec.minimum is None else input_value(self.spec.minimum)

    @property
    def max(self) -> str:
        return "" if self.spec.maximum is None else input_value(self.spec.maximum)

    @property
    def step(self) -> str:
        return "1" if self.spec.kind == "int" else "any"

    @property
    def hint(self) -> str:
        spec = self.spec
        if spec.kind == "category":
            return f"One of {len(spec.choices)} choices"
        if is_flag(spec):
            return "Yes or no"
        bounds = f"{number(spec.minimum)} to {number(spec.maximum)}"
        return f"{bounds} \u00b7 {spec.unit}" if spec.unit else bounds


def form_fields(values: Mapping[str, str], errors: Mapping[str, str] | None = None) -> list[FormField]:
    errors = errors or {}
    return [FormField(spec, values.get(spec.name, ""), errors.get(spec.name, "")) for spec in FIELDS]


def default_values(manifest: Manifest) -> dict[str, str]:
    """The training data's typical applicant, or the schema's example for an older bundle."""
    source = {**EXAMPLE_APPLICANT, **manifest.typical_applicant}
    return {name: input_value(source[name]) for name in FEATURES if name in source}


def submitted_values(form: FormData) -> dict[str, str]:
    """The schema's fields from a post, as text; anything else posted is ignored."""
    values = {}
    for name in FEATURES:
        raw = form.get(name)
        values[name] = raw.strip() if isinstance(raw, str) else ""
    return values


def field_messages(values: Mapping[str, str], errors: Sequence[FieldError]) -> dict[str, str]:
    """One message per field at fault."""
    messages: dict[str, str] = {}
    for e in errors:
        name = e.field.split(".")[0]
        if name in SPECS and name not in messages:
            messages[name] = officer_message(SPECS[name], values.get(name, ""), e.message)
    return messages


def officer_message(spec: FieldSpec, raw: str, parser_message: str) -> str:
    """What to do about a bad value, in the officer's words rather than the parser's; the
    parser's own message when none of the usual mistakes explains it."""
    choose = spec.kind == "category" or is_flag(spec)
    if raw == "":
        return "Choose an option" if choose else "Enter a value"
    if choose:
        return "Choose one of the options"
    whole = spec.kind == "int"
    wanted = "a whole number" if whole else "a number"
    try:
        x = float(raw)
    except ValueError:
        return f"Enter {wanted}, without commas, spaces or units"
    if not math.isfinite(x) or (whole and not x.is_integer()):
        return f"Enter {wanted}"
    if (spec.minimum is not None and x < spec.minimum) or (spec.maximum is not None and x > spec.maximum):
        return f"Enter {wanted} from {number(spec.minimum)} to {number(spec.maximum)}"
    return parser_message
