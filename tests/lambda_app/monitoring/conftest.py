"""Decision records of applicants drawn like the training data, as written to disk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lambda_app.core.scoring import Scorer
from tests.lambda_app.monitoring.records import applicants, decision_records, write_jsonl

ROWS = 3000


@pytest.fixture(scope="session")
def people() -> list[dict[str, Any]]:
    # Another seed than the training data's (conftest.synthetic_csv uses 7): new applicants.
    return applicants(ROWS, seed=11)


@pytest.fixture(scope="session")
def stable_records(tmp_path_factory: pytest.TempPathFactory, scorer: Scorer, people: list[dict[str, Any]]) -> Path:
    root = tmp_path_factory.mktemp("records-stable")
    write_jsonl(decision_records(scorer, people), root / "dt=2026-11-20" / "part-0.jsonl")
    return root


@pytest.fixture(scope="session")
def income_cut(people: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same applicants with incomes cut by a third, every other field untouched."""
    return [{**p, "AnnualIncome": round(p["AnnualIncome"] * 2 / 3)} for p in people]


@pytest.fixture(scope="session")
def shifted_records(tmp_path_factory: pytest.TempPathFactory, scorer: Scorer, income_cut: list[dict[str, Any]]) -> Path:
    root = tmp_path_factory.mktemp("records-shifted")
    write_jsonl(decision_records(scorer, income_cut, day="2026-11-21"), root / "dt=2026-11-21" / "part-0.jsonl")
    return root
