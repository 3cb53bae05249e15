"""A self-contained report of one run directory: PNG and SVG figures plus report.html.

    python notebooks/timeslice_report.py RUN_DIR [--out DIR]
    python -m timeslice_report RUN_DIR            (with notebooks/ on PYTHONPATH)

`timeslice report RUN_DIR` runs this with the repository's .venv (scripts/notebooks.sh or
`make notebooks` creates it). Works for any experiment, not only the shipped ones: the figures
are chosen from what the run holds (the axes that vary, whether there are repetitions).

Writes into the run directory (or --out):
  report-percentiles.png/.svg   latency by percentile, log tail axis (HdrHistogram style)
  report-cdf.png/.svg           CDF of latency (log latency axis)
  report-vs-<axis>.png/.svg     p50, p99, p99.9 against each matrix axis that varies
  report-server-load.png/.svg   server runs: short-request p99 against offered load, a line per configuration
  report-outcome.png/.svg       per-configuration bars; starved/timeout rows hatched, censored ≥
  report.html                   tables, environment, provenance, warnings, cross-checks and the
                                figures embedded as base64 PNG (no other file is needed)

All drawing is timeslice_plots' (the notebooks' code): non-ok rows are never drawn as numbers,
censored distributions are lower bounds, repetitions are merged via results.json `aggregates`.
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import re
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import timeslice_plots as tp  # noqa: E402

PREFIX = "report"


def _save(fig, out: Path, name: str) -> dict:
    png, svg = out / f"{name}.png", out / f"{name}.svg"
    fig.savefig(png, dpi=110, bbox_inches="tight")
    fig.savefig(svg, bbox_inches="tight")
    plt.close(fig)
    return {"name": name, "png": png, "svg": svg}


MAX_GROUPS = 4


def other_combinations(run: tp.Run, axis: str) -> int:
    """How many lines-per-statistic plot_vs_axis would draw for `axis`."""
    others = [a for a in tp.varying_axes(run) if a != axis]
    return len({tuple(tp.axis_values(c).get(a, "-") for a in others)
                for c in tp.figure_configs(run) if axis in tp.axis_values(c)})


def draw_figures(run: tp.Run, out: Path, skipped: list[str]) -> list[dict]:
    """Every figure that means something for this run, as {name, title, png, svg}; what was
    left out, and why, is appended to `skipped`."""
    figures = []
    drawable = tp._drawable_configs(run)
    if drawable:
        fig = tp.plot_percentiles(run, what="latency by percentile (log tail axis)")
        figures.append({**_save(fig, out, f"{PREFIX}-percentiles"), "title": "Latency by percentile"})
        fig = tp.plot_cdf(run, what="CDF of latency")
        figures.append({**_save(fig, out, f"{PREFIX}-cdf"), "title": "CDF"})
    for axis in tp.varying_axes(run):
        # A line per statistic against the axis, one line style per combination of the others:
        # beyond a few combinations the lines are unreadable, and the bars show the same numbers.
        groups = other_combinations(run, axis)
        if groups > MAX_GROUPS:
            skipped.append(f"percentiles against {axis}: not drawn, {groups} combinations of the other axes "
                           f"(more than {MAX_GROUPS}); the per-configuration bars show the same numbers")
            continue
        fig, ax = plt.subplots(figsize=(11, 5.5))
        tp.plot_vs_axis(run, axis, stats=("p50", "p99", "p999"), ax=ax)
        if ax.lines:
            ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        figures.append({**_save(fig, out, f"{PREFIX}-vs-{axis}"), "title": f"Percentiles against {axis}"})
    if tp.is_server_run(run):
        fig = tp.plot_server_load(run)
        figures.append({**_save(fig, out, f"{PREFIX}-server-load"), "title": "Short-request p99 vs offered load"})
    if tp.figure_configs(run):
        configs = tp.figure_configs(run)
        fig, ax = plt.subplots(figsize=(10, max(3.0, 0.55 * len(configs) + 1.5)))
        tp.plot_status_overview(run, stats=("p50", "p99", "max"), ax=ax, what="per configuration (starved/censored marked)")
        figures.append({**_save(fig, out, f"{PREFIX}-outcome"), "title": "Per configuration"})
    return figures


# ----------------------------------------------------------------------------------------------
# HTML


def _e(value) -> str:
    return html.escape("" if value is None else str(value))


def _table(rows: list[dict], columns: list[str] | None = None) -> str:
    if not rows:
        return "<p><em>none</em></p>"
    columns = columns or list(dict.fromkeys(k for r in rows for k in r))
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_e(r.get(c, ''))}</td>" for c in columns) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _kv(d: dict) -> str:
    return _table([{"key": k, "value": v if not isinstance(v, (dict, list)) else json.dumps(v)}
                   for k, v in d.items()], ["key", "value"])


def config_rows(run: tp.Run) -> list[dict]:
    df = tp.config_table(run)
    return [{k: ("" if v is None or (isinstance(v, float) and v != v) else v) for k, v in r.items()}
            for r in df.astype(object).to_dict("records")]


def aggregate_rows(run: tp.Run) -> list[dict]:
    rows = []
    for a in run.doc.get("aggregates") or []:
        lat = a.get("latency_ns") or {}
        ge = "≥" if lat.get("censored") else ""
        row = {"config": a["id"], "reps": a.get("repetitions"),
               "statuses": ", ".join(f"{k} {v}" for k, v in sorted((a.get("statuses") or {}).items()))}
        for key, label in (("p50", "merged p50"), ("p99", "merged p99"), ("p999", "merged p99.9"), ("max", "merged max")):
            row[label] = "—" if key in lat and lat[key] is None else (ge + tp.human_ns(lat.get(key)) if lat else "")
        for key, label in (("p50", "p50"), ("p99", "p99"), ("p999", "p99.9")):
            s = (a.get("across") or {}).get(key)
            row[f"median {label} [min–max] (reps)"] = (
                f"{ge}{tp.human_ns(s['median'])} [{tp.human_ns(s['min'])}–{tp.human_ns(s['max'])}] ({s['repetitions']})"
                if s else "—")
        ci = a.get("ci95")
        row["95% CI median p99"] = f"{tp.human_ns(ci['low'])} – {tp.human_ns(ci['high'])}" if ci else "— (< 2 reps)"
        if a.get("deadline_miss_ratio") is not None:
            row["deadline miss ratio"] = f"{a['deadline_miss_ratio']:.3g}"
        rows.append(row)
    return rows


def crosscheck_rows(run: tp.Run) -> list[dict]:
    rows = []
    for v in run.doc.get("crosschecks") or []:
        comp = v.get("comparison") or {}
        ratios = comp.get("ratios") or {}
        rows.append({"reference": v.get("reference"), "candidate": v.get("candidate"), "verdict": v.get("verdict"),
                     **{f"{k} ratio": f"{ratios[k]:.3f}" for k in ("p50", "p90", "p99", "max") if k in ratios},
                     "KS D": f"{comp.get('ks_statistic', float('nan')):.3f}", "rule": v.get("rule")})
    return rows


def interference_rows(run: tp.Run) -> list[dict]:
    """One row per configuration run that has interference warnings."""
    return [{"config": c["id"], "rep": c.get("repetition", 1),
             "warnings": "; ".join((c.get("interference") or {}).get("warnings") or [])}
            for c in run.configs if (c.get("interference") or {}).get("warnings")]


def interference_summary(run: tp.Run) -> str:
    """"steal time 3, 1-minute load average 12": how many runs carry each kind of warning."""
    kinds: dict[str, int] = {}
    for c in run.configs:
        for w in ((c.get("interference") or {}).get("warnings") or []):
            kind = re.split(r" (?:was|\d)", w, maxsplit=1)[0]
            kinds[kind] = kinds.get(kind, 0) + 1
    return ", ".join(f"{k}: {n}" for k, n in kinds.items())


STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:1.5em auto;max-width:1500px;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.82em;margin:.5em 0;display:block;overflow-x:auto}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top;white-space:nowrap}\ntd:last-child{white-space:normal;min-width:20em}
th{background:#f2f2f2}tr:nth-child(even) td{background:#fafafa}
.warn{background:#fff3cd;border:1px solid #c9a227;padding:.4em .7em;margin:.3em 0}
.bad{background:#f8d7da;border:1px solid #b02a37;padding:.4em .7em;margin:.3em 0}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #ddd}figcaption{font-size:.85em;color:#555}
code,pre{font-size:.85em}pre{background:#f6f6f6;padding:.6em;overflow-x:auto}
"""


def render_html(run: tp.Run, figures: list[dict], skipped: list[str] = ()) -> str:
    doc = run.doc
    prov = doc.get("provenance") or {}
    env = run.environment
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
             f"<title>{_e(run.experiment)} {_e(run.timestamp)}</title><style>{STYLE}</style></head><body>"]
    parts.append(f"<h1>{_e(run.experiment)} — run {_e(run.timestamp)}</h1>")
    parts.append(f"<p>{_e(tp.environment_label(env))}</p>")
    parts.append(f"<p><b>Latency:</b> {_e(doc.get('latency_meaning'))}</p>")
    parts.append(f"<p>started {_e(doc.get('started_at'))}, finished {_e(doc.get('finished_at') or '(not finished)')}; "
                 f"{len(run.configs)}/{_e(doc.get('planned', '?'))} configuration runs"
                 f"{'; ' + _e(doc['repetition_order']) if doc.get('repetition_order') else ''}; "
                 f"run directory <code>{_e(run.path)}</code></p>")
    if run.interrupted or doc.get("interrupted"):
        parts.append("<div class='bad'>This run was interrupted: only the configurations that finished are shown.</div>")
    problems = tp.verify_run(run)
    for p in problems:
        parts.append(f"<div class='bad'>INCONSISTENT: {_e(p)}</div>")

    parts.append("<h2>Warnings</h2>")
    warnings = doc.get("warnings") or []
    parts += [f"<div class='warn'>{_e(w)}</div>" for w in warnings] or ["<p><em>none</em></p>"]

    aggregates = aggregate_rows(run)
    if aggregates:
        parts.append("<h2>Across repetitions</h2>")
        parts.append("<p>Histograms merged exactly (never averaged percentiles); median, min and max of "
                     "per-repetition percentiles; bootstrap 95 % confidence interval of the median p99. "
                     "<code>≥</code>: censored (a stalled probe's lower bounds).</p>")
        parts.append(_table(aggregates))
    parts.append("<h2>Cross-checks</h2>")
    parts.append(_table(crosscheck_rows(run)))

    parts.append("<h2>Figures</h2>")
    for f in figures:
        data = base64.b64encode(Path(f["png"]).read_bytes()).decode("ascii")
        parts.append(f"<figure><img alt='{_e(f['title'])}' src='data:image/png;base64,{data}'>"
                     f"<figcaption>{_e(f['title'])} — also <code>{_e(Path(f['svg']).name)}</code></figcaption></figure>")
    if not figures:
        parts.append("<p><em>nothing to draw: no configuration recorded latency</em></p>")
    parts += [f"<p><em>{_e(s)}</em></p>" for s in skipped]

    rows = config_rows(run)
    parts.append("<h2>Per configuration run</h2>")
    parts.append(f"<details{' open' if len(rows) <= 12 or not aggregates else ''}><summary>{len(rows)} configuration "
                 "runs (every repetition)</summary>")
    parts.append("<p><code>—</code>: too few samples for that percentile; <code>≥</code>: censored (a stalled "
                 "probe's lower bounds); non-ok rows show no number.</p>")
    parts.append(_table(rows) + "</details>")

    parts.append("<h2>Interference</h2>")
    inter = interference_rows(run)
    if inter:
        parts.append(f"<details><summary>{len(inter)} of {len(run.configs)} configuration runs have interference "
                     f"warnings ({_e(interference_summary(run))})</summary>{_table(inter)}</details>")
    else:
        parts.append("<p><em>no interference warnings</em></p>")

    if any(c.get("counters") for c in run.configs):
        parts.append("<h2>Counters</h2>")
        parts.append(_table(tp.counters_table(run).astype(object).to_dict("records")))

    parts.append("<h2>Provenance</h2>")
    if prov:
        head = {k: prov.get(k) for k in ("tool_version", "git_commit", "git_dirty", "build_configuration",
                                          "executable", "hostname") if k in prov}
        head["argv"] = " ".join(prov.get("argv") or [])
        parts.append(_kv(head))
        parts.append("<h3>Versions</h3>" + _kv(prov.get("versions") or {}))
        parts.append("<h3>Machine</h3>" + _kv(prov.get("machine") or {}))
    else:
        parts.append("<p><em>results.json has no provenance (written by an older runner)</em></p>")
    parts.append("<h2>Environment</h2>")
    parts.append(_kv({k: v for k, v in env.items() if k not in ("cmdline", "isolation")}))
    if doc.get("options"):
        parts.append("<h3>Options</h3>" + _kv(doc["options"]))
    spec = doc.get("effective_spec") or doc.get("spec")
    if spec is not None:
        parts.append("<details><summary>Experiment as it ran</summary><pre>"
                     f"{_e(json.dumps(spec, indent=2))}</pre></details>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def report(run_dir: Path, out: Path | None = None) -> Path:
    run = tp.load_run(run_dir)
    out = out or run.path
    out.mkdir(parents=True, exist_ok=True)
    skipped: list[str] = []
    figures = draw_figures(run, out, skipped)
    page = out / "report.html"
    tmp = page.with_suffix(".html.tmp")
    tmp.write_text(render_html(run, figures, skipped), encoding="utf-8")
    tmp.replace(page)
    for f in figures:
        print(f"wrote {f['png']}")
        print(f"wrote {f['svg']}")
    print(f"wrote {page}")
    return page


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="timeslice_report", description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path, help="a run directory (holding results.json)")
    parser.add_argument("--out", type=Path, help="where to write (default: the run directory)")
    args = parser.parse_args(argv)
    if not (args.run_dir / "results.json").is_file():
        print(f"timeslice_report: {args.run_dir}/results.json does not exist (pass one run directory, "
              "results/<experiment>/<timestamp>)", file=sys.stderr)
        return 64
    try:
        report(args.run_dir.resolve(), args.out.resolve() if args.out else None)
    except ValueError as e:  # schema version, missing keys, malformed .hgrm
        print(f"timeslice_report: {e}", file=sys.stderr)
        return 65
    return 0


if __name__ == "__main__":
    sys.exit(main())
