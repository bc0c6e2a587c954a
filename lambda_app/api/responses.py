"""Response bodies of the JSON API (the request body is `lambda_app.core.schema.Applicant`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from lambda_app.core.bundle import Band, DataInfo
from lambda_app.core.explanation import Explanation, Reason
from lambda_app.core.model_metrics import Metrics


class ReasonOut(BaseModel):
    feature: str
    value: Any = Field(description="The applicant's value of this feature")
    contribution: float = Field(description="Score points this feature added (negative: removed)")
    protected: bool = Field(description="A protected characteristic under ECOA (age, marital status)")
    sentence: str

    @classmethod
    def of(cls, r: Reason) -> ReasonOut:
        return cls(
            feature=r.feature, value=r.value, contribution=r.contribution, protected=r.protected, sentence=r.sentence
        )


class ExplanationOut(BaseModel):
    baseline: float = Field(description="The model's average score; contributions are measured from it")
    model_output: float = Field(description="baseline + every contribution (the score before clipping)")
    raised: list[ReasonOut] = Field(description="Principal reasons: the largest factors that raised the score")
    lowered: list[ReasonOut] = Field(description="The largest factors that lowered the score")
    other: float = Field(description="Sum of the contributions not listed")

    @classmethod
    def of(cls, e: Explanation) -> ExplanationOut:
        return cls(
            baseline=e.baseline,
            model_output=e.model_output,
            other=e.other,
            raised=[ReasonOut.of(r) for r in e.raised],
            lowered=[ReasonOut.of(r) for r in e.lowered],
        )


class ScoreOut(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    risk_score: float = Field(description="Predicted risk score; higher is riskier")
    risk_band: str
    percentile: float = Field(description="Share of training applicants (%) scored below this one")
    model_version: str
    explanation: ExplanationOut | None = None
    decision_id: str | None = Field(None, description="The decision record's id, when the service keeps them")


class FieldErrorOut(BaseModel):
    field: str
    message: str


class BatchItemOut(BaseModel):
    index: int
    risk_score: float | None = None
    risk_band: str | None = None
    errors: list[FieldErrorOut] | None = None
    decision_id: str | None = None


class BatchOut(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    model_version: str
    count: int
    scored: int
    failed: int
    results: list[BatchItemOut] = Field(description="One item per applicant, in request order")


class FieldOut(BaseModel):
    name: str
    kind: str
    description: str
    unit: str
    minimum: float | None
    maximum: float | None
    choices: list[str]
    protected: bool


class ModelOut(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    version: str
    trained_at: str
    target: str
    data: DataInfo
    metrics: Metrics
    bands: list[Band]
    score_range: tuple[float, float]
    excluded_features: list[str]
    model_features: list[str]
    schema_fields: list[FieldOut] = Field(alias="schema")
    code_version: str
    challenger: ModelOut | None = Field(
        None, description="The model scored in shadow beside this one (CHALLENGER_MODEL_URI), when there is one"
    )
