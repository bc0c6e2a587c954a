"""Reference distributions a bundle carries for monitoring: bins and the share of training
applicants in each, for the score and every field (built by lambda_app.monitoring.reference)."""

from __future__ import annotations

import itertools
import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator


class Bins(BaseModel):
    """One variable's bins and the share of the reference population in each.

    numeric: bin i holds edges[i] <= x < edges[i + 1]; the outer edges are None (-inf and +inf),
    so a value outside the training range still lands in a bin, the first or the last.
    category: one bin per value of `categories`, in order (flags are the categories "0" and "1").
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["numeric", "category"]
    edges: list[float | None] = []
    categories: list[str] = []
    shares: list[float]

    @model_validator(mode="after")
    def _consistent(self) -> Bins:
        if self.kind == "numeric":
            if len(self.edges) != len(self.shares) + 1 or self.edges[0] is not None or self.edges[-1] is not None:
                raise ValueError("numeric bins need len(shares) + 1 edges, the outer two null (open)")
            inner = [e for e in self.edges[1:-1] if e is not None and math.isfinite(e)]
            if len(inner) != len(self.edges) - 2 or any(a >= b for a, b in itertools.pairwise(inner)):
                raise ValueError("numeric bin edges must be finite and increasing")
        elif len(self.categories) != len(self.shares) or len(set(self.categories)) != len(self.categories):
            raise ValueError("category bins need one share per distinct category")
        if any(s < 0 for s in self.shares) or abs(sum(self.shares) - 1.0) > 1e-6:
            raise ValueError("shares must be non-negative and sum to 1")
        return self

    @property
    def cuts(self) -> list[float]:
        """The inner edges (what numpy.searchsorted bins against)."""
        return [float(e) for e in self.edges[1:-1] if e is not None]


class Reference(BaseModel):
    """What monitoring compares new applicants with: the training applicants' fields and
    the model's out-of-fold scores (of applicants it had not seen, as new ones are)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    n: int  # training applicants counted
    score: Bins
    fields: dict[str, Bins]
    bands: dict[str, float]  # share of out-of-fold scores in each risk band
