"""Plotting shared by the Timeslice notebooks (notebooks/*.ipynb).

The notebooks are thin: each names its experiments and calls the functions here, so that a
fix to a plot is made once. What they read is the run directory the lab writes
(Sources/TimesliceLab/Results):

    results/<experiment>/<UTC timestamp>/results.json   schema_version 1
                                        /summary.csv
                                        /<config stem>.hgrm     one per configuration with samples

Rules every figure follows:
  * Its title names the experiment, the run's timestamp and the environment (kernel, CPU model,
    hypervisor) from results.json, so a PNG cut out of context still says what it shows.
  * A configuration whose status is not "ok" (starved, timeout, error, unavailable) is never
    drawn as a number: it appears in the table with its status and reason, and in a figure only
    as a "not plotted" note naming its status.
  * PNGs are written into the run directory they were drawn from.

.hgrm files are parsed here directly, as HdrHistogram percentile-distribution text
("Value Percentile TotalCount 1/(1-Percentile)" rows, '#' footer). The `hdrh` Python package
cannot read that text format (it reads only its base64 "HIST" encoding), so it is used to
*write* the fixture (Tests/Fixtures/make_fixture.py), not to read runs. The parser accepts the
output of Java/Swift HdrHistogram, of the `hdrh` package and of baselines/go.
"""

from __future__ import annotations

import bisect
import json
import re
import math
import os
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import pandas as pd

SCHEMA_VERSION = 1
OK = "ok"
RESULTS_ENV = "RESULTS_DIR"
REQUIRE_ENV = "REQUIRE_RUNS"

# Matrix axes in the order of configuration ids (MatrixAxis in the lab).
AXES = ["runtime", "max_procs", "preemption", "time_slice", "placement", "lock_os_thread", "numa_node", "hogs", "rate", "sysmon"]
# Percentile columns of results.json `latency_ns`, with the percentile each stands for.
SUMMARY_PERCENTILES = [("min", 0.0), ("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p999", 0.999),
                       ("p9999", 0.9999)]
# x ticks of percentile plots: 1/(1-p) for these p.
PERCENTILE_TICKS = [0.0, 0.9, 0.99, 0.999, 0.9999, 0.99999, 0.999999]


# ----------------------------------------------------------------------------------------------
# Finding and loading runs


def results_root(parameter: str | os.PathLike | None = None, default: str = "../results") -> Path:
    """The results root: a papermill parameter wins, then $RESULTS_DIR, then `default`
    (relative to the notebook directory, where nbconvert and Jupyter run kernels)."""
    chosen = parameter or os.environ.get(RESULTS_ENV) or default
    return Path(chosen).expanduser().resolve()


@dataclass
class Run:
    """One run directory and its results.json."""

    path: Path
    doc: dict

    @property
    def experiment(self) -> str:
        return self.doc["experiment"]

    @property
    def timestamp(self) -> str:
        """The directory name: UTC, e.g. 2026-11-25T13-50-09Z (a "-2" suffix for a second run
        in the same second)."""
        return self.path.name

    @property
    def configs(self) -> list[dict]:
        return self.doc.get("configs", [])

    @property
    def environment(self) -> dict:
        return self.doc.get("environment") or {}

    @property
    def interrupted(self) -> bool:
        """True when the sweep stopped before every planned configuration ran."""
        return len(self.configs) < int(self.doc.get("planned", len(self.configs)))


def load_run(path: str | os.PathLike) -> Run:
    path = Path(path)
    with open(path / "results.json", encoding="utf-8") as f:
        doc = json.load(f)
    version = doc.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ValueError(f"{path}/results.json: schema_version {version!r}, these notebooks read {SCHEMA_VERSION}")
    for key in ("experiment", "environment", "configs"):
        if key not in doc:
            raise ValueError(f"{path}/results.json: missing key {key!r}")
    return Run(path=path, doc=doc)


def newest_run(root: Path, experiment: str) -> Run | None:
    """The newest run of `experiment` under `root`, or None. `root` may also be one run
    directory (it holds results.json), which is then used if it is of that experiment.

    Newest = latest `started_at`, then latest directory name; directories without a
    results.json (a run that died before writing one) are skipped."""
    if (root / "results.json").is_file():
        run = load_run(root)
        return run if run.experiment == experiment else None
    base = root / experiment
    if not base.is_dir():
        return None
    candidates = [d for d in base.iterdir() if (d / "results.json").is_file()]
    if not candidates:
        return None
    runs = [load_run(d) for d in candidates]
    return max(runs, key=lambda r: (r.doc.get("started_at") or "", r.path.name))


def load_runs(root: Path, experiments: Iterable[str], require: bool | None = None) -> dict[str, Run]:
    """The newest run of each experiment that has one, printing what was chosen. With
    `require` (default: $REQUIRE_RUNS is 1) it is an error when none of them has a run."""
    if require is None:
        require = os.environ.get(REQUIRE_ENV, "") == "1"
    runs: dict[str, Run] = {}
    for name in experiments:
        run = newest_run(root, name)
        if run is None:
            print(f"{name}: no run under {root} (run `timeslice run experiments/{name}.json` first)")
            continue
        runs[name] = run
        state = " (interrupted)" if run.interrupted else ""
        print(f"{name}: {run.path}  [{len(run.configs)}/{run.doc.get('planned', '?')} configurations{state}]")
    if require and not runs:
        raise FileNotFoundError(f"no run of {', '.join(experiments)} under {root}")
    return runs


# ----------------------------------------------------------------------------------------------
# .hgrm


def read_hgrm(path: str | os.PathLike) -> pd.DataFrame:
    """HdrHistogram percentile text → DataFrame(value_ns, percentile, total_count).

    The closing 100 % row (which has no 1/(1-p) column) is kept; plots on a 1/(1-p) axis drop
    it. Footer values ("#[Mean = ..., StdDeviation = ...]", "#[Max = ..., Total count = ...]")
    land in `df.attrs` as mean, stddev, max and total_count when present."""
    rows = []
    attrs: dict[str, float] = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            text = line.strip()
            if not text or text.startswith("Value"):
                continue
            if text.startswith("#"):
                for part in text.strip("#[]").split(","):
                    if "=" in part:
                        key, value = (s.strip() for s in part.split("=", 1))
                        key = {"Mean": "mean", "StdDeviation": "stddev", "Max": "max", "Total count": "total_count",
                               "TotalCount": "total_count"}.get(key)
                        if key:
                            attrs[key] = float(value)
                continue
            fields = text.split()
            if len(fields) not in (3, 4):
                raise ValueError(f"{path}:{lineno}: not a percentile row: {text!r}")
            rows.append((float(fields[0]), float(fields[1]), int(fields[2])))
    df = pd.DataFrame(rows, columns=["value_ns", "percentile", "total_count"])
    if not df["percentile"].is_monotonic_increasing:
        raise ValueError(f"{path}: percentiles are not ascending")
    df.attrs.update(attrs)
    return df


def distribution(run: Run, config: dict) -> tuple[pd.DataFrame, str]:
    """The percentile curve of one ok configuration: its .hgrm when it has one, else the
    summary points of `latency_ns` (min, p50 ... p99.99, max at 1 - 1/count). The second value
    says which ("hgrm" or "summary")."""
    name = (config.get("files") or {}).get("hgrm")
    if name and (run.path / name).is_file():
        return read_hgrm(run.path / name), "hgrm"
    lat = config.get("latency_ns") or {}
    count = int(lat.get("count", 0))
    rows = [(float(lat[k]), p, None) for k, p in SUMMARY_PERCENTILES if lat.get(k) is not None]
    if count > 1 and "max" in lat:
        rows.append((float(lat["max"]), 1 - 1 / count, count))
    return pd.DataFrame(rows, columns=["value_ns", "percentile", "total_count"]), "summary"


# ----------------------------------------------------------------------------------------------
# Labels and units


def human_ns(ns: float | None) -> str:
    """1234 → "1.23us", 12_345_678 → "12.3ms": three significant digits, as the lab's table."""
    if ns is None or (isinstance(ns, float) and math.isnan(ns)):
        return ""
    v = float(ns)
    for scale, unit in ((1e9, "s"), (1e6, "ms"), (1e3, "us")):
        if v >= scale:
            s = v / scale
            return f"{s:.{0 if s >= 100 else 1 if s >= 10 else 2}f}{unit}"
    return f"{v:.0f}ns"


def environment_label(env: dict) -> str:
    """kernel, CPU model and hypervisor ("bare metal" when results.json has none). A fixture's
    label (environment.fixture) comes first so it cannot be mistaken for a measurement."""
    parts = []
    if env.get("fixture"):
        parts.append(f"FIXTURE: {env['fixture']}")
    parts.append(f"kernel {env.get('kernelRelease') or '?'}")
    parts.append(env.get("cpuModel") or "CPU model unknown")
    parts.append(f"hypervisor {env['hypervisor']}" if env.get("hypervisor") else "bare metal")
    return " · ".join(parts)


def run_marks(run: Run) -> list[str]:
    """What makes a run not the experiment as written: --quick, --only, --shard, --repeat, CLI
    axes, an interrupted or resumed sweep. Figure titles carry them, so a plot of a smoke run is
    never mistaken for the real thing."""
    options = run.doc.get("options") or {}
    marks = []
    if options.get("quick") == "true":
        marks.append("--quick (smoke run, not for publication)")
    for key in ("only", "shard", "repeat", "max_procs", "preempt", "time_slice"):
        if key in options:
            marks.append(f"--{key.replace('_', '-')} {options[key]}")
    if run.doc.get("interrupted") or run.interrupted:
        marks.append("INTERRUPTED")
    if run.doc.get("merged_from"):
        marks.append(f"merged from {len(run.doc['merged_from'])} shards")
    return marks


def figure_title(run: Run, what: str, width: int = 110) -> str:
    env = textwrap.fill(environment_label(run.environment), width)
    marks = run_marks(run)
    stamp = f"run {run.timestamp}" + (f"  [{'; '.join(marks)}]" if marks else "")
    return f"{run.experiment}: {what}\n{stamp}\n{env}"


def axis_values(config: dict) -> dict[str, str]:
    """The matrix point as text per axis (placement objects as the lab's id text)."""
    point = dict((config.get("config") or {}).get("point") or {})
    # The hogs axis (idle baseline rows) defaults to the workload's own hogs.
    workload = (config.get("config") or {}).get("workload") or {}
    if "hogs" not in point and "hogs" in workload:
        point["hogs"] = workload["hogs"]
    out = {}
    for axis in AXES:
        if axis not in point:
            continue
        value = point[axis]
        if isinstance(value, dict) and "explicit" in value:
            value = "cpus" + "+".join(str(c) for c in value["explicit"])
        elif isinstance(value, dict) and "numa" in value:
            value = f"numa{value['numa']}"
        elif isinstance(value, bool):
            value = "true" if value else "false"
        out[axis] = str(value)
    return out


# Short axis names, as in configuration ids (MatrixAxis.idKey in the lab).
AXIS_KEYS = {"runtime": "rt", "max_procs": "procs", "preemption": "preempt", "time_slice": "slice",
             "placement": "place", "lock_os_thread": "lock", "numa_node": "numa", "hogs": "hogs", "rate": "rate",
             "sysmon": "sysmon"}


def varying_axes(run: Run) -> list[str]:
    """Axes that take more than one value among the configurations that have them. An axis a
    runtime does not have (e.g. time_slice for threads) does not count as a difference."""
    points = [axis_values(c) for c in run.configs]
    return [a for a in AXES if len({p[a] for p in points if a in p}) > 1]


def config_label(run: Run, config: dict) -> str:
    """A short legend label in id style: only the axes that vary in this run, plus the
    repetition when there are several."""
    values = axis_values(config)
    axes = varying_axes(run) or ["runtime"]
    label = ",".join(f"{AXIS_KEYS[a]}={values[a]}" for a in axes if a in values) or config["id"]
    if config.get("merged_repetitions"):
        label += f" ({config['merged_repetitions']} reps merged)"
    elif len({c.get("repetition", 1) for c in run.configs}) > 1:
        label += f" #{config.get('repetition', 1)}"
    return label


def _latency_axis(ax, axis: str = "y") -> None:
    target = ax.yaxis if axis == "y" else ax.xaxis
    (ax.set_yscale if axis == "y" else ax.set_xscale)("log")
    target.set_major_formatter(mticker.FuncFormatter(lambda v, _: human_ns(v)))
    # Within about one decade matplotlib labels the minor ticks instead ("6×10^4"): same units
    # there; on wider axes minor ticks stay unlabelled.
    def minor(v, _):
        lo, hi = sorted(target.get_view_interval())
        return human_ns(v) if lo > 0 and hi / lo < 20 else ""
    target.set_minor_formatter(mticker.FuncFormatter(minor))


def figure_configs(run: Run) -> list[dict]:
    """What figures draw: one entry per configuration, its repetitions merged (results.json
    `aggregates`: histograms merged exactly, never averaged percentiles), in the order the ids
    first appear. A configuration that ran once is drawn as it is. A merged entry is ok when
    every repetition was; otherwise it takes the first non-ok repetition's status and reason
    (censored samples stay lower bounds)."""
    aggregates = {a["id"]: a for a in run.doc.get("aggregates") or []}
    out, seen = [], set()
    for c in run.configs:
        if c["id"] in seen:
            continue
        seen.add(c["id"])
        a = aggregates.get(c["id"])
        if a is None:
            out.append(c)
            continue
        reps = [r for r in run.configs if r["id"] == c["id"]]
        bad = next((r for r in reps if r.get("status") != OK), None)
        merged = {**c, "latency_ns": a.get("latency_ns"), "merged_repetitions": len(reps),
                  "files": {"hgrm": a["hgrm"]} if a.get("hgrm") else {},
                  "status": bad.get("status") if bad else OK, "reason": bad.get("reason") if bad else None}
        out.append(merged)
    return out


def _not_plotted_note(ax, run: Run) -> None:
    skipped = [c for c in figure_configs(run) if c.get("status") != OK and not is_censored(c)]
    if skipped:
        text = "not plotted (no valid latency):\n" + "\n".join(
            f"  {config_label(run, c)}: {c.get('status')}" for c in skipped)
        # Below the axes, so that it never hides a curve.
        ax.text(0.0, -0.16, text, transform=ax.transAxes, va="top", ha="left", fontsize=8,
                bbox=dict(boxstyle="round", facecolor="#fff3cd", edgecolor="#c9a227"))


# ----------------------------------------------------------------------------------------------
# Table


def config_table(run: Run) -> pd.DataFrame:
    """One row per configuration run: varying axes, status, sample count, latencies in human
    units, and the reason. Rows whose status is not ok have empty latency cells even when the
    child recorded some samples before it was stopped."""
    rows = []
    axes = varying_axes(run)
    any_placement = any("verified" in (c.get("placement") or {}) for c in run.configs)
    for c in run.configs:
        values = axis_values(c)
        row = {"config": c["id"]}
        for a in axes:
            row[a] = values.get(a, "")
        row["rep"] = c.get("repetition", 1)
        row["status"] = c.get("status", "?")
        lat = c.get("latency_ns") if c.get("status") == OK or is_censored(c) else None
        row["count"] = int(lat["count"]) if lat else None
        for key in ("p50", "p90", "p99", "p999", "p9999", "max", "mean", "stddev"):
            # null: too few samples for that percentile ("—"); censored rows are lower bounds.
            row[key] = ("—" if lat and key in lat and lat[key] is None else
                        ("≥" if lat and lat.get("censored") else "") + human_ns(lat[key]) if lat and key in lat else "")
        placement = c.get("placement") or {}
        if any_placement:
            row["placement verified"] = {True: "yes", False: "NO", None: ""}[placement.get("verified")]
        row["reason"] = c.get("reason") or ""
        rows.append(row)
    df = pd.DataFrame(rows)
    if "count" in df:
        df["count"] = df["count"].astype("Int64")
    return df


def counters_table(run: Run) -> pd.DataFrame:
    """Runtime counters (preemptions requested/delivered/deferred, steals, parks, ...) per
    configuration; a counter a configuration did not report is empty, not zero."""
    names = sorted({k for c in run.configs for k in (c.get("counters") or {})})
    return pd.DataFrame([{"config": config_label(run, c), "status": c.get("status"),
                          **{k: (c.get("counters") or {}).get(k, "") for k in names}} for c in run.configs])


def placement_table(run: Run) -> pd.DataFrame:
    """Placement as requested and as verified per configuration, with its warnings."""
    rows = []
    for c in run.configs:
        p = c.get("placement") or {}
        rows.append({
            "config": config_label(run, c),
            "status": c.get("status"),
            "requested": json.dumps(p.get("requested", axis_values(c).get("placement", ""))),
            "worker CPUs": " ".join("+".join(map(str, cpus)) for cpus in p.get("worker_cpus") or []),
            "verified": {True: "yes", False: "NO", None: "not checked"}[p.get("verified")],
            "warnings": "; ".join(p.get("warnings") or []) + (f" ({p['note']})" if p.get("note") else ""),
        })
    return pd.DataFrame(rows)


def verify_run(run: Run) -> list[str]:
    """Cross-checks of one run: every file results.json names exists, and each .hgrm agrees
    with `latency_ns` on count and max. Returns the problems found (empty when consistent)."""
    problems = []
    for c in run.configs:
        for kind, name in (c.get("files") or {}).items():
            if not (run.path / name).is_file():
                problems.append(f"{c['id']}: {kind} file {name} is missing")
        name = (c.get("files") or {}).get("hgrm")
        lat = c.get("latency_ns")
        if name and lat and (run.path / name).is_file():
            df = read_hgrm(run.path / name)
            if len(df) and int(df["total_count"].iloc[-1]) != int(lat["count"]):
                problems.append(f"{c['id']}: {name} has {int(df['total_count'].iloc[-1])} samples, "
                                f"results.json {lat['count']}")
            if len(df) and abs(df["value_ns"].iloc[-1] - lat["max"]) > 0.001 * lat["max"] + 1:
                problems.append(f"{c['id']}: {name} max {df['value_ns'].iloc[-1]:.0f}, results.json {lat['max']}")
    return problems


def show_run_header(run: Run) -> None:
    """Prints what the run is: experiment, when, where, what latency means, and its warnings."""
    print(figure_title(run, run.doc.get("latency_meaning", "")).replace("\n", "\n  "))
    print(f"  started {run.doc.get('started_at')}, finished {run.doc.get('finished_at') or '(not finished)'}")
    for w in run.doc.get("warnings", []):
        print(f"  warning: {w}")


# ----------------------------------------------------------------------------------------------
# Figures


def _ok_configs(run: Run, where=None) -> list[dict]:
    return [c for c in figure_configs(run) if c.get("status") == OK and c.get("latency_ns")
            and (where is None or where(c))]


def axis_meaning(run: Run) -> str:
    """The latency meaning, short enough for an axis label (up to its first comma or semicolon;
    the full text is in results.json `latency_meaning`)."""
    return re.split(r"[,;]", run.doc.get("latency_meaning", "latency"), maxsplit=1)[0]


def _drawable_configs(run: Run, where=None) -> list[dict]:
    """Ok configurations plus censored ones (a stalled probe's samples, lower bounds): figures
    draw the latter dashed and say so in the legend, never drop them."""
    return [c for c in figure_configs(run) if c.get("latency_ns") and (c.get("status") == OK or is_censored(c))
            and (where is None or where(c))]


def _censored_style(run: Run, c: dict, label: str) -> tuple[str, dict]:
    if not is_censored(c):
        return label, {}
    return label + f" ≥ ({c.get('status')}, censored)", {"linestyle": "--", "alpha": 0.8}


def _subplots(ax):
    if ax is not None:
        return ax.figure, ax
    return plt.subplots(figsize=(10, 5.5))


def plot_percentiles(run: Run, ax=None, where=None, what: str = "latency by percentile"):
    """HdrHistogram-style plot: x = 1/(1-p) on a log axis labelled as percentiles, y latency."""
    fig, ax = _subplots(ax)
    for c in _drawable_configs(run, where):
        df, source = distribution(run, c)
        df = df[df["percentile"] < 1.0]
        x = 1.0 / (1.0 - df["percentile"])
        label, style = _censored_style(run, c, config_label(run, c) + ("" if source == "hgrm" else " (summary points)"))
        ax.plot(x, df["value_ns"], marker="" if source == "hgrm" else "o", label=label,
                drawstyle="steps-post" if source == "hgrm" else "default", **style)
    ax.set_xscale("log")
    # Ticks up to one decade past the deepest percentile drawn (1/(1-p) grows with the count).
    right = max([max(line.get_xdata(), default=1) for line in ax.lines], default=1e4) * 10
    ticks = [p for p in PERCENTILE_TICKS if 1 / (1 - p) <= right]
    ax.set_xticks([1 / (1 - p) for p in ticks])
    ax.set_xticklabels([f"{p * 100:g}%" for p in ticks])
    ax.xaxis.set_minor_formatter(mticker.NullFormatter())
    ax.set_xlim(1, right)
    ax.set_xlabel("percentile (log scale of 1/(1-p))")
    _latency_axis(ax, "y")
    ax.set_ylabel(axis_meaning(run))
    ax.grid(True, which="major", alpha=0.4)
    ax.set_title(figure_title(run, what), fontsize=10)
    _not_plotted_note(ax, run)
    if ax.lines:
        ax.legend(fontsize=8, loc="lower right")
    return fig


def plot_cdf(run: Run, ax=None, where=None, what: str = "CDF"):
    """Cumulative distribution: x latency (log), y fraction of samples at or below it."""
    fig, ax = _subplots(ax)
    for c in _drawable_configs(run, where):
        df, source = distribution(run, c)
        label, style = _censored_style(run, c, config_label(run, c))
        ax.plot(df["value_ns"], df["percentile"], drawstyle="steps-post" if source == "hgrm" else "default",
                marker="" if source == "hgrm" else "o", label=label, **style)
    _latency_axis(ax, "x")
    ax.set_xlabel(axis_meaning(run))
    ax.set_ylabel("fraction of samples ≤ x")
    ax.set_ylim(0, 1.01)
    ax.grid(True, alpha=0.4)
    ax.set_title(figure_title(run, what), fontsize=10)
    _not_plotted_note(ax, run)
    if ax.lines:
        ax.legend(fontsize=8, loc="lower right")
    return fig


def _num(value) -> float:
    """A latency cell as a float: a percentile withheld for too few samples (null) is NaN, so it
    is simply not drawn."""
    return float("nan") if value is None else float(value)


def is_censored(c: dict) -> bool:
    """A stalled probe's distribution: its values are lower bounds (drawn hollow, marked ≥)."""
    return bool((c.get("latency_ns") or {}).get("censored"))


def plot_status_overview(run: Run, stats=("p50", "p99", "max"), ax=None, what: str = "outcome per configuration"):
    """One row per configuration: horizontal bars of the chosen statistics for ok runs; for the
    others an empty hatched row labelled with the status and no number. Made for starvation,
    where "it never ran" is the headline result."""
    fig, ax = _subplots(ax)
    configs = figure_configs(run)
    height = 0.8 / len(stats)
    labelled = False
    for i, c in enumerate(configs):
        if c.get("status") == OK and c.get("latency_ns"):
            for j, s in enumerate(stats):
                ax.barh(i + (j - (len(stats) - 1) / 2) * height, _num(c["latency_ns"].get(s)), height=height,
                        color=f"C{j}", label=None if labelled else s)
            labelled = True
        elif is_censored(c):
            # Starved or timed out, but the samples before the stall are kept: lower bounds.
            for j, s in enumerate(stats):
                ax.barh(i + (j - (len(stats) - 1) / 2) * height, _num(c["latency_ns"].get(s)), height=height,
                        color="none", edgecolor=f"C{j}", hatch="..")
            ax.text(0.01, i, f"{c.get('status', '?').upper()} (≥, censored)", transform=ax.get_yaxis_transform(),
                    va="center", fontsize=8, color="#b02a37", bbox=dict(facecolor="white", edgecolor="none", alpha=0.9))
        else:
            ax.barh(i, 1, height=0.8, left=0, color="none", edgecolor="#b02a37", hatch="//",
                    transform=ax.get_yaxis_transform())
            note = c.get("status", "?").upper()
            if c.get("reason"):
                note += f": {c['reason'][:80]}"
            ax.text(0.01, i, note, transform=ax.get_yaxis_transform(), va="center", fontsize=8, color="#b02a37",
                    bbox=dict(facecolor="white", edgecolor="none", alpha=0.9))
    ax.set_yticks(range(len(configs)))
    ax.set_yticklabels([config_label(run, c) for c in configs], fontsize=8)
    ax.invert_yaxis()
    _latency_axis(ax, "x")
    ax.set_xlabel(axis_meaning(run))
    ax.grid(True, axis="x", alpha=0.4)
    ax.set_title(figure_title(run, what), fontsize=10)
    if any(c.get("status") == OK and c.get("latency_ns") for c in configs):
        ax.legend(fontsize=8, loc="lower right")
    return fig


def duration_ns(text: str) -> float:
    """Lab duration text ("50us", "1.5ms", "10ms", "3s") → nanoseconds."""
    for suffix, scale in (("ns", 1), ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9)):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * scale
    raise ValueError(f"not a duration: {text!r}")


def plot_vs_axis(run: Run, axis: str, stats=("p50", "p99", "p999"), ax=None, what: str | None = None):
    """Statistics against one matrix axis (e.g. time_slice), one line per statistic and per
    combination of the other varying axes. Non-ok points are left out of the lines and marked
    on the x axis with their status."""
    fig, ax = _subplots(ax)
    others = [a for a in varying_axes(run) if a != axis]
    groups: dict[str, list[dict]] = {}
    for c in figure_configs(run):
        values = axis_values(c)
        if axis not in values:
            continue
        key = ",".join(f"{a}={values.get(a, '-')}" for a in others)
        groups.setdefault(key, []).append(c)

    def xval(c):
        v = axis_values(c)[axis]
        return duration_ns(v) if axis == "time_slice" else float(v) if v.replace(".", "").isdigit() else v

    numeric = all(not isinstance(xval(c), str) for cs in groups.values() for c in cs)
    categories = sorted({axis_values(c)[axis] for cs in groups.values() for c in cs},
                        key=lambda s: (duration_ns(s) if axis == "time_slice" else s))
    pos = (lambda c: xval(c)) if numeric else (lambda c: categories.index(axis_values(c)[axis]))
    marked = set()
    for g, (key, cs) in enumerate(sorted(groups.items())):
        cs = sorted(cs, key=pos)
        ok = [c for c in cs if c.get("status") == OK and c.get("latency_ns")]
        for j, s in enumerate(stats):
            ax.plot([pos(c) for c in ok], [_num(c["latency_ns"].get(s)) for c in ok], marker="o",
                    linestyle=["-", "--", ":", "-."][g % 4], color=f"C{j}",
                    label=f"{s}" + (f" [{key}]" if key else ""))
            censored = [c for c in cs if c not in ok and is_censored(c)]
            if censored:
                # Never dropped: a censored point is a lower bound, drawn as a hollow up-triangle.
                ax.plot([pos(c) for c in censored], [_num(c["latency_ns"].get(s)) for c in censored], marker="^",
                        linestyle="none", markerfacecolor="none", color=f"C{j}",
                        label=f"{s} ≥ (censored)" + (f" [{key}]" if key else ""))
        for c in cs:
            if c in ok or pos(c) in marked:
                continue
            marked.add(pos(c))
            ax.axvline(pos(c), color="#b02a37", alpha=0.3)
            ax.text(pos(c), 0.98, f" {c.get('status')} [{key}]" if key else f" {c.get('status')}", rotation=90,
                    transform=ax.get_xaxis_transform(), va="top", fontsize=8, color="#b02a37")
    if numeric:
        ax.set_xscale("log")
        if axis == "time_slice":
            ax.xaxis.set_major_formatter(mticker.FuncFormatter(lambda v, _: human_ns(v)))
    else:
        ax.set_xticks(range(len(categories)))
        ax.set_xticklabels(categories)
    _latency_axis(ax, "y")
    ax.set_xlabel(axis)
    ax.set_ylabel(axis_meaning(run))
    ax.grid(True, alpha=0.4)
    ax.set_title(figure_title(run, what or f"latency vs {axis}"), fontsize=10)
    if ax.lines:
        ax.legend(fontsize=8)
    return fig


def save(fig, run: Run, name: str) -> Path:
    """Writes `<run dir>/<name>.png` and closes the figure (the notebook shows it first)."""
    path = run.path / f"{name}.png"
    fig.savefig(path, dpi=110, bbox_inches="tight")
    print(f"wrote {path}")
    return path


def standard_report(run: Run, prefix: str | None = None) -> list[Path]:
    """The three views every notebook shows for a run: the table, the percentile plot and the
    CDF. Returns the PNGs written (<prefix>-percentiles.png, <prefix>-cdf.png)."""
    from IPython.display import display

    prefix = prefix or run.experiment
    show_run_header(run)
    for problem in verify_run(run):
        print(f"  INCONSISTENT: {problem}")
    display(config_table(run))
    if any(c.get("counters") for c in run.configs):
        display(counters_table(run))
    written = []
    fig = plot_percentiles(run)
    written.append(save(fig, run, f"{prefix}-percentiles"))
    plt.show()
    fig = plot_cdf(run)
    written.append(save(fig, run, f"{prefix}-cdf"))
    plt.show()
    return written


# ----------------------------------------------------------------------------------------------
# The server workload (Sources/TimesliceLab/Workloads/Server, experiments/server-bimodal.json):
# the tail-latency literature's figure, SHORT-request p99 against offered load, one line per
# configuration without its `rate`, and the throughput each line sustains within a p99 SLO.
# Latency is from the intended send; dropped and timed-out requests are in no histogram
# (counters `dropped`, `timeouts`), so a line is only as good as its drop count says.


def is_server_run(run: Run) -> bool:
    return any(((c.get("config") or {}).get("workload") or {}).get("kind") == "server" for c in run.configs)


def server_line(run: Run, config: dict) -> str:
    """The configuration without its rate, in the axes that vary in this run: one line of the
    load figure."""
    values = axis_values(config)
    axes = [a for a in varying_axes(run) if a != "rate"] or ["runtime"]
    return ",".join(f"{AXIS_KEYS[a]}={values[a]}" for a in axes if a in values)


def disturbance(config: dict) -> str | None:
    """What disturbed a configuration, in the lab's words, or None: results.json carries it as
    `disturbed` (the lab applies its thresholds once, Sources/TimesliceLab/Results/
    Disturbance.swift). A file written before the field existed has none until
    `timeslice resume DIR` rewrites it."""
    return config.get("disturbed") or None


def server_table(run: Run) -> pd.DataFrame:
    """One row per ok server configuration: offered and achieved rates, per-type percentiles
    (ns), drops, timeouts, generator lag, and (timeslice) preemption requests."""
    rows = []
    for c in run.configs:
        if c.get("status") != OK:
            continue
        h, k = c.get("histograms") or {}, c.get("counters") or {}
        short, long_, lag = (h.get(n) or {} for n in ("latency_short_ns", "latency_long_ns", "generator_lag_ns"))
        rows.append({"line": server_line(run, c), "rate": axis_values(c).get("rate", ""),
                     "capacity_per_s": k.get("capacity_per_second"), "offered_per_s": k.get("offered_per_second"),
                     "achieved_per_s": k.get("achieved_per_second"),
                     "short_p50": short.get("p50"), "short_p99": short.get("p99"), "short_p999": short.get("p999"),
                     "long_p50": long_.get("p50"), "long_p99": long_.get("p99"),
                     "dropped": k.get("dropped"), "timeouts": k.get("timeouts"), "lag_p99": lag.get("p99"),
                     # timeslice only: did the slice actually cut the long requests?
                     "preemptions_requested": k.get("runtime_preemptionsRequested"),
                     "disturbed": disturbance(c)})
    return pd.DataFrame(rows)


def plot_server_load(run: Run, stat: str = "p99", slo_ns: float | None = None, ax=None):
    """Short-request `stat` against offered load (requests per second), one line per
    configuration; the SLO as a horizontal line when given."""
    fig, ax = _subplots(ax)
    table = server_table(run)
    name = dict((k, f"p{100 * p:g}") for k, p in SUMMARY_PERCENTILES).get(stat, stat)   # p999 -> p99.9
    if not table.empty:
        for i, (line, g) in enumerate(sorted(table.groupby("line"), key=lambda kv: kv[0])):
            g = g.dropna(subset=[f"short_{stat}"]).sort_values("offered_per_s")
            ax.plot(g["offered_per_s"], g[f"short_{stat}"], marker="o", color=f"C{i % 10}",
                    linestyle=["-", "--", ":", "-."][(i // 10) % 4], label=line)
        # Points something else disturbed (the sweep's table says "disturbed"): re-run before comparing.
        hit = table[table["disturbed"].notna()].dropna(subset=[f"short_{stat}"])
        if not hit.empty:
            ax.scatter(hit["offered_per_s"], hit[f"short_{stat}"], marker="x", s=90, color="black", zorder=5,
                       label="disturbed (steal or other processes on the server's CPUs)")
        _latency_axis(ax, "y")
    if slo_ns:
        ax.axhline(slo_ns, color="#b02a37", alpha=0.5, linestyle="--", label=f"SLO {human_ns(slo_ns)}")
    ax.set_xlabel("offered load (requests/s; a rate given as \"N%\" is of each line's own probed capacity)")
    ax.set_ylabel(f"short-request {name} from intended send")
    ax.grid(True, alpha=0.4)
    ax.set_title(figure_title(run, f"short-request {name} vs offered load"), fontsize=10)
    if ax.lines:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def throughput_at_slo(run: Run, slo_ns: float) -> pd.DataFrame:
    """Per line: the highest achieved rate among its points whose short-request p99 is within
    `slo_ns` (None when no point is), and that point's drops."""
    table = server_table(run)
    rows = []
    for line, g in sorted(table.groupby("line"), key=lambda kv: kv[0]) if not table.empty else []:
        within = g[g["short_p99"].notna() & (g["short_p99"] <= slo_ns)]
        best = within.loc[within["achieved_per_s"].idxmax()] if len(within) else None
        rows.append({"line": line, "slo_p99": human_ns(slo_ns),
                     "achieved_per_s_within_slo": None if best is None else best["achieved_per_s"],
                     "at_rate": None if best is None else best["rate"],
                     "dropped_there": None if best is None else best["dropped"]})
    return pd.DataFrame(rows)


# Why the slowest short requests were slow: `timeslice run --trace` on a timeslice server
# configuration leaves the runtime's trace (`files.trace`, with `origin_monotonic_ns`) and the
# generator's request log (`files.requests`: intended, sent and completed times on the same
# CLOCK_MONOTONIC), so each slow request can be lined up with what the Ms were doing.

TAIL_CAUSES = ["generator late", "slice not enforced", "server waking", "queued behind slices"]


def _trace_runs(trace: dict) -> list[tuple[float, float]]:
    """(start, end) in trace µs of every goroutine run on an M track, sorted by start."""
    names = {e["tid"]: e["args"]["name"] for e in trace["traceEvents"] if e.get("ph") == "M"}
    runs = [(e["ts"], e["ts"] + e["dur"]) for e in trace["traceEvents"]
            if e.get("ph") == "X" and str(names.get(e["tid"], "")).startswith("M")]
    return sorted(runs)


def classify_slow_requests(trace: dict, requests: list[tuple[int, int, int, int]], slice_ns: float,
                           fraction: float = 0.01) -> dict:
    """The slowest `fraction` of the requests of type 0 inside the trace's span, each put in
    the first class that fits:
      generator late        sent − intended is over half its latency (the generator stalled);
      slice not enforced    a goroutine run longer than 3 slices overlapped its wait (a
                            preemption signal or sysmon that came late: the VM's doing when
                            the breakdown's delivery times show ms);
      server waking         the Ms ran goroutines less than half of sent → completed (a thread
                            asleep in epoll_wait, or not running, when the request came);
      queued behind slices  the rest: waiting for slices and queued requests, what the
                            configuration means to measure.
    `requests`: (intended_ns, sent_ns, completed_ns, type) on CLOCK_MONOTONIC. Returns counts
    per class, the requests considered and their latency p99 (µs)."""
    origin = trace["otherData"]["origin_monotonic_ns"]
    runs = _trace_runs(trace)
    if not runs:
        return {"requests": 0}
    first, last = runs[0][0], runs[-1][1]
    starts = [r[0] for r in runs]
    inside = []
    for intended, sent, completed, kind in requests:
        i, s, c = ((t - origin) / 1000 for t in (intended, sent, completed))
        if kind == 0 and i >= first and c <= last:
            inside.append((c - i, i, s, c))
    if not inside:
        return {"requests": 0}
    inside.sort()
    slow = inside[int(len(inside) * (1 - fraction)):]
    counts = dict.fromkeys(TAIL_CAUSES, 0)
    long_run = 3 * slice_ns / 1000
    for latency, i, s, c in slow:
        k = max(bisect.bisect_left(starts, s) - 1, 0)
        # Runs overlapping [s, c]: a run starting before s may still be going.
        overlapping = [r for r in runs[max(k - 64, 0):] if r[0] <= c and r[1] > s]
        busy = sum(min(c, b) - max(s, a) for a, b in overlapping)
        if s - i > latency / 2:
            counts["generator late"] += 1
        elif any(b - a > long_run for a, b in overlapping):
            counts["slice not enforced"] += 1
        elif busy < (c - s) / 2:
            counts["server waking"] += 1
        else:
            counts["queued behind slices"] += 1
    return {"requests": len(inside), "p99_us": inside[int(len(inside) * 0.99)][0], **counts}


def server_tail_causes(run: Run, fraction: float = 0.01) -> pd.DataFrame:
    """classify_slow_requests for every ok timeslice server configuration that has a trace and
    a request log (`timeslice run --trace`); empty when none has."""
    rows = []
    for c in run.configs:
        files = c.get("files") or {}
        if c.get("status") != OK or "trace" not in files or "requests" not in files:
            continue
        trace = json.loads((run.path / files["trace"]).read_text())
        requests = []
        for line in (run.path / files["requests"]).read_text().splitlines():
            if line and line[0].isdigit():
                intended, sent, completed, kind, _ = (int(x) for x in line.split(","))
                requests.append((intended, sent, completed, kind))
        point = (c.get("config") or {}).get("point") or {}
        slice_ns = duration_ns(point.get("time_slice", "10ms"))
        rows.append({"config": c["id"], **classify_slow_requests(trace, requests, slice_ns, fraction)})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------------
# `timeslice bench --json --out ROOT`: ROOT/bench/<UTC timestamp>/bench.json
# (Sources/TimesliceLab/Bench/BenchFile.swift). Its "micro" object holds timeslice's results per
# maxProcs and each baseline's columns (numbers only; a benchmark a baseline could not measure
# is absent there and listed in "unavailable" with its reason).

BENCHMARKS = ["yield_ns", "chan_ns", "spawn_join_ns", "parked_rss_bytes"]


@dataclass
class Bench:
    """One bench.json."""

    path: Path
    doc: dict

    @property
    def timestamp(self) -> str:
        return self.path.parent.name

    @property
    def micro(self) -> dict:
        return self.doc.get("micro") or {}


def newest_bench(root: Path) -> Bench | None:
    """The newest root/bench/<timestamp>/bench.json (latest started_at, then directory name),
    or None when there is none or it has no micro suite."""
    base = root / "bench"
    if not base.is_dir():
        return None
    benches = []
    for d in base.iterdir():
        if (d / "bench.json").is_file():
            with open(d / "bench.json", encoding="utf-8") as f:
                benches.append(Bench(path=d / "bench.json", doc=json.load(f)))
    benches = [b for b in benches if b.micro.get("results")]
    if not benches:
        return None
    return max(benches, key=lambda b: (b.doc.get("started_at") or "", b.timestamp))


def bench_columns(bench: Bench) -> list[tuple[str, int, dict, dict]]:
    """(runtime, max_procs, numbers, unavailable reasons) per column: timeslice first, then the
    baselines in file order."""
    micro = bench.micro
    cols = [("timeslice", int(r["max_procs"]), r, {}) for r in micro.get("results", [])]
    reasons: dict[tuple[str, int], dict] = {}
    for u in micro.get("unavailable", []):
        reasons.setdefault((u["runtime"], int(u["max_procs"])), {})[u["benchmark"]] = u["reason"]
    for runtime, entries in (micro.get("baselines") or {}).items():
        for e in entries:
            procs = int(e["max_procs"])
            cols.append((runtime, procs, e, reasons.get((runtime, procs), {})))
    return cols


def bench_table(bench: Bench) -> pd.DataFrame:
    """Benchmarks × columns ("go/1" = go at GOMAXPROCS 1): numbers, or "unavailable: reason"."""
    data = {}
    for runtime, procs, numbers, why in bench_columns(bench):
        data[f"{runtime}/{procs}"] = [f"{numbers[b]:.1f}" if b in numbers else f"unavailable: {why.get(b, 'not measured')}"
                                      for b in BENCHMARKS]
    data["target"] = [bench.micro.get("targets", {}).get(b, "") for b in BENCHMARKS]
    return pd.DataFrame(data, index=BENCHMARKS)


def bench_ratio_table(bench: Bench) -> pd.DataFrame:
    """timeslice / other at the same maxProcs (as `timeslice bench` prints it)."""
    data = {}
    for runtime, entries in (bench.micro.get("ratios") or {}).items():
        for e in entries:
            data[f"{runtime}/{int(e['max_procs'])}"] = [f"{e[b]:.3g}" if b in e else "unavailable" for b in BENCHMARKS]
    return pd.DataFrame(data, index=BENCHMARKS)


def plot_bench(bench: Bench):
    """One panel per micro-benchmark: a bar per column (log scale); a column without a number
    is a hatched, labelled gap, never a bar."""
    cols = bench_columns(bench)
    fig, axes = plt.subplots(1, len(BENCHMARKS), figsize=(4 * len(BENCHMARKS), 4.8))
    runtimes = list(dict.fromkeys(c[0] for c in cols))
    for ax, b in zip(axes, BENCHMARKS):
        for i, (runtime, procs, numbers, why) in enumerate(cols):
            color = f"C{runtimes.index(runtime)}"
            if b in numbers and numbers[b] > 0:
                ax.bar(i, numbers[b], color=color)
            else:
                ax.bar(i, 1, bottom=0, color="none", edgecolor="#b02a37", hatch="//", transform=ax.get_xaxis_transform())
                ax.text(i, 0.5, "unavailable", rotation=90, ha="center", va="center", fontsize=7, color="#b02a37",
                        transform=ax.get_xaxis_transform())
        target = bench.micro.get("targets", {}).get(b)
        if target:
            ax.axhline(target, color="black", linestyle=":", linewidth=1, label="target")
            ax.legend(fontsize=7, loc="upper left")
        ax.set_yscale("log")
        ax.set_xticks(range(len(cols)))
        ax.set_xticklabels([f"{c[0]}/{c[1]}" for c in cols], rotation=60, ha="right", fontsize=7)
        ax.set_title(b, fontsize=9)
        ax.grid(True, axis="y", alpha=0.4)
    env = textwrap.fill(environment_label(bench.doc.get("environment") or {}), 140)
    fig.suptitle(f"timeslice bench (micro): timeslice beside go, threads, swift-concurrency\nrun {bench.timestamp}\n{env}",
                 fontsize=10)
    fig.tight_layout()
    return fig


def save_bench(fig, bench: Bench, name: str = "bench-micro") -> Path:
    """Writes <bench dir>/<name>.png and closes nothing (the notebook shows it)."""
    path = bench.path.parent / f"{name}.png"
    fig.savefig(path, dpi=110, bbox_inches="tight")
    print(f"wrote {path}")
    return path
