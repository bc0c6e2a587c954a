from pathlib import Path

import pytest

from training.dataset import DataError, read_applicants
from training.synth import generate


def test_reads_and_validates_a_generated_csv(synthetic_csv: Path) -> None:
    data = read_applicants(synthetic_csv)
    assert len(data.frame) == data.info.rows == 2000
    assert data.frame["EmploymentStatus"].isin(["Employed", "Self-Employed", "Unemployed"]).all()


def test_extra_columns_like_the_original_loan_csv_are_ignored(tmp_path: Path) -> None:
    frame = generate(20, seed=1)
    frame["LoanApproved"] = 1
    frame.to_csv(tmp_path / "Loan.csv", index=False)
    data = read_applicants(tmp_path / "Loan.csv")
    assert "LoanApproved" not in data.frame and data.info.source.startswith("Financial Risk")


def test_bad_cell_is_reported_with_line_and_column(tmp_path: Path) -> None:
    frame = generate(20, seed=1).astype({"CreditScore": object})
    frame.loc[4, "CreditScore"] = "abc"
    frame.loc[9, "RiskScore"] = float("nan")
    frame.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(DataError) as e:
        read_applicants(tmp_path / "bad.csv")
    assert "line 6, column CreditScore" in str(e.value) and "'abc'" in str(e.value)
    assert "line 11, column RiskScore" in str(e.value)


def test_missing_column_is_named(tmp_path: Path) -> None:
    generate(5).drop(columns=["Age"]).to_csv(tmp_path / "x.csv", index=False)
    with pytest.raises(DataError, match=r"missing column.*Age"):
        read_applicants(tmp_path / "x.csv")
