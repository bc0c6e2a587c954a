import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from lambda_app.core.bands import band_of
from lambda_app.core.bundle import MANIFEST, BundleError
from lambda_app.core.schema import FEATURES
from lambda_app.core.scoring import Scorer
from tests.conftest import FAST
from training.dataset import read_applicants
from training.pipeline import fit, predict


def _copy(bundle_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(bundle_dir, tmp_path / "b"))


def test_manifest_describes_the_model(scorer: Scorer) -> None:
    m = scorer.manifest
    assert m.features[:3] == ["Age", "AnnualIncome", "CreditScore"]
    assert m.data.rows == 2000 and len(m.data.sha256) == 64 and m.data.source.startswith("synthetic")
    assert set(m.metrics.holdout.model_dump()) >= {"r2", "mae", "rmse"}
    assert m.library_versions["catboost"]
    assert [b.name for b in m.bands] == ["low", "medium", "high", "very high"]


def test_reloaded_bundle_scores_like_the_model_in_memory(bundle_dir: Path, synthetic_csv: Path) -> None:
    data = read_applicants(synthetic_csv).frame
    in_memory = predict(fit(data, FAST), data)  # seeded: the same fit as the bundle's
    records = [{str(k): v for k, v in r.items()} for r in data.drop(columns=["RiskScore"]).to_dict("records")]
    loaded = Scorer.load(bundle_dir).score(records)
    lo, hi = Scorer.load(bundle_dir).manifest.score_range
    assert loaded == pytest.approx(np.clip(in_memory, lo, hi), abs=1e-4)


def test_missing_bundle_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="make model"):
        Scorer.load(tmp_path)


def test_tampered_model_is_refused(bundle_dir: Path, tmp_path: Path) -> None:
    b = _copy(bundle_dir, tmp_path)
    with (b / "model.cbm").open("ab") as f:
        f.write(b"\0")
    with pytest.raises(BundleError, match="checksum"):
        Scorer.load(b)


def test_truncated_manifest_is_refused(bundle_dir: Path, tmp_path: Path) -> None:
    b = _copy(bundle_dir, tmp_path)
    (b / MANIFEST).write_text((b / MANIFEST).read_text()[:100])
    with pytest.raises(BundleError, match="unreadable"):
        Scorer.load(b)


def test_bundle_for_another_schema_is_refused(bundle_dir: Path, tmp_path: Path) -> None:
    b = _copy(bundle_dir, tmp_path)
    m = json.loads((b / MANIFEST).read_text())
    m["schema_sha256"] = "0" * 64
    (b / MANIFEST).write_text(json.dumps(m))
    with pytest.raises(BundleError, match="different applicant schema"):
        Scorer.load(b)


def test_bands_cover_the_whole_line(scorer: Scorer) -> None:
    bands = scorer.manifest.bands
    assert band_of(-1e9, bands) == "low" and band_of(1e9, bands) == "very high"
    cut = bands[1].lower
    assert cut is not None and band_of(cut, bands) == "medium" and band_of(cut - 0.01, bands) == "low"


def test_typical_applicant_is_valid_and_scores(scorer: Scorer) -> None:
    typical = scorer.manifest.typical_applicant
    assert set(typical) == set(FEATURES) and scorer.score([typical])[0] > 0


def test_percentile_orders_scores(scorer: Scorer) -> None:
    lo, hi = scorer.manifest.score_range
    assert scorer.percentile(lo - 1000) == 0 and scorer.percentile(hi + 1000) == 100
    assert scorer.percentile(scorer.manifest.score_quantiles[50]) == pytest.approx(50, abs=2)
