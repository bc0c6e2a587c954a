import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from lambda_app.core.bundle import MANIFEST, BundleError, read_manifest
from lambda_app.core.model_metrics import Metrics, titles
from lambda_app.web.model import METRIC_NAMES, metric_groups

# The metrics of a bundle written before they were typed (a plain dict in manifest.json), with
# the index skipped on one side and fitted on the other.
WRITTEN_BEFORE: dict[str, Any] = {
    "cv": {
        "folds": 2,
        "r2": {"mean": 0.88097, "std": 0.0038, "per_fold": [0.88366, 0.87828]},
        "mae": {"mean": 3.01174, "std": 0.10457, "per_fold": [2.9378, 3.08568]},
        "rmse": {"mean": 3.91593, "std": 0.13372, "per_fold": [3.82137, 4.01048]},
    },
    "holdout": {"r2": 0.8809, "mae": 3.01174, "rmse": 3.91707, "rows": 2000, "method": "2-fold out-of-fold"},
    "train_fit": {"r2": 0.94026, "mae": 2.12798, "rmse": 2.77427, "rows": 2000},
    "approval_index": {
        "status": "fitted",
        "rows": 2000,
        "approved_rows": 385,
        "not_approved_rows": 1153,
        "ambiguous_rows": 462,
        "off_grid_rows": 0,
        "terms": 60,
        "C": 10.0,
        "sign_constrained": True,
        "converged": True,
        "auc_in_sample": 0.9709,
        "auc_out_of_fold": 0.94959,
    },
    "exclusion_comparison": {
        "excluded": ["Age", "MaritalStatus"],
        "folds": 2,
        **{
            f"{name}_{side}": {"mean": 0.5, "std": 0.01}
            for name in ("r2", "mae", "rmse")
            for side in ("with", "without", "difference")
        },
    },
}
SKIPPED = {
    "status": "skipped",
    "reason": "100% of targets lie on neither the integer nor the 0.8 x integer grid",
    "rows": 2000,
    "approved_rows": 0,
    "not_approved_rows": 0,
    "ambiguous_rows": 0,
    "off_grid_rows": 2000,
}


def test_metrics_written_before_they_were_typed_still_load_and_read_the_same() -> None:
    m = Metrics.model_validate(WRITTEN_BEFORE)
    assert m.holdout.r2 == 0.8809 and m.cv.r2.per_fold == [0.88366, 0.87828] and m.approval_index.C == 10.0
    assert m.exclusion_comparison is not None and m.exclusion_comparison.excluded == ["Age", "MaritalStatus"]
    assert m.shown() == WRITTEN_BEFORE
    skipped = Metrics.model_validate({**WRITTEN_BEFORE, "approval_index": SKIPPED, "exclusion_comparison": None})
    # What a model does not have is left out, as the dict left it out.
    assert skipped.shown()["approval_index"] == SKIPPED and "exclusion_comparison" not in skipped.shown()


def test_keys_this_code_does_not_know_are_kept_and_shown() -> None:
    extra = {**WRITTEN_BEFORE, "drift_psi": 0.02, "approval_index": {**SKIPPED, "note": "hand-fitted"}}
    m = Metrics.model_validate_json(json.dumps(extra))
    assert m.shown()["drift_psi"] == 0.02 and m.shown()["approval_index"]["note"] == "hand-fitted"
    groups = dict(metric_groups(m.shown()))
    assert groups["General"] == [("drift_psi", "0.02")]
    assert ("note", "hand-fitted") in groups["Approval index"]
    assert ("Why it was skipped", SKIPPED["reason"]) in groups["Approval index"]


def test_every_metric_has_one_label_and_the_model_page_uses_it() -> None:
    names = titles()
    assert names == METRIC_NAMES
    for group in Metrics.model_fields.values():
        assert group.title, group
    groups = dict(metric_groups(Metrics.model_validate(WRITTEN_BEFORE).shown()))
    assert list(groups) == [
        "Cross-validation (mean \u00b1 std over folds)",
        "Hold-out set (not trained on)",
        "Training data (fit)",
        "Approval index",
        "Cost of excluding fields (same folds)",
    ]
    assert ("AUC on unseen applicants", "0.9496") in groups["Approval index"]
    assert ("R\u00b2 with them", "0.5 \u00b1 0.01") in groups["Cost of excluding fields (same folds)"]


def test_a_bundle_whose_metrics_lack_a_figure_is_refused_with_a_message(bundle_dir: Path, tmp_path: Path) -> None:
    bundle = Path(shutil.copytree(bundle_dir, tmp_path / "b"))
    manifest = json.loads((bundle / MANIFEST).read_text())
    manifest["metrics"]["holdout"]["mean_absolute_error"] = manifest["metrics"]["holdout"].pop("mae")
    (bundle / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match=r"unreadable manifest\.json: Field required"):
        read_manifest(bundle)
