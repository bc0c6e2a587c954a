"""The model's accuracy figures as its manifest keeps them, one typed model per group.

Training (training/train.py) builds them; the model card, `python -m training`, the
`/v1/model` route and the model page read them. Every field's `title` is the label the
model page shows (`titles()`), so a figure is named in one place.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Regression(BaseModel):
    """Accuracy of scores against actual targets on a set of rows."""

    r2: float = Field(title="R\u00b2 (share of score variance explained)")
    mae: float = Field(title="Mean absolute error (score points)")
    rmse: float = Field(title="Root mean squared error (score points)")
    rows: int = Field(title="Rows")


class Holdout(Regression):
    """Accuracy on rows the scoring model never saw."""

    method: str = Field(title="Method", examples=["5-fold out-of-fold"])


class MeanStd(BaseModel):
    mean: float = Field(title="Mean")
    std: float = Field(title="Standard deviation", description="Sample standard deviation (ddof=1)")


class FoldSpread(MeanStd):
    per_fold: list[float] = Field(title="Per fold")


class CrossValidation(BaseModel):
    """Each metric's mean and spread over the cross-validation folds."""

    folds: int = Field(title="Folds")
    r2: FoldSpread = Field(title="R\u00b2 (share of score variance explained)")
    mae: FoldSpread = Field(title="Mean absolute error (score points)")
    rmse: FoldSpread = Field(title="Root mean squared error (score points)")


class ApprovalIndexStatus(BaseModel):
    """Whether the approval index was fitted, why not, and how the target's grids split the rows
    (training/approval.py)."""

    # Open-ended: a later fit may record more about itself; the page shows what it finds.
    model_config = ConfigDict(extra="allow")

    status: Literal["fitted", "skipped"] = Field(title="Status")
    reason: str | None = Field(default=None, title="Why it was skipped")
    rows: int = Field(title="Rows")
    approved_rows: int = Field(title="Rows read as approved")
    not_approved_rows: int = Field(title="Rows read as not approved")
    ambiguous_rows: int = Field(title="Rows on both grids (ambiguous)")
    off_grid_rows: int = Field(title="Rows on neither grid")
    terms: int | None = Field(default=None, title="Terms")
    C: float | None = Field(default=None, title="Regularisation C (L2)")
    sign_constrained: bool | None = Field(default=None, title="Weights bounded to the domain's signs")
    converged: bool | None = Field(default=None, title="Fit converged")
    auc_in_sample: float | None = Field(default=None, title="AUC on its training rows")
    auc_out_of_fold: float | None = Field(default=None, title="AUC on unseen applicants")


class ExclusionComparison(BaseModel):
    """What leaving out fields costs, cross-validated on the same folds with and without them."""

    excluded: list[str] = Field(title="Fields left out")
    folds: int = Field(title="Folds")
    r2_with: MeanStd = Field(title="R\u00b2 with them")
    r2_without: MeanStd = Field(title="R\u00b2 without them")
    r2_difference: MeanStd = Field(title="R\u00b2 difference (without - with)")
    mae_with: MeanStd = Field(title="MAE with them")
    mae_without: MeanStd = Field(title="MAE without them")
    mae_difference: MeanStd = Field(title="MAE difference (without - with)")
    rmse_with: MeanStd = Field(title="RMSE with them")
    rmse_without: MeanStd = Field(title="RMSE without them")
    rmse_difference: MeanStd = Field(title="RMSE difference (without - with)")


class Metrics(BaseModel):
    """Every accuracy figure of a model bundle."""

    # Keys this code does not know (from a newer or an older trainer) are kept and shown as they are.
    model_config = ConfigDict(extra="allow")

    cv: CrossValidation = Field(title="Cross-validation (mean \u00b1 std over folds)")
    # Every row scored by a model that never saw it: the hold-out estimate.
    holdout: Holdout = Field(title="Hold-out set (not trained on)")
    train_fit: Regression = Field(title="Training data (fit)")
    approval_index: ApprovalIndexStatus = Field(title="Approval index")
    exclusion_comparison: ExclusionComparison | None = Field(
        default=None, title="Cost of excluding fields (same folds)"
    )

    def shown(self) -> dict[str, Any]:
        """The figures as a mapping, leaving out what this model does not have (None)."""
        return self.model_dump(exclude_none=True)


# Keys bundles from before cross-validation wrote, which the models above no longer carry.
LEGACY_TITLES = {"holdout_share": "Share of data held out"}


def _titles(model: type[BaseModel], into: dict[str, str]) -> dict[str, str]:
    for name, info in model.model_fields.items():
        if info.title is not None and into.setdefault(name, info.title) != info.title:
            raise ValueError(f"metric {name!r} has two titles: {into[name]!r} and {info.title!r}")
        for kind in _models_in(info.annotation):
            _titles(kind, into)
    return into


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in getattr(annotation, "__args__", ()) for m in _models_in(arg)]


def titles() -> dict[str, str]:
    """Every metric key's label. A key has one title wherever it appears (`r2` in the hold-out
    set and in cross-validation alike), so the model page can label rows by key."""
    return {**LEGACY_TITLES, **_titles(Metrics, {})}
