"""`python -m benchmarks.drift` (`make drift-bench`): the stability report over a million
decision records on disk, beside its floor, and its peak memory at 100,000 and 1,000,000.

The records are 100,000 generated applicants scored by the bundle (MODEL_URI, which must
have a reference: a bundle trained by this code), written ten times over as ten daily
partitions of JSON Lines with reasons, as the service writes them. The floor is reading
and parsing the same lines and nothing else (the reader the report uses): what any report
over these files has to pay. Each run is a fresh `loan-risk drift` process, timed from
outside; its peak RSS is the kernel's high-water mark for that process (VmHWM, which exec
resets, unlike getrusage's, which would carry this process's own from the fork).

DRIFT_BENCH_RECORDS sets the total (1,000,000), DRIFT_BENCH_DIR where the files go (a
temporary directory, removed afterwards).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import MODEL_DIR, applicants

PER_DAY = 100_000
SECONDS_TARGET = 60.0
MEMORY_GROWTH_TARGET = 1.10  # peak RSS at 1M over peak RSS at 100k


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_mb: float
    output: str


def write_records(root: Path, total: int) -> int:
    """`total` records in daily partitions of PER_DAY; returns the bytes written."""
    from lambda_app.core.scoring import Scorer

    scorer = Scorer.load(MODEL_DIR)
    people = applicants(min(PER_DAY, total), seed=5)
    scores = scorer.score(people)
    model = {"version": scorer.version, "model_sha256": scorer.manifest.model_sha256}
    # One line per applicant, serialised once; each day's copy changes only the id and time.
    bodies = []
    for applicant, score in zip(people, scores, strict=True):
        top = sorted(applicant.items(), key=lambda kv: str(kv[0]))[:8]
        reasons = {
            "baseline": 45.0,
            "model_output": score,
            "raised": [{"feature": k, "value": v, "contribution": 1.5} for k, v in top[:4]],
            "lowered": [{"feature": k, "value": v, "contribution": -1.25} for k, v in top[4:]],
            "other": 0.25,
        }
        body = {
            "channel": "api",
            "batch_id": None,
            "request_id": "c0ffee00-0000-4000-8000-000000000000",
            "model": model,
            "applicant": applicant,
            "risk_score": score,
            "risk_band": scorer.band(score),
            "percentile": scorer.percentile(score),
            "reasons": reasons,
            "challenger": None,
        }
        bodies.append(json.dumps(body)[1:])
    written = 0
    days = (total + PER_DAY - 1) // PER_DAY
    for d in range(days):
        day = f"2026-11-{d + 1:02d}"
        folder = root / f"dt={day}"
        folder.mkdir(parents=True)
        count = min(PER_DAY, total - d * PER_DAY)
        with (folder / "part-0000.jsonl").open("w") as f:
            for i in range(count):
                head = f'{{"format": "loan-risk.decision/1", "decision_id": "{d:04x}{i:028x}", "decided_at": "{day}T12:00:00.000Z", '
                f.write(head + bodies[i % len(bodies)] + "\n")
        written += (folder / "part-0000.jsonl").stat().st_size
    return written


# Runs a Python snippet, then reports the process's peak RSS on stderr's last line.
PEAK = """
import sys
try:
    {body}
finally:
    peak = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:"))
    print("peak_kb", peak.split()[1], file=sys.stderr)
"""
DRIFT = "from lambda_app.cli import main; code = main(sys.argv[1:]); sys.stdout.flush()"
# The collector off, as the report runs (lambda_app.monitoring.stability).
PARSE_ONLY = (
    "import gc; gc.disable(); from lambda_app.records.read import iter_records; "
    "print(sum(1 for _ in iter_records(sys.argv[1])))"
)


def timed(body: str, args: list[str]) -> Run:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", PEAK.format(body=body), *args], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    lines = proc.stderr.strip().splitlines()
    if proc.returncode != 0 or not lines or not lines[-1].startswith("peak_kb"):
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr[-500:]}")
    return Run(seconds, int(lines[-1].split()[1]) / 1024, proc.stdout)


def main() -> int:
    if not (MODEL_DIR / "manifest.json").is_file():
        print(f"no model bundle at {MODEL_DIR}: run `make model` first", file=sys.stderr)
        return 2
    if json.loads((MODEL_DIR / "manifest.json").read_text()).get("reference") is None:
        print(f"the bundle at {MODEL_DIR} has no reference distributions: retrain it (`make model`)", file=sys.stderr)
        return 2
    total = int(os.environ.get("DRIFT_BENCH_RECORDS", "1000000"))
    root = Path(tempfile.mkdtemp(prefix="drift-bench-", dir=os.environ.get("DRIFT_BENCH_DIR")))
    try:
        print(f"writing {total:,} decision records under {root} ...", file=sys.stderr)
        t = time.perf_counter()
        size = write_records(root, total)
        print(f"  {size / 1e9:.2f} GB in {time.perf_counter() - t:.0f} s", file=sys.stderr)
        drift = ["drift", "--model", str(MODEL_DIR), "--records", str(root), "--json"]
        print("drift over the first day (100,000) ...", file=sys.stderr)
        small = timed(DRIFT, [*drift, "--until", "2026-11-01"])
        print(f"drift over all {total:,} ...", file=sys.stderr)
        large = timed(DRIFT, drift)
        print("floor: read and parse the same lines ...", file=sys.stderr)
        floor = timed(PARSE_ONLY, [str(root)])
        report = json.loads(large.output)
        assert report["n"] == total == int(floor.output), (report["n"], floor.output)
        assert json.loads(small.output)["n"] == min(PER_DAY, total)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    growth = large.peak_mb / small.peak_mb
    rows = [
        ("what", "figure", "floor", "ratio", "target"),
        (
            f"stability report, {total:,} records ({size / 1e9:.2f} GB JSONL)",
            f"{large.seconds:.1f} s ({total / large.seconds:,.0f} records/s)",
            f"read + parse only {floor.seconds:.1f} s",
            f"{large.seconds / floor.seconds:.2f}x floor",
            f"< {SECONDS_TARGET:.0f} s",
        ),
        (
            "peak RSS, 100,000 vs all records",
            f"{small.peak_mb:.0f} MB vs {large.peak_mb:.0f} MB",
            f"{small.seconds:.1f} s for 100,000",
            f"{growth:.2f}x",
            f"<= {MEMORY_GROWTH_TARGET:.2f}x",
        ),
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for r in rows:
        print(" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    ok = large.seconds < SECONDS_TARGET and growth <= MEMORY_GROWTH_TARGET
    print("within targets" if ok else "OUTSIDE TARGETS")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
