"""CatBoost without pandas, as the entry points import it: the same scores and reason codes as
with pandas, single and batched, and pandas never loaded while serving them."""

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
from lambda_app.core.catboost_lean import import_catboost_without_pandas
lean = import_catboost_without_pandas()
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
}))
"""


def test_scores_and_reasons_without_pandas_match_catboost_with_it(
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
    assert lean["lean"] and not lean["pandas"]
    assert lean["single"] == [scorer.score([p])[0] for p in people[:30]]
    assert lean["batch"] == scorer.score(people)  # 300 rows: the column-wise (FeaturesData) input
    assert lean["reasons"] == [repr(e) for e in scorer.explain(people[:30])]


def test_with_pandas_loaded_catboost_is_imported_as_usual() -> None:
    from lambda_app.core.catboost_lean import import_catboost_without_pandas

    assert "pandas" in sys.modules  # the tests' training loaded it
    assert import_catboost_without_pandas() is False
