"""`python -m benchmarks.portfolio` (`make portfolio-bench`): `loan-risk score` on a generated
portfolio of PORTFOLIO_ROWS rows (2,000,000 by default) with 2 workers, as CSV and as Parquet,
in PORTFOLIO_ROUNDS rounds (3) interleaved with raw CatBoost batch prediction per core; peak
memory of all its processes; and the Spark path in local[2] on the first SPARK_ROWS rows of
the same file.

Not a timed test: the figures are printed as a table (README: Portfolio re-scoring).
"""

from __future__ import annotations

import csv
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import MODEL_DIR, ROOT, status_kb
from lambda_app.core.schema import CATEGORICAL, FEATURES

ROWS = int(os.environ.get("PORTFOLIO_ROWS", "2000000"))
SPARK_ROWS = int(os.environ.get("SPARK_ROWS", "500000"))
ROUNDS = int(os.environ.get("PORTFOLIO_ROUNDS", "3"))
WORKERS = 2
GENERATE_CHUNK = 200_000  # rows generated at a time: memory stays low however large the file
FLOOR_ROWS = 25_000  # the size of one of the pipeline's chunks


def generate(path: Path, rows: int) -> None:
    """rows applicants (training.synth), written chunk by chunk with one header."""
    from training import synth

    with path.open("w", newline="") as f:
        for i, start in enumerate(range(0, rows, GENERATE_CHUNK)):
            frame = synth.generate(min(GENERATE_CHUNK, rows - start), seed=1000 + i)[list(FEATURES)]
            frame.to_csv(f, index=False, header=i == 0)


def to_parquet(path: Path, out: Path) -> None:
    """The same rows as typed Parquet, streamed block by block."""
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    with pcsv.open_csv(path) as reader, pq.ParquetWriter(out, reader.schema) as writer:
        for batch in reader:
            writer.write_batch(batch)


def head(path: Path, out: Path, rows: int) -> None:
    with path.open() as src, out.open("w") as dst:
        for i, line in enumerate(src):
            if i > rows:
                break
            dst.write(line)


def raw_rows_per_s_per_core(seconds: float = 4.0) -> float:
    """CatBoost's predict on a ready DataFrame of FLOOR_ROWS model inputs, one thread: rows per
    CPU-second (this machine's CPUs are shared, so a wall-clock rate says how busy it was)."""
    import pandas as pd
    from catboost import CatBoostRegressor

    from benchmarks.common import applicants
    from lambda_app.core.scoring import Scorer

    model = CatBoostRegressor()
    model.load_model(str(MODEL_DIR / "model.cbm"))
    scorer = Scorer.load(MODEL_DIR)
    frame = pd.DataFrame(scorer.rows(applicants(FLOOR_ROWS)), columns=scorer.manifest.features)
    for c in CATEGORICAL:
        if c in frame:
            frame[c] = frame[c].astype(str)
    model.predict(frame, thread_count=1)
    n, started, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - started < seconds:
        model.predict(frame, thread_count=1)
        n += 1
    return n * FLOOR_ROWS / (time.process_time() - cpu)


def tree(pid: int) -> list[int]:
    pids = [pid]
    for p in pids:
        try:
            pids.extend(int(c) for c in Path(f"/proc/{p}/task/{p}/children").read_text().split())
        except OSError:
            continue
    return pids


def run_cli(source: Path, out: Path) -> tuple[float, float, int, str]:
    """Wall seconds, CPU seconds of all its processes, peak RSS of the whole process tree at
    once (kB), the summary it printed."""
    command = [sys.executable, "-m", "lambda_app.cli", "score", "--in", str(source), "--out", str(out)]
    command += ["--workers", str(WORKERS), "--model", str(MODEL_DIR)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, sum(status_kb(p, "VmRSS") for p in tree(proc.pid)))
        time.sleep(0.1)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the workers too: the command waits for them
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    summary = proc.stdout.read() if proc.stdout else ""
    if proc.returncode != 0:
        raise RuntimeError(f"loan-risk score exited {proc.returncode}")
    return seconds, cpu, peak, summary


def run_spark(source: Path, out: Path) -> tuple[float, float]:
    """Seconds to start local[2], and to read, score and write the file as Parquet."""
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYTHONPATH"] = str(ROOT)
    started = time.perf_counter()
    from pyspark.sql import SparkSession

    from lambda_app.portfolio.spark import read, score_dataframe, write

    spark = SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false").getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    start_up = time.perf_counter() - started
    started = time.perf_counter()
    write(score_dataframe(read(spark, str(source)), str(MODEL_DIR)), str(out))
    seconds = time.perf_counter() - started
    spark.stop()
    return start_up, seconds


@dataclass
class Run:
    """One `loan-risk score` run and the floor either side of it."""

    seconds: float
    cpu: float
    peak_kb: int
    floor: float  # raw rows per CPU-second: the mean of the measurements just before and just after

    @property
    def per_cpu(self) -> float:
        return ROWS / self.cpu

    @property
    def ratio(self) -> float:
        return self.per_cpu / self.floor


def interleaved(sources: dict[str, Path], work: Path) -> tuple[dict[str, list[Run]], str]:
    """ROUNDS rounds of: the floor, then each source through `loan-risk score`; and the floor
    once more at the end. This VM's speed moves by a tenth within a minute (other jobs share its
    CPUs), so each run is set against the floor measured either side of it, and the rounds give
    the spread."""
    runs: dict[str, list[Run]] = {name: [] for name in sources}
    pending: list[tuple[str, float, float, int]] = []
    floor = raw_rows_per_s_per_core()
    summary = ""
    for r in range(ROUNDS):
        for name, source in sources.items():
            print(f"round {r + 1}/{ROUNDS}: loan-risk score, {name}, {WORKERS} workers ...", file=sys.stderr)
            seconds, cpu, peak, printed = run_cli(source, work / f"scores.{name.lower()}")
            summary = summary or printed
            pending.append((name, seconds, cpu, peak))
        after = raw_rows_per_s_per_core()
        for name, seconds, cpu, peak in pending:
            runs[name].append(Run(seconds, cpu, peak, (floor + after) / 2))
        pending, floor = [], after
    return runs, summary


def main() -> int:
    if not (MODEL_DIR / "manifest.json").is_file():
        print(f"no model bundle at {MODEL_DIR}: run `make model` first", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="loan-risk-portfolio-bench-"))
    try:
        data = work / "portfolio.csv"
        print(f"generating {ROWS:,} rows ...", file=sys.stderr)
        generate(data, ROWS)
        typed = work / "portfolio.parquet"
        to_parquet(data, typed)
        runs, summary = interleaved({"CSV": data, "Parquet": typed}, work)
        with (work / "scores.csv").open() as f:
            written = sum(1 for _ in csv.reader(f)) - 1
        assert written == ROWS, f"{written} result rows for {ROWS} input rows"
        spark_row = ("Spark local[2]", "skipped: no pyspark or java", "", "", "")
        if shutil.which("java"):
            try:
                import pyspark  # noqa: F401

                print(f"Spark local[2] on {SPARK_ROWS:,} rows ...", file=sys.stderr)
                sample = work / "sample.csv"
                head(data, sample, SPARK_ROWS)
                start_up, spark_s = run_spark(sample, work / "spark.parquet")
                raw = statistics.median(run.floor for run in runs["CSV"])
                spark_row = (
                    f"Spark local[2], score_dataframe (mapInPandas), {SPARK_ROWS:,} rows CSV -> Parquet",
                    f"{SPARK_ROWS / spark_s:,.0f} rows/s ({spark_s:.1f} s; session start {start_up:.1f} s)",
                    f"raw CatBoost {raw:,.0f} rows per CPU-second",
                    f"{SPARK_ROWS / spark_s / (raw * WORKERS):.0%} of raw x {WORKERS} cores",
                    "(reported)",
                )
            except ImportError:
                pass
        load = os.getloadavg()
        rows = []
        for name, kind in (("CSV", "CSV -> CSV"), ("Parquet", "Parquet -> Parquet")):
            each = runs[name]
            middle = sorted(each, key=lambda run: run.ratio)[len(each) // 2]
            rows.append(
                (
                    f"`loan-risk score`, {ROWS:,} rows {kind}, {WORKERS} workers, validation included: "
                    f"per CPU-second (all processes), median of {len(each)} rounds",
                    f"{middle.per_cpu:,.0f} rows per CPU-second ({middle.cpu:.1f} CPU-s; "
                    f"{ROWS / middle.seconds:,.0f} rows/s wall, {middle.seconds:.1f} s)",
                    f"raw CatBoost {middle.floor:,.0f} rows per CPU-second ({FLOOR_ROWS:,}-row DataFrame, 1 thread)",
                    f"{middle.ratio:.0%} of raw per core (rounds: {', '.join(f'{run.ratio:.0%}' for run in each)})",
                    ">= 50%",
                )
            )
        csv_runs = runs["CSV"]
        wall = statistics.median(ROWS / run.seconds / (run.floor * WORKERS) for run in csv_runs)
        rows.insert(
            1,
            (
                "the CSV runs, wall clock (median)",
                f"{statistics.median(ROWS / run.seconds for run in csv_runs):,.0f} rows/s",
                f"raw per core x {WORKERS} cores",
                f"{wall:.0%} of raw x {WORKERS}",
                ">= 50% (on idle cores)",
            ),
        )
        rows.append(
            (
                "peak memory, all its processes at once (sum of RSS), highest of the CSV (Parquet) runs",
                f"{max(run.peak_kb for run in csv_runs) / 1024:,.0f} MB "
                f"({max(run.peak_kb for run in runs['Parquet']) / 1024:,.0f} MB)",
                "",
                "",
                "< 1 GB",
            )
        )
        rows.append(spark_row)
        print(f"\n{summary.strip()}\n")
        print(f"load average during the run: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} CPUs\n")
        print("| what | figure | floor | ratio | target |")
        print("|---|---|---|---|---|")
        for row in rows:
            print("| " + " | ".join(row) + " |")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
