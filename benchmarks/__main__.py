"""`python -m benchmarks` (`make bench`): every figure beside its floor, as a table.

BENCH_SECONDS sets each wrk run's length (30 by default, as in the targets);
BENCH_SKIP_SIZE=1 skips building the two dependency venvs (the slowest part).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from benchmarks import (
    batch_http,
    cold_start,
    deps_size,
    explain,
    lambda_warm,
    overload,
    records_http,
    records_sink,
    wrk,
)
from benchmarks.common import MODEL_DIR, ROOT, applicants, example, serve, status_kb, to_json

Row = tuple[str, str, str, str, str]  # what, figure, floor, ratio, target


def main() -> int:
    if not (MODEL_DIR / "manifest.json").is_file():
        print(f"no model bundle at {MODEL_DIR}: run `make model` first", file=sys.stderr)
        return 2
    seconds = int(os.environ.get("BENCH_SECONDS", "30"))
    rows: list[Row] = []
    log = Path(tempfile.gettempdir()) / "loan-risk-bench-server.log"

    print("warm Lambda handler ...", file=sys.stderr)
    warm = lambda_warm.measure()
    rows.append(
        (
            "warm single score, Lambda handler in process, tracer on (median)",
            f"{warm.handler_us:.0f} µs (an invocation X-Ray samples: {warm.sampled_us:.0f} µs)",
            f"raw CatBoost 1-row predict {warm.raw_us:.0f} µs (service's lean predict {warm.lean_us:.0f} µs)",
            f"{warm.ratio:.2f}x floor",
            "<= 2x floor",
        )
    )
    rows.append(explain_row())

    peak_kb = 0
    if wrk.available():
        http, peak_kb = http_rows(seconds, log)
        rows += http
    else:
        print("wrk not installed (apt-get install -y wrk): HTTP figures skipped", file=sys.stderr)

    with ExitStack() as stack:
        trimmed_python = None
        if os.environ.get("BENCH_SKIP_SIZE") != "1":
            print("dependency sizes (two fresh venvs) ...", file=sys.stderr)
            full, trimmed, trimmed_python = stack.enter_context(deps_size.environments())
        print("cold starts ...", file=sys.stderr)
        cold = [("development venv", *_cold_starts(sys.executable, ROOT))]
        if trimmed_python is not None and trimmed.serves:
            # Outside the work tree, so the trimmed environment's own copy of the app is imported.
            where = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            cold.insert(0, ("serving image's dependencies", *_cold_starts(str(trimmed_python), where)))
    rows.append(
        (
            "cold start: new process to first successful score (median of 5)",
            "; ".join(f"{name}: ECS server {ecs:.2f} s, Lambda handler {lam:.2f} s" for name, ecs, lam, _ in cold),
            "; ".join(f"{name}: bare `python -c pass` {bare:.2f} s" for name, _, _, bare in cold),
            "; ".join(f"Lambda handler {lam - bare:.2f} s over it" for _, _, lam, bare in cold),
            "<= 1.2 s; Lambda handler with the serving image's dependencies <= 0.4 s",
        )
    )
    if peak_kb:
        rows.append(
            (
                "peak memory of one serving worker (VmHWM, after the runs above)",
                f"{peak_kb / 1024:.0f} MB",
                "",
                "",
                "<= 300 MB",
            )
        )
    if trimmed_python is not None:
        unused = ", ".join(trimmed.unused) or "nothing"
        rows.append(
            (
                "installed size of the serving Python dependencies",
                f"requirements/serve.txt: {trimmed.megabytes:.0f} MB, {trimmed.packages} packages, "
                f"{'serves a score' if trimmed.serves else 'DOES NOT SERVE'}; never imported: {unused}",
                f"`pip install .`: {full.megabytes:.0f} MB, {full.packages} packages",
                f"{trimmed.megabytes / full.megabytes:.0%} of it",
                "reported; nothing scoring never imports",
            )
        )

    rows.append(records_sink_row())
    print(table(rows))
    return 0


def _cold_starts(python: str, cwd: Path) -> tuple[float, float, float]:
    """ECS server, Lambda handler and bare interpreter, each a median of 5 new processes."""
    return (
        cold_start.ecs_seconds(python=python, cwd=cwd),
        cold_start.lambda_seconds(python=python, cwd=cwd),
        cold_start.bare_python_seconds(python=python, cwd=cwd),
    )


def records_http_row(seconds: int) -> Row:
    print("decision records off and on (best-effort, local directory) ...", file=sys.stderr)
    kept = records_http.measure(min(seconds, 20))
    return (
        "single score over HTTP with decision records on (best-effort, local directory sink), two rounds",
        "; ".join(r.row() for r in kept.on)
        + f"; {kept.records_written:,} records written for {sum(r.requests for r in kept.on):,} answers",
        "records off, same server: " + "; ".join(r.row() for r in kept.off),
        f"median on / fastest off: {kept.ratio:.2f}x",
        ">= 0.7x records off",
    )


def http_rows(seconds: int, log: Path) -> tuple[list[Row], int]:
    """The rows measured over loopback HTTP with wrk, and the peak memory of a serving worker."""
    rows: list[Row] = []
    body = to_json(example())
    pairs = []
    # Three rounds, floor then service, each on fresh processes: this VM's throughput is
    # bimodal (when its vCPUs go idle, waking them costs more than a request), and a
    # process stays in whichever mode it starts in, so one pair alone can compare the
    # service in one mode with the floor in the other. Every round is reported.
    for round_ in (1, 2, 3):
        print(f"round {round_}: wrk -t2 -c16 -d{seconds}s, constant route, then the service ...", file=sys.stderr)
        with serve("benchmarks.floor_server") as floor:
            const = wrk.run(f"{floor.url}/v1/score", body, seconds)
        with serve("lambda_app", log=log) as server:
            single = wrk.run(f"{server.url}/v1/score", body, seconds)
            pairs.append((single, const))
            if round_ == 3:
                print(f"explained scores: wrk -t2 -c16 -d{seconds}s ...", file=sys.stderr)
                explained = wrk.run(f"{server.url}/v1/score?explain=true", body, seconds)
                print("1,000-applicant batches over HTTP ...", file=sys.stderr)
                batch = batch_http.measure(server.url, applicants(1000), seconds=min(seconds, 20))
                peak_kb = max(status_kb(pid, "VmHWM") for pid in server.workers())
    ratios = [s.requests_per_s / c.requests_per_s for s, c in pairs]
    # A round whose floor ran in the slow mode gives a ratio above 1 that means nothing;
    # the service's median against the best floor seen is the figure to hold to the target.
    worst = statistics.median(s.requests_per_s for s, _ in pairs) / max(c.requests_per_s for _, c in pairs)
    rows.append(
        (
            "single score over HTTP, `python -m lambda_app`, 2 workers, wrk -t2 -c16, three rounds",
            "; ".join(f"{s.row()}" for s, _ in pairs),
            "constant route, same server: " + "; ".join(c.row() for _, c in pairs),
            ", ".join(f"{r:.2f}x" for r in ratios) + f" floor; median service / fastest floor: {worst:.2f}x",
            ">= 2,000 req/s, p99 <= 25 ms, 0 errors, >= 0.5x floor",
        )
    )
    plain = pairs[-1][0]
    rows.append(
        (
            "explained single score over HTTP (`?explain=true`), same server as round 3, wrk -t2 -c16",
            explained.row(),
            f"plain score, same server, round 3: {plain.row()}",
            f"{explained.requests_per_s / plain.requests_per_s:.0%} of the plain score's throughput",
            ">= 2,000 req/s, p99 <= 25 ms, 0 errors",
        )
    )
    rows.append(
        (
            f"1,000-applicant batch over HTTP, end to end (wrk, {batch_http.CONNECTIONS} connections)",
            f"{batch.http_rows_per_s:,.0f} rows/s ({batch.requests} batches, {batch.errors} errors)",
            f"raw CatBoost batch predict {batch.raw_rows_per_s:,.0f} rows/s",
            f"{batch.ratio:.0%} of floor",
            ">= 25% of floor",
        )
    )
    rows.append(records_http_row(seconds))
    print("overload: floods of plain and explained scores ...", file=sys.stderr)
    floods, _ = overload.measure(min(seconds, 10), shedding=True)
    for calm, *loaded in (floods[i : i + 3] for i in range(0, len(floods), 3)):
        for flood in loaded:
            rows.append(
                (
                    f"overload: {flood.what}s at {flood.connections:,} connections, shedding on, clients "
                    + ("waiting out Retry-After" if flood.honour else "retrying at once"),
                    f"accepted {flood.accepted_per_s:,.0f} req/s, accepted p99 {flood.accepted_p99_ms:.1f} ms "
                    f"(probe), {flood.statuses.get(503, 0) / max(sum(flood.statuses.values()), 1):.0%} shed, "
                    f"{flood.socket_errors['timeout']} socket timeouts, "
                    f"{sum(flood.socket_errors.values()) - flood.socket_errors['timeout']} other socket errors",
                    f"same server at {calm.connections} connections: {calm.accepted_per_s:,.0f} req/s, "
                    f"p99 {calm.accepted_p99_ms:.1f} ms",
                    f"{flood.share:.0%} of it",
                    f"0 timeouts, p99 <= {overload.P99_MS:.0f} ms, >= {overload.SHARE:.0%}",
                )
            )
    return rows, peak_kb


def explain_row() -> Row:
    print("explanations in process ...", file=sys.stderr)
    shap = explain.measure()
    return (
        "SHAP values of one applicant in process (median), the service's leaf table",
        f"{shap.one_us:.0f} µs alone (reasons' attribution included); {shap.batch_row_us:.0f} µs each "
        f"in a batch of 32; the table built once per model in {shap.table_ms:.0f} ms",
        f"CatBoost's ShapValues call for one row {shap.catboost_us:.0f} µs",
        f"{shap.catboost_us / shap.one_us:.1f}x faster alone, {shap.catboost_us / shap.batch_row_us:.1f}x in a batch",
        "reported; values equal CatBoost's to 1e-9 (tests)",
    )


def records_sink_row() -> Row:
    print("decision records to AWS from the Lambda handler (moto server on loopback) ...", file=sys.stderr)
    sink = records_sink.measure()
    return (
        "Lambda invocation's added time to keep its record (submit + flush before returning, median)",
        f"Firehose {sink.firehose_us / 1000:.1f} ms (p99 {sink.firehose_p99_us / 1000:.1f} ms, of which this "
        f"process's CPU {sink.firehose_cpu_us / 1000:.1f} ms); S3 PutObject {sink.s3_us / 1000:.1f} ms; "
        f"local directory {sink.directory_us:.0f} µs",
        f"records off {sink.off_us:.1f} µs",
        "",
        f"reported ({sink.record_bytes:,}-byte record; moto's side included, the network to AWS not)",
    )


def table(rows: list[Row]) -> str:
    head = ("what", "figure", "floor (same run)", "vs floor", "target")
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(" --- " for _ in head) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
