"""The stability report of a bundle over the decision records of a period: what
`loan-risk drift` prints and the scheduled monitoring job stores."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Any

from lambda_app.core.bundle import Manifest
from lambda_app.monitoring.psi import EPSILON, MIN_RECORDS, SHIFT_ABOVE, STABLE_BELOW
from lambda_app.monitoring.stability import Stability
from lambda_app.records.read import iter_records


class NoReference(ValueError):
    """The bundle has no reference distributions to compare with."""


def within(
    records: Iterable[Mapping[str, Any]], since: date | None, until: date | None, undated: list[int] | None = None
) -> Iterator[Mapping[str, Any]]:
    """Records decided between the two days (inclusive), by their own `decided_at`: the
    partitions already skip whole days, this catches files that are not partitioned. A
    record without a date cannot be placed in the period: it is left out and counted in
    `undated[0]`."""
    if since is None and until is None:
        yield from records
        return
    low = since.isoformat() if since else "0000-01-01"
    high = until.isoformat() if until else "9999-12-31"
    for record in records:
        stamp = record.get("decided_at") if isinstance(record, Mapping) else None
        if not isinstance(stamp, str) or len(stamp) < 10:
            if undated is not None:
                undated[0] += 1
            continue
        if low <= stamp[:10] <= high:
            yield record


def drift_report(
    manifest: Manifest,
    records_uri: str,
    since: date | None = None,
    until: date | None = None,
    minimum: int = MIN_RECORDS,
) -> dict[str, Any]:
    if manifest.reference is None:
        raise NoReference(
            f"Model bundle {manifest.version} has no reference distributions (it was trained before "
            "monitoring existed), so there is nothing to compare the records with. Retrain it with this "
            "version of the code (`loan-risk train`) to monitor it."
        )
    stability = Stability(manifest.reference, minimum=minimum)
    undated = [0]
    stability.add(within(iter_records(records_uri, since, until), since, until, undated))
    return {
        "report": "loan-risk.stability/1",
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "model": {"version": manifest.version, "reference_n": manifest.reference.n},
        "records": records_uri,
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
        "thresholds": {"stable_below": STABLE_BELOW, "shift_above": SHIFT_ABOVE, "epsilon": EPSILON},
        **stability.report(),
        "undated": undated[0],  # left out of a dated period: no decided_at to place them by
    }
