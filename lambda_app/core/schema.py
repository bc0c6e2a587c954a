"""The applicant record: the one definition of the 28 inputs and the target.

Training validates CSVs with it, the API uses it as the request model, the UI renders
its form from it and the OpenAPI docs come from it. Ranges are what a lender could
plausibly submit (wider than the training data); categories are exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args

from annotated_types import Ge, Le
from pydantic import BaseModel, ConfigDict, Field, GetCoreSchemaHandler, TypeAdapter
from pydantic_core import core_schema
from typing_extensions import TypedDict

TARGET = "RiskScore"

Employment = Literal["Employed", "Self-Employed", "Unemployed"]
Education = Literal["High School", "Associate", "Bachelor", "Master", "Doctorate"]
Marital = Literal["Single", "Married", "Divorced", "Widowed"]
HomeOwnership = Literal["Own", "Mortgage", "Rent", "Other"]
Purpose = Literal["Home", "Debt Consolidation", "Education", "Auto", "Other"]


def _whole_number(value: Any) -> Any:
    return int(value) if type(value) is float and value.is_integer() else value


class WholeNumber:
    """JSON has one number type, and JSON Schema's "integer" includes 51.0: a client whose
    JSON library writes whole floats that way sends a valid integer, so a whole float is
    taken as one. Floats with a fraction, strings and booleans still fail strict int
    validation. Only on Python input (what FastAPI and the batch reader validate): text
    (CSV) keeps pydantic's own number parsing, which a function validator would bypass."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        strict_int = handler(source)
        return core_schema.json_or_python_schema(
            json_schema=strict_int,
            python_schema=core_schema.no_info_before_validator_function(_whole_number, strict_int),
        )


Int = Annotated[int, WholeNumber]
Flag = Annotated[int, Field(ge=0, le=1), WholeNumber]
Money = Annotated[int, Field(ge=0, le=1_000_000_000), WholeNumber]
Share = Annotated[float, Field(ge=0.0, le=1.0)]


def _f(description: str, unit: str = "", protected: bool = False, **kw: Any) -> Any:
    extra: dict[str, Any] = {"unit": unit} if unit else {}
    if protected:
        extra["protected"] = True
    return Field(description=description, json_schema_extra=extra or None, **kw)


EXAMPLE_APPLICANT: dict[str, Any] = {
    "Age": 45,
    "AnnualIncome": 48000,
    "CreditScore": 580,
    "EmploymentStatus": "Employed",
    "EducationLevel": "Bachelor",
    "Experience": 20,
    "LoanAmount": 22000,
    "LoanDuration": 48,
    "MaritalStatus": "Married",
    "NumberOfDependents": 1,
    "HomeOwnershipStatus": "Mortgage",
    "CreditCardUtilizationRate": 0.27,
    "NumberOfOpenCreditLines": 3,
    "NumberOfCreditInquiries": 1,
    "BankruptcyHistory": 0,
    "LoanPurpose": "Home",
    "PreviousLoanDefaults": 0,
    "PaymentHistory": 24,
    "LengthOfCreditHistory": 15,
    "SavingsAccountBalance": 3000,
    "CheckingAccountBalance": 1100,
    "TotalAssets": 61000,
    "TotalLiabilities": 22000,
    "UtilityBillsPaymentHistory": 0.82,
    "JobTenure": 5,
    "InterestRate": 0.236,
    "MonthlyLoanPayment": 730.0,
    "TotalDebtToIncomeRatio": 0.31,
}


class Applicant(BaseModel):
    """One loan application. Strict: wrong types, unknown categories, NaN/Infinity,
    missing and extra fields are rejected rather than coerced."""

    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        allow_inf_nan=False,
        frozen=True,
        json_schema_extra={"examples": [EXAMPLE_APPLICANT]},
    )

    Age: Int = _f("Applicant's age", "years", protected=True, ge=18, le=100)
    AnnualIncome: Money = _f("Gross annual income", "currency units / year")
    CreditScore: Int = _f("Credit bureau score", "points", ge=300, le=850)
    EmploymentStatus: Employment = _f("Employment status")
    EducationLevel: Education = _f("Highest education level")
    Experience: Int = _f("Work experience", "years", ge=0, le=80)
    LoanAmount: Int = _f("Requested loan amount", "currency units", ge=1, le=1_000_000_000)
    LoanDuration: Int = _f("Loan term", "months", ge=1, le=480)
    MaritalStatus: Marital = _f("Marital status", protected=True)
    NumberOfDependents: Int = _f("Number of dependents", "people", ge=0, le=20)
    HomeOwnershipStatus: HomeOwnership = _f("Home ownership status")
    CreditCardUtilizationRate: Share = _f("Credit card utilisation (balance / limit)", "fraction 0-1")
    NumberOfOpenCreditLines: Int = _f("Open credit lines", "count", ge=0, le=100)
    NumberOfCreditInquiries: Int = _f("Recent credit inquiries", "count", ge=0, le=100)
    BankruptcyHistory: Flag = _f("Past bankruptcy", "0/1 (1 = yes)")
    LoanPurpose: Purpose = _f("Purpose of the loan")
    PreviousLoanDefaults: Flag = _f("Previous loan default", "0/1 (1 = yes)")
    PaymentHistory: Int = _f("Payment history score", "points", ge=0, le=1000)
    LengthOfCreditHistory: Int = _f("Length of credit history", "years", ge=0, le=100)
    SavingsAccountBalance: Money = _f("Savings account balance", "currency units")
    CheckingAccountBalance: Money = _f("Checking account balance", "currency units")
    TotalAssets: Money = _f("Total assets", "currency units")
    TotalLiabilities: Money = _f("Total liabilities", "currency units")
    UtilityBillsPaymentHistory: Share = _f("Share of utility bills paid on time", "fraction 0-1")
    JobTenure: Int = _f("Time in current job", "years", ge=0, le=80)
    InterestRate: Share = _f("Annual interest rate", "fraction (0.2 = 20%)")
    MonthlyLoanPayment: float = _f("Monthly loan payment", "currency units / month", ge=0, le=100_000_000)
    TotalDebtToIncomeRatio: float = _f("Total debt to income ratio", "ratio", ge=0, le=100)


def _record_type() -> Any:
    typed_dict: Any = TypedDict  # built from the model's fields, which a type checker cannot follow
    record = typed_dict(
        "ApplicantRecord",
        {
            name: Annotated[(f.annotation, *f.metadata)] if f.metadata else f.annotation
            for name, f in Applicant.model_fields.items()
        },
    )
    record.__pydantic_config__ = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)
    return record


# Applicant's fields and constraints as a TypedDict: pydantic-core validates JSON straight
# into a plain dict, with no model to build and dump again. Used where speed counts (the
# single-score fast path, JSON batches), always with Applicant itself as the fallback
# that words the errors. In JSON mode it is stricter in one way: a whole number written
# as a float (51.0) fails, and Applicant, validating the parsed body, accepts it.
ApplicantRecord: Any = _record_type()
RECORD = TypeAdapter(ApplicantRecord)


@dataclass(frozen=True)
class FieldSpec:
    """What a form, a CSV reader or a doc page needs to know about one input."""

    name: str
    kind: Literal["int", "float", "category"]
    description: str
    unit: str
    minimum: float | None
    maximum: float | None
    choices: tuple[str, ...]
    protected: bool


def _spec(name: str) -> FieldSpec:
    info = Applicant.model_fields[name]
    choices: tuple[str, ...] = tuple(get_args(info.annotation)) if _is_literal(info.annotation) else ()
    kind: Literal["int", "float", "category"] = "category" if choices else "int" if info.annotation is int else "float"
    lo = next((m.ge for m in info.metadata if isinstance(m, Ge)), None)
    hi = next((m.le for m in info.metadata if isinstance(m, Le)), None)
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    return FieldSpec(
        name=name,
        kind=kind,
        description=info.description or name,
        unit=str(extra.get("unit", "")),
        minimum=float(lo) if lo is not None else None,  # type: ignore[arg-type]
        maximum=float(hi) if hi is not None else None,  # type: ignore[arg-type]
        choices=choices,
        protected=bool(extra.get("protected", False)),
    )


def _is_literal(annotation: Any) -> bool:
    return getattr(annotation, "__origin__", None) is Literal


FIELDS: tuple[FieldSpec, ...] = tuple(_spec(n) for n in Applicant.model_fields)
FEATURES: tuple[str, ...] = tuple(f.name for f in FIELDS)
CATEGORICAL: tuple[str, ...] = tuple(f.name for f in FIELDS if f.kind == "category")
PROTECTED: tuple[str, ...] = tuple(f.name for f in FIELDS if f.protected)
SPECS: dict[str, FieldSpec] = {f.name: f for f in FIELDS}
