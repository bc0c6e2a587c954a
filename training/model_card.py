"""The model card: what the model is for, how good it is on unseen applicants, where it
errs and how it treats protected groups. Rendering only: report.py gathers the facts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lambda_app.core.approval import INDEX
from lambda_app.core.bundle import Manifest
from lambda_app.core.features import DERIVED_BY_NAME
from lambda_app.core.schema import SPECS
from training.fairness import FOUR_FIFTHS, SMD_FLAG, GroupFigures, findings
from training.residuals import ErrorAnalysis, Slice

MODEL_CARD = "model_card.md"
# The model this one replaces, as published: measured on 4,000 applicants it had not seen.
PUBLISHED = {"r2": 0.7995, "mae": 2.84, "rmse": 3.53, "rows": 4000}


@dataclass(frozen=True)
class CardFacts:
    manifest: Manifest
    errors: ErrorAnalysis
    fairness: Mapping[str, list[GroupFigures]]  # attribute -> groups
    importance: Mapping[str, float]
    band_shares: Mapping[str, float]
    target_summary: Mapping[str, float]
    seconds: float
    plots: Mapping[str, str]  # what -> file name


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _pm(summary: Mapping[str, Any], name: str, digits: int) -> str:
    return f"{summary[name]['mean']:.{digits}f} ± {summary[name]['std']:.{digits}f}"


def _slices(rows: Sequence[Slice], first: str) -> str:
    return table(
        [first, "applicants", "share", "mean residual", "MAE", "share of worst 5% errors"],
        [
            [s.name, f"{s.rows:,}", f"{s.share:.1%}", f"{s.mean_residual:+.2f}", f"{s.mae:.2f}", f"{s.worst_share:.1%}"]
            for s in rows
        ],
    )


def render(f: CardFacts) -> str:
    m = f.manifest
    cv = m.metrics["cv"]
    oof = m.metrics["holdout"]
    fit = m.metrics["train_fit"]
    folds = cv["folds"]
    parts = [
        f"# Model card: loan risk score, version {m.version}",
        f"Trained {m.created_at} from code `{m.code_version}` on {m.data.rows:,} applicants ({m.data.source}). "
        f"Predicts `{m.target}` (higher is riskier) from the 28 application fields. On applicants it had not "
        f"seen ({folds}-fold cross-validation) it reaches **R\u00b2 {_pm(cv, 'r2', 4)}** and **MAE "
        f"{_pm(cv, 'mae', 3)}** (the published model: R\u00b2 {PUBLISHED['r2']}, MAE {PUBLISHED['mae']}).",
        "## Intended use",
        "- Rank and band loan applicants by risk to support a credit officer's decision, with reason codes in terms "
        "of the applicant's own fields.\n"
        "- Not for automated declines without review, not for applicants unlike the training population (the score is "
        "clipped to the training range and the approval index to the training inputs' range, so extreme inputs get "
        "the nearest score the data supports, not an extrapolation), and not a probability of default: the target is "
        "a risk score from the source data, not observed repayment.",
        "## Data",
        _data_section(f),
        "## Model",
        _model_section(m),
        "## Performance on unseen applicants",
        table(
            ["estimate", "R\u00b2", "MAE", "RMSE", "rows"],
            [
                [
                    f"{folds}-fold CV, mean ± std over folds (ddof=1)",
                    _pm(cv, "r2", 4),
                    _pm(cv, "mae", 3),
                    _pm(cv, "rmse", 3),
                    f"{m.data.rows:,}",
                ],
                [
                    "out-of-fold, all rows pooled",
                    f"{oof['r2']:.4f}",
                    f"{oof['mae']:.3f}",
                    f"{oof['rmse']:.3f}",
                    f"{oof['rows']:,}",
                ],
                [
                    "published model (4,000 unseen applicants)",
                    PUBLISHED["r2"],
                    PUBLISHED["mae"],
                    PUBLISHED["rmse"],
                    f"{PUBLISHED['rows']:,}",
                ],
                [
                    "fit on its own training rows (not an estimate)",
                    f"{fit['r2']:.4f}",
                    f"{fit['mae']:.3f}",
                    f"{fit['rmse']:.3f}",
                    f"{fit['rows']:,}",
                ],
            ],
        ),
        "Per-fold R\u00b2: " + ", ".join(f"{x:.4f}" for x in cv["r2"]["per_fold"]) + ". Every cross-validation fold "
        "refits the whole pipeline (approval index included) on its training part only; the out-of-fold scores "
        "(every row predicted by a model that never saw it) feed the bands, the error analysis and the fairness "
        "figures below. The served model is then fitted once on every row with the same settings.",
        f"![Predicted vs actual]({f.plots['predicted_vs_actual']})",
        "## Risk bands",
        "Cut at the 50th, 80th and 95th percentiles of the out-of-fold scores, i.e. of the scores new applicants "
        "get, not of the model's (tighter) scores on rows it was fitted on.\n\n"
        + table(
            ["band", "from", "below", "share of applicants (out-of-fold)"],
            [
                [
                    b.name,
                    "" if b.lower is None else b.lower,
                    "" if b.upper is None else b.upper,
                    f"{f.band_shares[b.name]:.1%}",
                ]
                for b in m.bands
            ],
        ),
        "## Error analysis",
        _errors_section(f.errors, f.plots["residuals_by_score"]),
        "## What drives the score",
        "Mean absolute SHAP contribution per application field (score points), on a sample of training applicants. "
        "Derived ratios are split equally among the fields they are computed from and the approval index among the "
        "fields of its terms, exactly as in the reason codes the API returns.\n\n"
        + table(
            ["field", "mean |contribution|"],
            [[f"{SPECS[k].description} (`{k}`)", f"{v:.2f}"] for k, v in list(f.importance.items())[:12]],
        ),
        f"![Feature importance]({f.plots['feature_importance']})",
        "## Fairness: marital status and age (ECOA)",
        _fairness_section(f),
        "## Limitations",
        _limitations(m),
        "## Reproducibility",
        _reproducibility(f),
    ]
    return "\n\n".join(parts) + "\n"


def _data_section(f: CardFacts) -> str:
    m = f.manifest
    t = f.target_summary
    status = m.metrics.get("approval_index", {})
    lines = [
        f"- Source: {m.data.source}; file `{m.data.file}`, {m.data.rows:,} rows, sha256 `{m.data.sha256[:16]}…`.",
        f"- Target `{m.target}`: {t['min']:g} to {t['max']:g}, mean {t['mean']:.2f}, standard deviation {t['std']:.2f}.",
    ]
    if "approved_rows" in status:
        rows = max(status["rows"], 1)
        lines.append(
            f"- Target structure: {status['not_approved_rows'] / rows:.1%} of targets are on the integer grid only "
            f"(read as not approved), {status['approved_rows'] / rows:.1%} on the 0.8 x integer grid only (approved: "
            f"the source multiplied their base score by 0.8), {status['ambiguous_rows'] / rows:.1%} on both "
            f"(ambiguous, left out of the index fit) and {status['off_grid_rows'] / rows:.1%} on neither."
        )
    if m.excluded_features:
        lines.append(
            f"- Fields withheld from the model: {', '.join(m.excluded_features)} (the API still accepts them)."
        )
    return "\n".join(lines)


def _model_section(m: Manifest) -> str:
    ratios = [c for c in m.features if c in DERIVED_BY_NAME]
    params = {k: v for k, v in m.params.items() if k not in ("monotone_constraints",)}
    status = m.metrics.get("approval_index", {})
    lines = [
        f"- CatBoost regression, {', '.join(f'{k}={v}' for k, v in params.items())}.",
        f"- Inputs: {len([c for c in m.features if c in SPECS])} application fields, {len(ratios)} derived ratios "
        f"({', '.join(f'{DERIVED_BY_NAME[c].label.lower()} (`{c}`)' for c in ratios)})"
        + (", and the approval index." if INDEX in m.features else "."),
    ]
    if m.approval_index is not None:
        lines.append(
            f"- Approval index: a logistic regression (L2, C={status.get('C')}) of the approval that the target's "
            f"structure reveals, on {len(m.approval_index.terms)} terms (fields, derived ratios, logs of amounts and "
            f"ratios, category indicators), fitted on the "
            f"{status.get('approved_rows', 0) + status.get('not_approved_rows', 0):,} training rows whose approval is "
            f"readable. AUC {status.get('auc_in_sample')} in sample, **{status.get('auc_out_of_fold')} out of fold**. "
            "Its coefficients are stored in the manifest and evaluated without any fitting library when serving."
        )
    else:
        lines.append(f"- Approval index: skipped: {status.get('reason', 'not fitted')}.")
    constraints = m.params.get("monotone_constraints") or {}
    if constraints:
        lines.append(
            "- Monotone constraints (the domain's direction of risk): "
            + ", ".join(f"`{k}` {'+' if v > 0 else '-'}" for k, v in constraints.items())
            + ". The index's weights on bankruptcy, defaults and credit score are bounded to the matching sign, so a "
            "bankruptcy or a default never lowers the score and a higher credit score never raises it, by any path."
        )
    else:
        lines.append("- No monotone constraints.")
    return "\n".join(lines)


def _errors_section(e: ErrorAnalysis, plot: str) -> str:
    parts = ["Out-of-fold residuals (actual - predicted; positive: the model scored too low).", ""]
    parts += [f"- {x}" for x in e.findings]
    parts += [
        "",
        f"![Residuals by score range]({plot})",
        "",
        "By predicted score:",
        "",
        _slices(e.by_predicted, "predicted"),
    ]
    parts += ["", "By actual score:", "", _slices(e.by_actual, "actual")]
    if e.by_approval_probability:
        parts += [
            "",
            "By approval probability (the out-of-fold index through the logistic function):",
            "",
            _slices(e.by_approval_probability, "P(approved)"),
            "",
            "By approval as read from the target:",
            "",
            _slices(e.by_approval_label, "target grid"),
        ]
    parts += ["", "Segments with the largest MAE (at least 1% of applicants):", "", _slices(e.segments, "segment")]
    return "\n".join(parts)


def _fairness_section(f: CardFacts) -> str:
    m = f.manifest
    top = m.bands[-1]
    parts = [
        f"Out-of-fold scores by group. *Highest band* is `{top.name}` (score from {top.lower}). "
        f"*Four-fifths ratio*: the group's rate of staying out of that band over the most favoured group's "
        f"(flagged below {FOUR_FIFTHS}); *band ratio*: the group's share in it over the most favoured group's; "
        f"*SMD*: standardised mean difference of the score against the group with the lowest mean (flagged at "
        f"|SMD| >= {SMD_FLAG}); *gap*: mean score minus mean actual target (a gap near 0 means the model reproduces "
        "the data's difference without adding to it).",
    ]
    summary = [x for attribute, groups in f.fairness.items() for x in findings(attribute, groups)]
    parts.append("\n".join(f"- {x}" for x in summary))
    for attribute, groups in f.fairness.items():
        parts.append(
            f"**{attribute}**\n\n"
            + table(
                [
                    "group",
                    "applicants",
                    "mean score",
                    "mean actual",
                    "gap",
                    "in highest band",
                    "four-fifths ratio",
                    "band ratio",
                    "SMD",
                    "flags",
                ],
                [
                    [
                        g.group,
                        f"{g.rows:,}",
                        f"{g.mean_score:.2f}",
                        f"{g.mean_actual:.2f}",
                        f"{g.gap:+.2f}",
                        f"{g.top_band_share:.1%}",
                        f"{g.favourable_ratio:.3f}",
                        "n/a" if g.adverse_ratio is None else f"{g.adverse_ratio:.2f}",
                        f"{g.smd:+.3f}",
                        ", ".join(g.flags) or "-",
                    ]
                    for g in groups
                ],
            )
        )
    parts.append(f"![Score by group]({f.plots['score_by_group']})")
    comparison = m.metrics.get("exclusion_comparison")
    used = [p for p in ("MaritalStatus", "Age") if p in m.features]
    if comparison is not None:
        c = comparison
        parts.append(
            f"**Cost of excluding {', '.join(c['excluded'])}** (same {c['folds']} folds, paired): "
            f"R\u00b2 {c['r2_with']['mean']:.4f} with them, {c['r2_without']['mean']:.4f} without; difference "
            f"{c['r2_difference']['mean']:+.4f} ± {c['r2_difference']['std']:.4f}, MAE "
            f"{c['mae_difference']['mean']:+.3f} ± {c['mae_difference']['std']:.3f}. "
            "Train with `--exclude MaritalStatus,Age` to withhold them; the API keeps accepting the full applicant."
        )
    else:
        parts.append(
            ("The model uses " + ", ".join(used) + ". " if used else "The model uses neither field. ")
            + "This model was trained with `--no-compare-exclusion`; train without it to measure what excluding them "
            "costs on the same folds."
        )
    return "\n\n".join(parts)


def _limitations(m: Manifest) -> str:
    demo = m.data.source.startswith("synthetic")
    items = [
        "The training data is demo data the project generates (`python -m training synth`): the model demonstrates "
        "the product, not credit risk."
        if demo
        else "The public loan data is itself *synthetic*; its risk score is a formula of the inputs plus noise, not "
        "observed repayment. Figures describe that data, not a real lender's book.",
        f"Typical error: {m.metrics['holdout']['mae']:.2f} points (MAE), {m.metrics['holdout']['rmse']:.2f} RMSE on "
        "unseen applicants. A score is an estimate of the expected risk score, not a guarantee for one applicant.",
        "Scores are pulled toward the middle (see the error analysis): the riskiest applicants are under-scored and "
        "the safest over-scored by a few points, as any estimate of an expected value is; the bands, being "
        "percentiles of the same scores, rank applicants consistently.",
        "The approval index depends on the target's two-grid structure. On data without it the stage is skipped "
        "(the manifest says so) and the model is markedly weaker.",
        "Inputs outside the training range are clipped by the approval index and the trees do not extrapolate, so "
        "unusual applicants (zero income, huge balances) get the score of the nearest applicants in the data.",
    ]
    if m.params.get("monotone_constraints") and m.approval_index is not None:
        items.append(
            "The monotone guarantee has a price when the data's approval rule disagrees with the domain: in the public "
            "loan data a higher credit score at a given interest rate makes approval less likely, which the "
            "guarantee forbids the model to learn (on the shared data this cost about 0.015 R\u00b2, see the README; "
            "`--no-monotone` trains without the guarantee for comparison)."
        )
    return "\n".join(f"- {x}" for x in items)


def _reproducibility(f: CardFacts) -> str:
    m = f.manifest
    libs = ", ".join(f"{k} {v}" for k, v in m.library_versions.items())
    excluded = f" --exclude {','.join(m.excluded_features)}" if m.excluded_features else ""
    return "\n".join(
        [
            f"- Command: `python -m training train --data {m.data.file} --out DIR --seed {m.params.get('seed')} "
            f"--cv {m.params.get('cv_folds')}{excluded}`; same data, settings and code give the same model file.",
            f"- Data sha256 `{m.data.sha256}`; code `{m.code_version}`; model sha256 `{m.model_sha256}`.",
            f"- Libraries: {libs}.",
            f"- Training time (cross-validation, final fit and this report): {f.seconds:.0f} s.",
        ]
    )
