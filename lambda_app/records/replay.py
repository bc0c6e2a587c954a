"""`loan-risk replay`: re-score stored decision records with the bundle they name and report every difference.

This answers a dispute or an examiner's question: given the record of a decision, does
the model it names, run again on the applicant it saw, give the same score, band and
reasons? Exit 0 when every record matches, 1 when any differs, 2 when the records or
the bundle cannot be read, or the bundle is not the one the records name.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from pydantic import ValidationError

from lambda_app.core.bundle import BundleError
from lambda_app.core.commandline import Parser
from lambda_app.core.model_source import resolve
from lambda_app.core.schema import Applicant
from lambda_app.core.scoring import Scorer
from lambda_app.records.build import reasons_record
from lambda_app.records.format import DecisionRecord, ReasonRecord, ReasonsRecord
from lambda_app.records.read import RecordsError, iter_records
from lambda_app.settings import Settings

SCORE_TOLERANCE = 1e-4
CHUNK = 500  # records scored together: CatBoost is much faster per applicant in batches


class WrongModel(Exception):
    """A record names another model than the bundle given."""


@dataclass
class Difference:
    decision_id: str
    field: str
    stored: Any
    replayed: Any


@dataclass
class Report:
    model_version: str
    records: int = 0
    differing: set[str] = field(default_factory=set)
    differences: list[Difference] = field(default_factory=list)

    def add(self, found: list[Difference]) -> None:
        self.differences += found
        self.differing |= {d.decision_id for d in found}

    def as_json(self) -> dict[str, Any]:
        return {
            "model_version": self.model_version,
            "records": self.records,
            "matched": self.records - len(self.differing),
            "differ": len(self.differing),
            "differences": [d.__dict__ for d in self.differences],
        }


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= SCORE_TOLERANCE


def _reason_key(r: ReasonRecord) -> tuple[str, Any]:
    return r.feature, r.value


def compare_reasons(decision_id: str, stored: ReasonsRecord, replayed: ReasonsRecord) -> list[Difference]:
    found = []
    for name in ("baseline", "model_output", "other"):
        a, b = getattr(stored, name), getattr(replayed, name)
        if not _close(a, b):
            found.append(Difference(decision_id, f"reasons.{name}", a, b))
    for side in ("raised", "lowered"):
        a_list: list[ReasonRecord] = getattr(stored, side)
        b_list: list[ReasonRecord] = getattr(replayed, side)
        same = len(a_list) == len(b_list) and all(
            _reason_key(x) == _reason_key(y) and _close(x.contribution, y.contribution)
            for x, y in zip(a_list, b_list, strict=True)
        )
        if not same:
            found.append(
                Difference(
                    decision_id,
                    f"reasons.{side}",
                    [r.model_dump() for r in a_list],
                    [r.model_dump() for r in b_list],
                )
            )
    return found


def check_model(record: DecisionRecord, scorer: Scorer) -> None:
    if record.model.version != scorer.version or record.model.model_sha256 != scorer.manifest.model_sha256:
        raise WrongModel(
            f"record {record.decision_id} was scored by model {record.model.version} "
            f"(sha256 {record.model.model_sha256[:12]}), not by this bundle ({scorer.version}, "
            f"sha256 {scorer.manifest.model_sha256[:12]}): replay it with --model pointing at bundle "
            f"{record.model.version}"
        )


def replay_chunk(records: Sequence[DecisionRecord], scorer: Scorer) -> list[Difference]:
    """Every difference between the records and the bundle's answers for their applicants."""
    for record in records:
        check_model(record, scorer)
    found: list[Difference] = []
    valid: list[tuple[DecisionRecord, dict[str, Any]]] = []
    for record in records:
        try:
            valid.append((record, Applicant.model_validate(record.applicant).model_dump()))
        except ValidationError as e:
            found.append(
                Difference(
                    record.decision_id, "applicant", "stored", f"not a valid applicant now: {e.error_count()} errors"
                )
            )
    scores = scorer.score([a for _, a in valid])
    for (record, applicant), score in zip(valid, scores, strict=True):
        did = record.decision_id
        if not _close(record.risk_score, score):
            found.append(Difference(did, "risk_score", record.risk_score, score))
        band = scorer.band(score)
        if record.risk_band != band:
            found.append(Difference(did, "risk_band", record.risk_band, band))
        if record.reasons is not None:
            top = max(len(record.reasons.raised), len(record.reasons.lowered), 1)
            # One applicant at a time, as the single-score route and the web page explain:
            # CatBoost's SHAP values for a row shift slightly with the rows explained beside it.
            replayed = reasons_record(scorer.explain([applicant], top=top)[0])
            found += compare_reasons(did, record.reasons, replayed)
    return found


def _records(uri: str) -> Iterator[DecisionRecord]:
    for number, raw in enumerate(iter_records(uri), 1):
        try:
            yield DecisionRecord.model_validate(raw)
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "record"
            raise RecordsError(
                f"record {number} under {uri} is not a decision record: {where}: {first['msg']}"
            ) from None


def replay(uri: str, scorer: Scorer) -> Report:
    report = Report(scorer.version)
    records = _records(uri)
    while chunk := list(islice(records, CHUNK)):
        report.records += len(chunk)
        report.add(replay_chunk(chunk, scorer))
    return report


def _text(report: Report) -> str:
    lines = [
        f"{d.decision_id}: {d.field} stored {json.dumps(d.stored)}, replayed {json.dumps(d.replayed)}"
        for d in report.differences
    ]
    summary = report.as_json()
    lines.append(
        f"replayed {summary['records']} records with model {report.model_version}: "
        f"{summary['matched']} match, {summary['differ']} differ"
    )
    return "\n".join(lines)


def main(argv: list[str], prog: str) -> int:
    parser = Parser(prog=prog, description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--records", required=True, help="decision records: a directory, a .jsonl file or s3://bucket/prefix"
    )
    parser.add_argument(
        "--model", required=True, help="the bundle the records name: a directory or s3://bucket/prefix/VERSION"
    )
    parser.add_argument(
        "--cache-dir", default=Settings().model_cache_dir, help="where a bundle from S3 is kept (MODEL_CACHE_DIR)"
    )
    parser.add_argument("--json", action="store_true", help="print the report as one JSON document")
    args = parser.parse_args(argv)
    try:
        scorer = Scorer.load(resolve(args.model, args.cache_dir))
        report = replay(args.records, scorer)
    except (BundleError, RecordsError, WrongModel) as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    if report.records == 0:
        print(f"{prog}: error: no decision records under {args.records}", file=sys.stderr)
        return 2
    print(json.dumps(report.as_json(), indent=2) if args.json else _text(report))
    return 1 if report.differing else 0
