"""The stability report for people: a line per variable for the terminal, and a directory
with report.json, report.html and a PNG (reference against current shares) of the score
and of every field in `shift`. The PNGs need matplotlib (the `train` extra), imported
here only; without it the HTML's own bar charts stand alone and the report says so."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

REPORT_JSON = "report.json"
REPORT_HTML = "report.html"
SCORE_PNG = "score.png"
MATPLOTLIB_MISSING = (
    "no PNG charts: matplotlib is not installed (pip install 'loan-risk[train]'); report.html has its own charts"
)


def bin_label(row: dict[str, Any]) -> str:
    if "category" in row:
        return str(row["category"])
    lo, hi = row["lower"], row["upper"]
    if lo is None and hi is None:
        return "all"
    if lo is None:
        return f"< {_num(hi)}"
    if hi is None:
        return f"≥ {_num(lo)}"
    return f"{_num(lo)} to < {_num(hi)}"


def _num(x: float) -> str:
    if float(x).is_integer():
        return f"{int(x):,}"
    return f"{x:,.4g}" if abs(x) < 1000 else f"{x:,.0f}"


def field_png(name: str) -> str:
    return f"field-{name}.png"


def charted(report: dict[str, Any]) -> list[str]:
    """The fields that get a PNG: those in shift."""
    return [name for name, f in report["fields"].items() if f["status"] == "shift"]


def _psi(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def text_summary(report: dict[str, Any]) -> str:
    period = f"{report['since'] or 'start'} to {report['until'] or 'end'}"
    lines = [
        f"{report['n']:,} records ({period}), model {report['model']['version']}: {report['status']}"
        + (
            f" (fewer than {report['minimum_n']:,} records: too few to judge)"
            if report["n"] < report["minimum_n"]
            else ""
        ),
        f"  {'score':<28} PSI {_psi(report['score']['psi']):>6}  {report['score']['status']}",
    ]
    for name, f in sorted(report["fields"].items(), key=lambda kv: -(kv[1]["psi"] or 0)):
        lines.append(f"  {name:<28} CSI {_psi(f['psi']):>6}  {f['status']}")
    bands = ", ".join(
        f"{b} {_pct(v['current'])} (reference {_pct(v['reference'])})" for b, v in report["bands"].items()
    )
    lines.append(f"  bands: {bands}")
    if report["challenger"]:
        c = report["challenger"]
        lines.append(
            f"  challenger {', '.join(c['versions'])} on {c['n']:,} records: mean difference {c['mean_difference']:+.3f}, "
            f"mean absolute {c['mean_absolute_difference']:.3f}, same band {_pct(c['band_agreement'])}"
        )
    if report["skipped"]:
        lines.append(f"  skipped {report['skipped']:,} records that are not decision records")
    if report.get("undated"):
        lines.append(f"  left out {report['undated']:,} records without a decided_at (cannot be placed in the period)")
    return "\n".join(lines)


def _pct(share: float | None) -> str:
    return "-" if share is None else f"{100 * share:.1f}%"


def write_report(report: dict[str, Any], out: Path) -> tuple[list[Path], str]:
    """report.json, the PNGs (when matplotlib is there) and report.html; the files and a note."""
    out.mkdir(parents=True, exist_ok=True)
    written = [out / REPORT_JSON]
    written[0].write_text(json.dumps(report, indent=2) + "\n")
    note = ""
    pngs: dict[str, str] = {}
    try:
        pngs = draw_pngs(report, out)
    except ImportError:
        note = MATPLOTLIB_MISSING
    written += [out / p for p in pngs.values()]
    (out / REPORT_HTML).write_text(render_html(report, pngs, note))
    written.append(out / REPORT_HTML)
    return written, note


def draw_pngs(report: dict[str, Any], out: Path) -> dict[str, str]:
    """A bar chart per charted variable: {variable: file name}. Raises ImportError without matplotlib."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files: dict[str, str] = {}
    for name, variable, file in [("score", report["score"], SCORE_PNG)] + [
        (f, report["fields"][f], field_png(f)) for f in charted(report)
    ]:
        rows = variable["bins"]
        labels = [bin_label(r) for r in rows]
        y = range(len(rows))
        fig, ax = plt.subplots(figsize=(7, 0.45 * len(rows) + 1.4), dpi=100)
        ax.barh(
            [i - 0.2 for i in y],
            [100 * r["reference"] for r in rows],
            height=0.4,
            label="reference (training)",
            color="#8c959f",
        )
        ax.barh([i + 0.2 for i in y], [100 * r["current"] for r in rows], height=0.4, label="current", color="#c2410c")
        ax.set_yticks(list(y), labels)
        ax.invert_yaxis()
        ax.set_xlabel("share of applicants (%)")
        ax.set_title(f"{'Risk score' if name == 'score' else name}: PSI {_psi(variable['psi'])} ({variable['status']})")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, frameon=False)
        fig.tight_layout()
        fig.savefig(out / file, bbox_inches="tight")
        plt.close(fig)
        files[name] = file
    return files


STATUS_COLOUR = {"stable": "#2e8540", "watch": "#b58100", "shift": "#c0362c", "insufficient": "#57606a"}


def _bars(variable: dict[str, Any]) -> str:
    rows = []
    for r in variable["bins"]:
        ref, cur = 100 * r["reference"], 100 * r["current"]
        rows.append(
            f"<tr><th scope='row'>{html.escape(bin_label(r))}</th>"
            f"<td class='num'>{ref:.1f}%</td><td class='num'>{cur:.1f}%</td>"
            f"<td class='bars'><span class='bar ref' style='width:{min(ref, 100):.1f}%'></span>"
            f"<span class='bar cur' style='width:{min(cur, 100):.1f}%'></span></td></tr>"
        )
    return (
        "<table class='bins'><thead><tr><th>Bin</th><th class='num'>Reference</th><th class='num'>Current</th>"
        "<th>Shares</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def render_html(report: dict[str, Any], pngs: dict[str, str] | None = None, note: str = "") -> str:
    pngs = pngs or {}
    e = html.escape

    def badge(status: str) -> str:
        return f"<span class='status' style='background:{STATUS_COLOUR.get(status, '#57606a')}'>{e(status)}</span>"

    fields = sorted(report["fields"].items(), key=lambda kv: -(kv[1]["psi"] or 0))
    summary = "".join(
        f"<tr><th scope='row'>{e(name)}</th><td class='num'>{_psi(f['psi'])}</td><td>{badge(f['status'])}</td></tr>"
        for name, f in fields
    )
    sections = []
    for name, variable in [("Risk score", report["score"])] + [(n, report["fields"][n]) for n in charted(report)]:
        key = "score" if name == "Risk score" else name
        img = f"<img src='{e(pngs[key])}' alt='{e(name)}: reference and current shares per bin'>" if key in pngs else ""
        sections.append(
            f"<section><h2>{e(name)} {badge(variable['status'])} PSI {_psi(variable['psi'])}</h2>{img}{_bars(variable)}</section>"
        )
    bands = "".join(
        f"<tr><th scope='row'>{e(b)}</th><td class='num'>{_pct(v['reference'])}</td><td class='num'>{_pct(v['current'])}</td></tr>"
        for b, v in report["bands"].items()
    )
    challenger = ""
    if report["challenger"]:
        c = report["challenger"]
        challenger = (
            f"<section><h2>Champion and challenger</h2><p>Challenger {e(', '.join(c['versions']))} on {c['n']:,} records: "
            f"mean difference {c['mean_difference']:+.3f} points (challenger minus champion), mean absolute "
            f"{c['mean_absolute_difference']:.3f}, largest {c['max_absolute_difference']:.3f}; same band for "
            f"{_pct(c['band_agreement'])}; PSI of the challenger's scores against the champion's {c['psi_vs_champion']:.3f}.</p></section>"
        )
    period = f"{report['since'] or 'first record'} to {report['until'] or 'last record'}"
    too_few = (
        f"<p class='warn'>{report['n']:,} records are fewer than the {report['minimum_n']:,} needed to judge stability: "
        "the figures are shown but not read as stable or shifted.</p>"
        if report["n"] < report["minimum_n"]
        else ""
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Stability report {e(report["model"]["version"])}</title>
<style>
body {{ font: 16px/1.5 system-ui, sans-serif; color: #1b1f24; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; }}
table {{ border-collapse: collapse; margin-bottom: 1rem; }} th, td {{ text-align: left; padding: .3rem .8rem .3rem 0; border-bottom: 1px solid #d0d7de; }}
.num {{ text-align: right; font-variant-numeric: tabular-nums; }} .status {{ color: #fff; border-radius: 3px; padding: 0 .4rem; font-size: .9rem; }}
td.bars {{ width: 18rem; }} .bar {{ display: block; height: .45rem; margin: 1px 0; }} .ref {{ background: #8c959f; }} .cur {{ background: #c2410c; }}
.warn {{ border-left: 4px solid #c0362c; background: #fde0df; padding: .5rem .8rem; }} img {{ max-width: 100%; }}
</style></head><body>
<h1>Stability report</h1>
<p>Model <code>{e(report["model"]["version"])}</code>, {report["n"]:,} decision records from {e(period)} ({e(str(report["records"]))}),
against {report["model"]["reference_n"]:,} training applicants. Overall: {badge(report["status"])}.
PSI below {report["thresholds"]["stable_below"]} is stable, up to {report["thresholds"]["shift_above"]} worth watching, above that a shift.
Empty bins count as a share of {report["thresholds"]["epsilon"]}.</p>
{too_few}{f"<p>{e(note)}</p>" if note else ""}
<h2>Every field</h2><table><thead><tr><th>Field</th><th class='num'>CSI</th><th>Status</th></tr></thead><tbody>{summary}</tbody></table>
<h2>Risk bands</h2><table><thead><tr><th>Band</th><th class='num'>Reference</th><th class='num'>Current</th></tr></thead><tbody>{bands}</tbody></table>
{challenger}{"".join(sections)}
<p>Created {e(report["created_at"])}.</p>
</body></html>
"""
