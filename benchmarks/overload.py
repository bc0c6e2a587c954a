"""`python -m benchmarks.overload` (`make overload`): the ECS entry point flooded on loopback.

wrk at 16 connections (what two workers keep busy) before and after floods of 1,024 on plain
scores, and of 256 on explained scores (`?explain=true`), each run OVERLOAD_SECONDS (10) long,
on a server without shedding (MAX_IN_FLIGHT=1000000) and then on one with the default limit:
16 runs and the warm-ups, about five minutes. Each flood runs twice, with two kinds of client:
ones that send their next request the moment an answer arrives, a 503 included (wrk's
own behaviour: clients that ignore Retry-After, the hardest case), and ones that wait out
a 503's Retry-After first (wrk's script API does not say which connection an answer is
for, so a thread's next request waits once for each 503 it received: as many waits as
refusals, spread over its connections). For each: socket errors and timeouts, the share
shed, the throughput of the accepted (200) answers and its share of the mean of the two
16-connection runs' around it (the machine's other load drifts; they bracket the floods),
and the p99 latency of the accepted ones. After the floods one plain score must succeed.

wrk times every answer, the 503s included, and its script API cannot tell which answer a
latency belongs to. So the accepted p99 is measured by up to PROBES more clients beside
wrk's (a quarter of the connections at most; wrk opens that many fewer, so the count is the
same): probes on keep-alive connections of their own that behave as wrk's clients do (back
to back, or waiting out a 503's Retry-After) and time each accepted answer. They are clients
among the others and see what each of them sees; the accepted throughput counts their
accepted answers too.
wrk's own figure is kept as a bound: if A of N answers were accepted, at most A/100 accepted
ones are slower than the (1 - A/(100 N)) quantile of all answers, so that quantile is at least
the accepted p99; it is loose when shed answers wait too.

Each server is measured only once all its workers listen (until then the kernel hands every
connection to the ones that do) and after a few seconds of unmeasured load on each path
(the first explanations start a worker thread).

Exits non-zero unless every flood with shedding on, of either kind of client, meets the
goals: no socket errors or timeouts, accepted p99 at most 50 ms, accepted throughput at least
80% of the 16-connection runs'.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from benchmarks.common import example, serve, to_json
from lambda_app.runtime.shed import RETRY_AFTER_S

P99_MS = 50.0
SHARE = 0.8
NO_LIMIT = 1_000_000  # MAX_IN_FLIGHT for the runs without shedding
# Clients timing accepted answers, out of each run's connections: enough that a p99 rests on
# more than a handful of accepted answers when most are refused or wait out Retry-After.
PROBES = 16
WARM_UP_S = 3

_LUA = r"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [==[BODY]==]
statuses = {}
local owed = 0
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if HONOUR and status == 503 then
    owed = owed + 1
  end
end
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end
function done(summary, latency, requests)
  local all, accepted = {}, 0
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("statuses")) do
      all[status] = (all[status] or 0) + n
    end
  end
  for status, n in pairs(all) do
    io.write(string.format("status %d %d\n", status, n))
  end
  accepted = all[200] or 0
  local total = summary.requests
  local q = 99
  if total > 0 and accepted > 0 then
    q = 100 - accepted / total
  end
  local e = summary.errors
  io.write(string.format("errors %d %d %d %d\n", e.connect, e.read, e.write, e.timeout))
  io.write(string.format("duration_us %d\n", summary.duration))
  io.write(string.format("accepted_p99_ms %.3f\n", latency:percentile(q) / 1000))
  io.write(string.format("all_p50_ms %.3f\n", latency:percentile(50) / 1000))
end
"""


@dataclass
class Flood:
    what: str
    connections: int
    shedding: bool
    honour: bool  # the clients wait out each 503's Retry-After
    statuses: dict[int, int]
    socket_errors: dict[str, int]  # connect, read, write, timeout
    accepted_per_s: float
    accepted_p99_ms: float  # the probe's (see the module docstring)
    accepted_p99_bound_ms: float  # from wrk's figures
    probe_accepted: int  # accepted answers the probe timed
    share: float = 1.0  # accepted throughput over the 16-connection runs' mean, same server
    note: str = ""

    def row(self) -> str:
        shed = self.statuses.get(503, 0)
        total = sum(self.statuses.values())
        return (
            f"| {self.what} | {'on' if self.shedding else 'off'} | {self.connections}{self.note} "
            f"| {'wait Retry-After' if self.honour else 'retry at once'} "
            f"| {self.accepted_per_s:,.0f} ({self.share:.0%}) | {self.accepted_p99_ms:.1f} "
            f"({self.probe_accepted:,} timed; bound {self.accepted_p99_bound_ms:.1f}) "
            f"| {shed / max(total, 1):.0%} | {self.socket_errors['timeout']} "
            f"| {sum(self.socket_errors.values()) - self.socket_errors['timeout']} |"
        )


@dataclass(frozen=True)
class Load:
    what: str
    connections: int
    shedding: bool
    honour: bool = False


def flood(url: str, body: str, seconds: int, load: Load) -> Flood:
    what, connections, shedding, honour = load.what, load.connections, load.shedding, load.honour
    stop = threading.Event()
    timed: list[float] = []
    probe_accepted: list[int] = []
    n_probes = min(PROBES, connections // 4)
    probes = [
        threading.Thread(target=_probe, args=(url, body, honour, stop, timed, probe_accepted), daemon=True)
        for _ in range(n_probes)
    ]
    for probe in probes:
        probe.start()
    try:
        out = _wrk(url, body, connections - n_probes, seconds, honour)
    finally:
        stop.set()
        for probe in probes:
            probe.join()
    statuses = {int(s): int(n) for s, n in re.findall(r"^status (\d+) (\d+)$", out, re.M)}
    errors = dict(zip(("connect", "read", "write", "timeout"), map(int, _field(out, "errors")), strict=True))
    seconds_run = int(_field(out, "duration_us")[0]) / 1e6
    return Flood(
        what,
        connections,
        shedding,
        honour,
        statuses,
        errors,
        (statuses.get(200, 0) + sum(probe_accepted)) / seconds_run,
        _p99(timed),
        float(_field(out, "accepted_p99_ms")[0]),
        len(timed),
    )


def _probe(url: str, body: str, honour: bool, stop: threading.Event, timed: list[float], accepted: list[int]) -> None:
    """One client on a keep-alive connection: requests back to back (after a 503's Retry-After
    if `honour`); the latency of each 200, in ms, once wrk's connections are open."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    opened = time.perf_counter() + 0.5
    mine: list[float] = []
    ok = 0
    try:
        while not stop.is_set():
            started = time.perf_counter()
            connection.request("POST", path, body=body, headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            if response.status == 200:
                ok += 1
                if started >= opened:
                    mine.append((time.perf_counter() - started) * 1000)
            elif response.status == 503 and honour:
                stop.wait(float(response.getheader("retry-after", "1")))
    except OSError:
        pass  # the server closed it, or wrk's run ended: what was timed stands
    finally:
        connection.close()
        timed.extend(mine)  # list.extend is atomic under the GIL
        accepted.append(ok)


def _p99(values: list[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


# Clients that honour Retry-After: wrk's script API does not say which connection an answer or
# a delay is for, so a thread's next request waits once for each 503 it has received: as many
# waits as refusals, spread over its connections.
_DELAY = """
function delay()
  if owed > 0 then
    owed = owed - 1
    return RETRY_MS
  end
  return 0
end
"""


def _wrk(url: str, body: str, connections: int, seconds: int, honour: bool = False) -> str:
    lua = _LUA.replace("BODY", body).replace("HONOUR", "true" if honour else "false")
    if honour:
        lua += _DELAY.replace("RETRY_MS", str(RETRY_AFTER_S * 1000))
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "flood.lua"
        script.write_text(lua)
        return subprocess.run(
            ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url],
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 60,
        ).stdout


def _field(out: str, name: str) -> list[str]:
    match = re.search(rf"^{name} (.+)$", out, re.M)
    if match is None:
        raise RuntimeError(f"wrk printed no {name}:\n{out}")
    return match.group(1).split()


RUNS = (("plain score", "/v1/score", (16, 1024)), ("explained score", "/v1/score?explain=true", (16, 256)))


def measure(seconds: int, shedding: bool) -> tuple[list[Flood], int]:
    """Every flood against one server; then the status of one plain score sent after them."""
    body = to_json(example())
    env = {} if shedding else {"MAX_IN_FLIGHT": str(NO_LIMIT)}
    results: list[Flood] = []
    log = Path(tempfile.gettempdir()) / "loan-risk-overload-server.log"
    with serve("lambda_app", env=env, log=log) as server:
        server.wait_listening(2)
        for _, path, _ in RUNS:
            _wrk(f"{server.url}{path}", body, 16, WARM_UP_S)
        for what, path, (calm, heavy) in RUNS:
            print(f"shedding {'on' if shedding else 'off'}: {what}, wrk -c{calm} then -c{heavy} ...", file=sys.stderr)
            base = flood(f"{server.url}{path}", body, seconds, Load(what, calm, shedding))
            loaded = [
                flood(f"{server.url}{path}", body, seconds, Load(what, heavy, shedding, honour))
                for honour in (False, True)
            ]
            base_after = flood(f"{server.url}{path}", body, seconds, Load(what, calm, shedding))
            base_after.note = " (after)"
            # The machine's other load drifts over a minute: the reference brackets the floods.
            reference = (base.accepted_per_s + base_after.accepted_per_s) / 2
            for run in (base, *loaded, base_after):
                run.share = run.accepted_per_s / reference if reference else 0.0
            results += [base, *loaded, base_after]
        after = httpx.post(
            f"{server.url}/v1/score", content=body, headers={"content-type": "application/json"}, timeout=5
        ).status_code
    return results, after


def table(results: list[Flood]) -> str:
    head = (
        "| what | shedding | connections | clients after a 503 | accepted req/s (of the 16-connection runs' mean) "
        "| accepted p99 ms (probe) | shed | socket timeouts | other socket errors |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    )
    return "\n".join([head, *(r.row() for r in results)])


def main() -> int:
    seconds = int(os.environ.get("OVERLOAD_SECONDS", "10"))
    before, _ = measure(seconds, shedding=False)
    results, after = measure(seconds, shedding=True)
    print(table(before + results))
    print(json.dumps({"floods": [asdict(r) for r in before + results], "score_after": after}), file=sys.stderr)
    floods = [r for r in results if r.connections > 16]
    ok = after == 200 and all(
        sum(r.socket_errors.values()) == 0 and r.accepted_p99_ms <= P99_MS and r.share >= SHARE for r in floods
    )
    print(f"a plain score after the floods: {after}", file=sys.stderr)
    print("overload: PASS" if ok else "overload: FAIL (goals in benchmarks/overload.py's docstring)", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
