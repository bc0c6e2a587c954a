"""A portfolio CSV for the tests: generated applicants with an id column, a few rows broken."""

from __future__ import annotations

from pathlib import Path

import pytest

from training import synth

ROWS = 1500
BROKEN = {7: ("Age", "forty"), 300: ("EmploymentStatus", "Retired"), 1200: ("CreditScore", "900")}


@pytest.fixture(scope="session")
def portfolio_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ROWS applicants, an `id` column first, BROKEN rows (1-based) with one bad cell each,
    and one malformed line (too few fields) after row 500."""
    from lambda_app.core.schema import FEATURES

    frame = synth.generate(ROWS, seed=5)[list(FEATURES)].astype(str)
    for row, (column, value) in BROKEN.items():
        frame.loc[row - 1, column] = value
    frame.insert(0, "id", [f"A{i:05d}" for i in range(1, ROWS + 1)])
    path = tmp_path_factory.mktemp("portfolio") / "book.csv"
    lines = frame.to_csv(index=False).splitlines()
    lines.insert(501, "A-bad,1,2,3")  # header is line 0: this becomes data row 501
    path.write_text("\n".join(lines) + "\n")
    return path
