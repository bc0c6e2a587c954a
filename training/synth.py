"""Demo applicants the project generates itself, for a fresh clone without Loan.csv.

Seeded and reproducible. Distributions and correlations are modelled loosely on the
public loan-approval data (income rises with education and experience, credit score
with payment behaviour); the risk score is a documented function of the fields a
credit officer would expect to matter, plus noise. It is demo data: a model trained
on it demonstrates the product, not credit risk.

The target has the same structure as the public data's, so that the demo exercises the
same training path (the approval index, training/approval.py): a base score rounded to
whole points, multiplied by 0.8 for applicants a lender approved, where approval follows
a logistic rule in the fields (lower debt burden and rate, higher income and credit
score, no defaults; about a quarter of applicants).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from lambda_app.core.schema import FIELDS, TARGET


def _choice(rng: np.random.Generator, name: str, p: list[float], n: int) -> np.ndarray:
    choices = next(f.choices for f in FIELDS if f.name == name)
    return rng.choice(np.array(choices, dtype=object), size=n, p=p)


def generate(rows: int, seed: int = 42) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = rows
    age = np.clip(rng.normal(40, 12, n), 18, 80).round().astype(int)
    education = _choice(rng, "EducationLevel", [0.30, 0.20, 0.30, 0.15, 0.05], n)
    edu_rank = (
        pd.Series(education)
        .map({"High School": 0, "Associate": 1, "Bachelor": 2, "Master": 3, "Doctorate": 4})
        .to_numpy()
    )
    experience = np.clip(age - 18 - edu_rank * 2 + rng.integers(-3, 4, n), 0, None).astype(int)
    employment = _choice(rng, "EmploymentStatus", [0.85, 0.08, 0.07], n)
    income = (
        np.clip(np.exp(rng.normal(10.6 + 0.12 * edu_rank + 0.012 * experience, 0.45, n)), 15000, 450000)
        .round()
        .astype(int)
    )
    marital = _choice(rng, "MaritalStatus", [0.30, 0.50, 0.15, 0.05], n)
    dependents = rng.choice(6, size=n, p=[0.28, 0.27, 0.2, 0.13, 0.08, 0.04])
    home = _choice(rng, "HomeOwnershipStatus", [0.2, 0.4, 0.3, 0.1], n)
    purpose = _choice(rng, "LoanPurpose", [0.3, 0.25, 0.15, 0.2, 0.1], n)
    payment_history = np.clip(rng.normal(24, 5, n), 8, 45).round().astype(int)
    utilization = np.clip(rng.beta(2, 5, n), 0.001, 0.95)
    defaults = (rng.random(n) < 0.10).astype(int)
    bankruptcy = (rng.random(n) < 0.05).astype(int)
    credit_score = (
        np.clip(
            rng.normal(575 + 2.5 * (payment_history - 24) - 60 * utilization - 40 * defaults - 50 * bankruptcy, 45, n),
            340,
            712,
        )
        .round()
        .astype(int)
    )
    duration = rng.choice(np.arange(12, 121, 12), size=n, p=[0.1, 0.15, 0.2, 0.2, 0.1, 0.1, 0.05, 0.04, 0.03, 0.03])
    loan = np.clip(np.exp(rng.normal(10.0, 0.55, n)) * (income / 50000) ** 0.3, 3500, 185000).round().astype(int)
    rate = np.clip(0.30 - 0.00025 * (credit_score - 340) + rng.normal(0, 0.02, n), 0.11, 0.45)
    monthly_rate = rate / 12
    payment = loan * monthly_rate / (1 - (1 + monthly_rate) ** -duration)
    liabilities = np.clip(np.exp(rng.normal(10.0, 1.0, n)), 565, 1_400_000).round().astype(int)
    assets = np.clip(np.exp(rng.normal(11.0, 1.0, n)) * (1 + 0.02 * experience), 2000, 2_600_000).round().astype(int)
    dti = np.clip((payment + liabilities / 120) / (income / 12), 0.016, 4.1)
    utility = np.clip(rng.beta(6, 1.5, n), 0.26, 0.999)

    base = (
        42.0
        + 28 * np.clip(dti, 0, 1.5)
        - 0.05 * (credit_score - 575)
        + 8 * defaults
        + 6 * bankruptcy
        - 0.35 * (payment_history - 24)
        + 6 * (utilization - 0.28)
        - 8 * (utility - 0.8)
        + 2.5 * (employment == "Unemployed")
        - 2.5 * np.log(income / 50000)
        - 0.08 * (np.clip(experience, 0, 40) - 17)
        + rng.normal(0, 2.5, n)
    )
    # Sharp, as in the public data, where a linear rule tells approval apart almost perfectly.
    approval_logit = 3.0 * (
        -1.6
        - 6.0 * (np.clip(dti, 0, 1.5) - 0.3)
        - 25.0 * (rate - 0.24)
        + 1.2 * np.log(income / 50000)
        + 0.01 * (credit_score - 575)
        + 0.3 * edu_rank
        - 2.0 * defaults
        - 2.5 * bankruptcy
        - 0.8 * (employment == "Unemployed")
    )
    approved = rng.random(n) < 1.0 / (1.0 + np.exp(-approval_logit))
    risk = np.clip(np.round(base), 35, 84) * np.where(approved, 0.8, 1.0)
    frame = pd.DataFrame(
        {
            "Age": age,
            "AnnualIncome": income,
            "CreditScore": credit_score,
            "EmploymentStatus": employment,
            "EducationLevel": education,
            "Experience": experience,
            "LoanAmount": loan,
            "LoanDuration": duration,
            "MaritalStatus": marital,
            "NumberOfDependents": dependents,
            "HomeOwnershipStatus": home,
            "CreditCardUtilizationRate": utilization.round(6),
            "NumberOfOpenCreditLines": rng.poisson(3, n).clip(0, 13),
            "NumberOfCreditInquiries": rng.poisson(1, n).clip(0, 7),
            "BankruptcyHistory": bankruptcy,
            "LoanPurpose": purpose,
            "PreviousLoanDefaults": defaults,
            "PaymentHistory": payment_history,
            "LengthOfCreditHistory": np.clip(rng.integers(1, 30, n), 1, np.maximum(age - 17, 1)),
            "SavingsAccountBalance": np.clip(np.exp(rng.normal(8.0, 1.2, n)), 73, 200000).round().astype(int),
            "CheckingAccountBalance": np.clip(np.exp(rng.normal(7.0, 1.1, n)), 24, 52000).round().astype(int),
            "TotalAssets": assets,
            "TotalLiabilities": liabilities,
            "UtilityBillsPaymentHistory": utility.round(6),
            "JobTenure": np.clip(rng.poisson(5, n), 0, np.maximum(experience, 0)).astype(int),
            "InterestRate": rate.round(6),
            "MonthlyLoanPayment": payment.round(4),
            "TotalDebtToIncomeRatio": dti.round(6),
            TARGET: risk.round(1),
        }
    )
    return frame


def write(rows: int, out: Path, seed: int = 42) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    generate(rows, seed).to_csv(out, index=False)
    # The sidecar is how training knows (and its manifest says) the data was synthetic.
    out.with_suffix(out.suffix + ".json").write_text(
        json.dumps({"generator": "training.synth", "seed": seed, "rows": rows}) + "\n"
    )
    return out
