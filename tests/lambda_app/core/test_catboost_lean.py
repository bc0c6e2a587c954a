"""CatBoost without pandas and scipy, as the entry points import it: the same scores and reason
codes as with them, single and batched, and neither loaded while serving them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from lambda_app.core.schema import FEATURES
from lambda_app.core.scoring import Scorer
from tests.lambda_app.servers import ROOT
from training import synth

_LEAN = """
import json, sys
from lambda_app.core.catboost_lean import import_catboost_lean
lean = import_catboost_lean()
from pathlib import Path
from lambda_app.core.schema import FEATURES
from lambda_app.core.scoring import Scorer
scorer = Scorer.load(Path(sys.argv[1]))
people = json.load(open(sys.argv[2]))
print(json.dumps({
    "lean": lean,
    "single": [scorer.score([p])[0] for p in people[:30]],
    "batch": scorer.score(people),
    "reasons": [repr(e) for e in scorer.explain(people[:30])],
    "pandas": "pandas" in sys.modules,
    "scipy": "scipy" in sys.modules,
}))
"""


def test_scores_and_reasons_without_pandas_and_scipy_match_catboost_with_them(
    bundle_dir: Path, scorer: Scorer, tmp_path: Path
) -> None:
    frame = synth.generate(300, seed=3)[list(FEATURES)]
    people = [{str(k): (v.item() if hasattr(v, "item") else v) for k, v in r.items()} for r in frame.to_dict("records")]
    data = tmp_path / "people.json"
    data.write_text(json.dumps(people))
    out = subprocess.run(
        [sys.executable, "-c", _LEAN, str(bundle_dir), str(data)], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    lean = json.loads(out.strip().splitlines()[-1])
    assert lean["lean"] and not lean["pandas"] and not lean["scipy"]
    assert lean["single"] == [scorer.score([p])[0] for p in people[:30]]
    assert lean["batch"] == scorer.score(people)  # 300 rows: the column-wise (FeaturesData) input
    assert lean["reasons"] == [repr(e) for e in scorer.explain(people[:30])]


def test_with_pandas_loaded_catboost_is_imported_as_usual() -> None:
    from lambda_app.core.catboost_lean import import_catboost_lean

    assert "pandas" in sys.modules  # the tests' training loaded it
    assert import_catboost_lean() is False


_LATER = """
import sys
from lambda_app.core.catboost_lean import import_catboost_lean
assert import_catboost_lean()
import scipy.sparse
from catboost import Pool
print(scipy.sparse.csr_matrix.__module__, Pool([[1.0, 2.0]]).num_row())
"""


def test_scipy_imported_afterwards_is_the_real_one() -> None:
    """Only CatBoost keeps the stand-ins: whatever imports scipy later gets scipy."""
    out = subprocess.run([sys.executable, "-c", _LATER], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.split() == ["scipy.sparse._csr", "1"]
