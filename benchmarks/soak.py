"""`python -m benchmarks.soak` (`make soak`): five minutes of steady, mixed traffic against
the ECS entry point on loopback, then the figures: throughput, latency percentiles, answers
by status (no 5xx allowed), and the server's memory over time (no growth beyond 10% after
warm-up). Exits non-zero when either limit is broken.

SOAK_SECONDS (300) and SOAK_RATE (requests/s offered, 400) change the run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks import wrk
from benchmarks.common import applicants, example, serve, status_kb, to_json
from lambda_app.core.schema import FEATURES

CONNECTIONS = 8
WARM_UP_S = 60

# One cycle of the mix: mostly single scores (varied applicants), a 100-applicant JSON batch,
# a CSV batch, an explanation, and the bad requests clients send: broken JSON, an invalid
# field, a wrong media type, an unknown route.
_LUA = r"""
local plan = {PLAN}
local n = 0
statuses = {}
function request()
  n = n + 1
  local r = plan[(n % #plan) + 1]
  return wrk.format("POST", r[1], {["Content-Type"] = r[2]}, r[3])
end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function delay()
  return DELAY_MS
end
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end
function done(summary, latency, requests)
  local all = {}
  for _, t in ipairs(threads) do
    for status, count in pairs(t:get("statuses")) do
      all[status] = (all[status] or 0) + count
    end
  end
  for status, count in pairs(all) do
    io.write(string.format("status %d %d\n", status, count))
  end
  io.write(string.format("latency_ms %.3f %.3f %.3f %.3f %.3f\n", latency:percentile(50) / 1000,
    latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency:percentile(99.9) / 1000, latency.max / 1000))
end
"""


def _lua_string(s: str) -> str:
    return "[==[" + s + "]==]"


def plan() -> list[tuple[str, str, str]]:
    people = applicants(200, seed=5)
    singles = [("/v1/score", "application/json", to_json(p)) for p in people[:16]]
    csv = ",".join(FEATURES) + "\n" + "".join(",".join(str(p[f]) for f in FEATURES) + "\n" for p in people[:50])
    return [
        *singles,
        ("/v1/score/batch", "application/json", to_json({"applicants": people[100:200]})),
        ("/v1/score/batch", "text/csv", csv),
        ("/v1/score?explain=true", "application/json", to_json(example())),
        ("/v1/score", "application/json", '{"Age": 45, "CreditScore":'),  # broken JSON: 422
        ("/v1/score", "application/json", to_json({**example(), "CreditScore": 9000})),  # 422
        ("/v1/score", "text/plain", "Age=45"),  # 415
        ("/v1/nothing", "application/json", "{}"),  # 404
    ]


def main() -> int:
    seconds = int(os.environ.get("SOAK_SECONDS", "300"))
    rate = int(os.environ.get("SOAK_RATE", "400"))
    delay_ms = max(1, round(CONNECTIONS * 1000 / rate))
    entries = ", ".join("{" + ", ".join(_lua_string(x) for x in r) + "}" for r in plan())
    script = _LUA.replace("{PLAN}", "{" + entries + "}").replace("DELAY_MS", str(delay_ms))
    samples: list[tuple[float, int]] = []
    log = Path(tempfile.gettempdir()) / "loan-risk-soak-server.log"
    with tempfile.TemporaryDirectory() as tmp, serve("lambda_app", log=log) as server:
        lua = Path(tmp) / "soak.lua"
        lua.write_text(script)
        stop = threading.Event()

        def sample() -> None:
            started = time.monotonic()
            while not stop.is_set():
                rss = sum(status_kb(pid, "VmRSS") for pid in server.process_tree())
                samples.append((time.monotonic() - started, rss))
                stop.wait(5)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        print(f"soak: {seconds} s at ~{rate} req/s offered ({CONNECTIONS} connections) ...", file=sys.stderr)
        out = subprocess.run(
            ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "-s", str(lua), f"{server.url}/"],
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 120,
        ).stdout
        stop.set()
        sampler.join()
    summary = wrk.parse(out)
    statuses = {
        int(s): int(n) for s, n in (line.split()[1:] for line in out.splitlines() if line.startswith("status "))
    }
    p50, p90, p99, p999, worst = (
        float(x) for x in next(ln for ln in out.splitlines() if ln.startswith("latency_ms")).split()[1:]
    )
    warm = [rss for t, rss in samples if t >= WARM_UP_S] or [rss for _, rss in samples]
    baseline, peak = warm[0], max(warm)
    growth = peak / baseline - 1
    server_errors = sum(n for s, n in statuses.items() if s >= 500)
    print(
        json.dumps(
            {
                "seconds": seconds,
                "requests": summary.requests,
                "requests_per_s": round(summary.requests_per_s, 1),
                "latency_ms": {"p50": p50, "p90": p90, "p99": p99, "p99.9": p999, "max": worst},
                "statuses": dict(sorted(statuses.items())),
                "socket_errors": summary.errors - sum(n for s, n in statuses.items() if s >= 300),
                "rss_mb": {
                    "after_warm_up": round(baseline / 1024, 1),
                    "peak_after_warm_up": round(peak / 1024, 1),
                    "end": round(samples[-1][1] / 1024, 1),
                    "growth_after_warm_up": f"{growth:.1%}",
                },
            },
            indent=2,
        )
    )
    ok = server_errors == 0 and growth <= 0.10
    print("soak: PASS" if ok else "soak: FAIL (5xx answers or memory growth over 10%)", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
