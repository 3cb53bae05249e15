#!/usr/bin/env python3
"""Writes Tests/Fixtures/results-small/: a tiny results tree in the lab's schema (version 1,
Sources/TimesliceLab/Results) for the notebook test (scripts/test-notebooks.sh).

Everything in it is SYNTHETIC: latencies are drawn from fixed-seed distributions, not
measured. Every results.json says so in `environment.fixture`, `environment.kernelRelease`,
`environment.cpuModel`, `environment.hypervisor` and `warnings`, and the notebooks put that
label first in every figure title.

The .hgrm files are real HdrHistogram output: samples are recorded into `hdrh` histograms
(1 ns .. 60 s, 3 significant digits, as the lab's LatencyRecorder) and written with
`output_percentile_distribution(f, 1.0)`; `latency_ns` in results.json and summary.csv come from
the same histograms, so the three files agree.

One experiment per notebook family, each with 2-3 configurations, including a `starved` one,
a `timeout`, an `unavailable` and an older quickstart run that the notebooks must not pick:

    quickstart/            2025-01-01T00-00-00Z (older, 1 config) and 2025-01-02T00-00-00Z
    timeslice-sweep/       time slice 100us, 1ms, 10ms
    pinned-vs-unpinned/    threads unpinned vs pinned to CPU 1
    open-loop-tail/        cooperative vs async, plus a timed-out configuration
    baselines-starvation/  timeslice, threads, swift-concurrency and go; cooperative rows starve
    baselines-wakeup/      idle pinned wakeup: timeslice, threads, swift-concurrency, go, and
                           cyclictest unavailable ("cyclictest not installed")
    server-bimodal/        short-request p99 vs offered load: timeslice cooperative and async,
                           threads at 10 %, 50 %, 90 % of capacity; go unavailable
    bench/                 a `timeslice bench --json --out` file (bench.json, not a results.json),
                           with an unavailable go column

Run from anywhere:  python3 Tests/Fixtures/make_fixture.py   (needs the hdrhistogram package)
"""

from __future__ import annotations

import io
import json
import math
import random
import shutil
from pathlib import Path

from hdrh.histogram import HdrHistogram

OUT = Path(__file__).resolve().parent / "results-small"
LABEL = "synthetic latencies from Tests/Fixtures/make_fixture.py; not a measurement"

ENVIRONMENT = {
    "fixture": LABEL,
    "kernelRelease": "fixture",
    "cmdline": "fixture (synthetic)",
    "cpuModel": "no CPU (fixture)",
    "hypervisor": "none (fixture)",
    "onlineCPUs": "0-1",
    "allowedCPUs": "0-1",
    "isolatedCPUs": "",
    "nohzFull": "",
    "rcuNocbs": "",
    "smtActive": False,
    "governors": {},
    "cgroup": {"cpuPath": "/sys/fs/cgroup/cpu", "cpuset": "0-1", "version": 1},
    "numa": {"nodes": [{"cpus": "0-1", "distances": [10], "id": 0, "memoryBytes": 4294967296}]},
    "topology": {
        "cpus": [{"coreID": i, "id": i, "nodeID": 0, "packageID": 0, "siblings": str(i)} for i in (0, 1)],
        "online": "0-1",
    },
    "isolation": {"cmdline": "fixture (synthetic)", "isolcpus": "", "isolcpusFlags": [], "nohzFull": "",
                  "problems": [], "rcuNocbs": "", "sysfsIsolated": ""},
    "defaultMaxProcs": 2,
}

MEANING = {
    "wakeup": "wake-up lateness (actual - intended)",
    "open_loop": "response time from intended arrival",
    "server": "short-request response time from intended send (loopback TCP, separate generator process)",
}

LATENCY_COLUMNS = ["count", "mean", "stddev", "min", "p50", "p90", "p99", "p999", "p9999", "max",
                   "jitter_max_min", "jitter_p99_p50"]
# summary.csv headers carry their unit (SummaryCSV.latencyColumns): p99_ns, mean_ns, ...; count has none.
LATENCY_HEADERS = [c if c == "count" else c + "_ns" for c in LATENCY_COLUMNS]
CSV_LEADING = ["id", "repetition", "runtime", "max_procs", "preemption", "time_slice", "placement",
               "lock_os_thread", "numa_node", "status"]


# ----------------------------------------------------------------------------------------------
# Synthetic samples (ns)


def lognormal(rng: random.Random, n: int, median_ns: float, sigma: float) -> list[int]:
    return [max(1, int(rng.lognormvariate(math.log(median_ns), sigma))) for _ in range(n)]


def with_tail(rng: random.Random, base: list[int], fraction: float, low_ns: float, high_ns: float) -> list[int]:
    """Replaces `fraction` of the samples by values uniform in [low, high]: a scheduling tail."""
    out = list(base)
    for i in rng.sample(range(len(out)), max(1, int(len(out) * fraction))):
        out[i] = int(rng.uniform(low_ns, high_ns))
    return out


# ----------------------------------------------------------------------------------------------
# Result records, as ResultsDocument / ConfigResult encode them


def point_id(point: dict) -> str:
    """The lab's MatrixPoint.id for the axes present in `point`."""
    keys = [("runtime", "rt"), ("max_procs", "procs"), ("preemption", "preempt"), ("time_slice", "slice"),
            ("placement", "place"), ("lock_os_thread", "lock"), ("numa_node", "numa"), ("rate", "rate")]
    parts = []
    for axis, key in keys:
        if axis not in point:
            continue
        v = point[axis]
        if isinstance(v, dict) and "explicit" in v:
            v = "cpus" + "+".join(map(str, v["explicit"]))
        elif isinstance(v, bool):
            v = "true" if v else "false"
        parts.append(f"{key}={v}")
    return ",".join(parts)


# As PercentileSummary: the q-quantile only with at least 1 / (1 - q) samples, else null.
LEVELS = [("p50", 50, 2), ("p90", 90, 10), ("p99", 99, 100), ("p999", 99.9, 1_000), ("p9999", 99.99, 10_000)]


def summarize(h: HdrHistogram, censored: bool = False) -> dict:
    n = h.get_total_count()
    s = {"count": n, "mean": h.get_mean_value(), "stddev": h.get_stddev(), "min": h.get_min_value()}
    for key, q, need in LEVELS:
        s[key] = h.get_value_at_percentile(q) if n >= need else None
    s["max"] = h.get_max_value()
    s["jitter_max_min"] = s["max"] - s["min"]
    s["jitter_p99_p50"] = s["p99"] - s["p50"] if s["p99"] is not None and s["p50"] is not None else None
    s["censored"] = censored
    return s


def config(run_dir: Path, point: dict, workload: dict, status: str = "ok", samples: list[int] | None = None,
           reason: str | None = None, counters: dict | None = None, placement: dict | None = None,
           elapsed: float = 3.2, censored: bool = False) -> dict:
    cid = point_id(point)
    rec = {"id": cid, "config": {"point": point, "workload": workload}, "status": status,
           "counters": counters or {}, "repetition": 1, "elapsed_seconds": elapsed, "files": {}}
    if reason:
        rec["reason"] = reason
    if placement:
        rec["placement"] = placement
    if samples:
        h = HdrHistogram(1, 60_000_000_000, 3)
        for v in samples:
            h.record_value(v)
        rec["latency_ns"] = summarize(h, censored)
        buf = io.BytesIO()
        h.output_percentile_distribution(buf, 1.0)
        name = f"{cid}.hgrm"  # ids here only use file-name-safe characters (ResultsWriter.fileStem)
        (run_dir / name).write_bytes(buf.getvalue())
        rec["files"]["hgrm"] = name
    return rec


def csv_field(v) -> str:
    s = "" if v is None else str(v)
    return '"' + s.replace('"', '""') + '"' if any(ch in s for ch in ',"\n\r') else s


def summary_csv(configs: list[dict]) -> str:
    lines = [",".join(CSV_LEADING + LATENCY_HEADERS + ["placement_verified", "reason"])]
    for c in configs:
        p = c["config"]["point"]
        place = p.get("placement")
        if isinstance(place, dict) and "explicit" in place:
            place = "cpus" + "+".join(map(str, place["explicit"]))
        axes = [p.get("runtime"), p.get("max_procs"), p.get("preemption"), p.get("time_slice"), place,
                None if "lock_os_thread" not in p else ("true" if p["lock_os_thread"] else "false"), p.get("numa_node")]
        row = [c["id"], c["repetition"], *axes, c["status"]]
        lat = c.get("latency_ns")
        if lat:
            row += [lat["count"], f"{lat['mean']:.1f}", f"{lat['stddev']:.1f}"] + [lat[k] for k in LATENCY_COLUMNS[3:]]
        else:
            row += [None] * len(LATENCY_COLUMNS)
        verified = (c.get("placement") or {}).get("verified")
        row += [None if verified is None else ("true" if verified else "false"), c.get("reason")]
        lines.append(",".join(csv_field(v) for v in row))
    return "\n".join(lines) + "\n"


def write_run(experiment: str, stamp: str, spec: dict, build) -> None:
    """`build(run_dir)` returns the configs; the run directory is results-small/<experiment>/<stamp>."""
    run_dir = OUT / experiment / stamp
    run_dir.mkdir(parents=True)
    configs = build(run_dir)
    started = stamp[:13] + ":" + stamp[14:16] + ":" + stamp[17:]
    doc = {
        "schema_version": 1,
        "experiment": experiment,
        "spec": spec,
        "environment": ENVIRONMENT,
        "warnings": [f"FIXTURE: {LABEL}"],
        "latency_meaning": MEANING[spec["workload"]["kind"]],
        "started_at": started,
        "finished_at": started[:-3] + "30Z",
        "options": {},
        "planned": len(configs),
        "configs": configs,
    }
    (run_dir / "summary.csv").write_text(summary_csv(configs), encoding="utf-8")
    (run_dir / "results.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def spec(name: str, description: str, matrix: dict, workload: dict, include=None) -> dict:
    s = {"schema_version": 1, "name": name, "description": f"FIXTURE: {description}", "matrix": matrix,
         "workload": workload, "duration": "3s", "warmup": "200ms", "repetitions": 1, "seed": 1,
         "starvation_timeout": "3s"}
    if include:
        s["include"] = include
    return s


def write_bench(stamp: str, rng: random.Random) -> None:
    """results-small/bench/<stamp>/bench.json as `timeslice bench --json --out` writes it
    (Sources/TimesliceLab/Bench/BenchFile.swift, BenchReport.swift); go is unavailable."""
    bench_dir = OUT / "bench" / stamp
    bench_dir.mkdir(parents=True)
    names = ["yield_ns", "chan_ns", "spawn_join_ns", "parked_rss_bytes"]
    base = {"yield_ns": 60, "chan_ns": 100, "spawn_join_ns": 250, "parked_rss_bytes": 4000}

    def numbers(factor: dict) -> dict:
        return {k: round(base[k] * factor.get(k, 1) * rng.uniform(0.9, 1.1), 1) for k in names}

    results = [{"max_procs": p, **numbers({"yield_ns": p * 2})} for p in (1, 2)]
    baselines = {
        "threads": [{"max_procs": p, "parked_count": 2000, **numbers({"yield_ns": 20, "chan_ns": 20, "spawn_join_ns": 150, "parked_rss_bytes": 2.3})}
                    for p in (1, 2)],
        "swift-concurrency": [{"max_procs": p, "parked_count": 100000, **numbers({"yield_ns": 6, "chan_ns": 10, "spawn_join_ns": 2, "parked_rss_bytes": 0.4})}
                              for p in (1, 2)],
        "go": [{"max_procs": p, "parked_count": 100000} for p in (1, 2)],
    }
    by_procs = {r["max_procs"]: r for r in results}
    ratios = {rt: [{"max_procs": c["max_procs"], **{k: by_procs[c["max_procs"]][k] / c[k] for k in names if k in c}} for c in cols]
              for rt, cols in baselines.items()}
    unavailable = [{"runtime": "go", "max_procs": p, "benchmark": k, "reason": "go not installed"} for p in (1, 2) for k in names]
    doc = {"schema_version": 1, "experiment": "bench", "started_at": stamp[:13] + ":" + stamp[14:16] + ":" + stamp[17:],
           "environment": ENVIRONMENT,
           "micro": {"results": results, "targets": {"yield_ns": 60, "chan_ns": 100, "spawn_join_ns": 1000, "parked_rss_bytes": 8192},
                     "baselines": baselines, "ratios": ratios, "unavailable": unavailable,
                     "notes": [f"FIXTURE: {LABEL}"]}}
    (bench_dir / "bench.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")


# ----------------------------------------------------------------------------------------------
# The runs


def main() -> None:
    if OUT.exists():
        shutil.rmtree(OUT)
    rng = random.Random(20251125)
    wakeup = {"kind": "wakeup", "interval": "1ms", "hogs": 1, "hog_kind": "tight"}
    starved = "probe never ran within 3s"

    def ts(preempt, slice_="10ms", place="none"):
        return {"runtime": "timeslice", "max_procs": 1, "preemption": preempt, "time_slice": slice_,
                "placement": place, "lock_os_thread": False}

    # quickstart: an older run, then the newest one with a starved configuration.
    qs_spec = spec("quickstart", "cooperative vs async starvation at 1 P", {"runtime": ["timeslice"],
                   "max_procs": [1], "preemption": ["cooperative", "async"], "time_slice": ["10ms"],
                   "placement": ["none"]}, wakeup, include=[{"runtime": "threads", "placement": "none"}])
    write_run("quickstart", "2025-01-01T00-00-00Z", qs_spec, lambda d: [
        config(d, {"runtime": "threads", "placement": "none"}, wakeup,
               samples=lognormal(rng, 2800, 30_000, 0.4))])
    write_run("quickstart", "2025-01-02T00-00-00Z", qs_spec, lambda d: [
        # Starved, with its censored samples: every deadline since the stall, at least this late.
        config(d, ts("cooperative"), wakeup, status="starved", reason=starved, elapsed=3.4, censored=True,
               samples=[3_000_000_000 - k * 1_000_000 for k in range(2800)],
               counters={"preemptions_requested": 0, "preemptions_delivered": 0}),
        config(d, ts("async"), wakeup, samples=with_tail(rng, lognormal(rng, 2900, 40_000, 0.5), 0.01, 2e6, 10.5e6),
               counters={"preemptions_requested": 310, "preemptions_delivered": 298, "preemptions_deferred": 12}),
        config(d, {"runtime": "threads", "placement": "none"}, wakeup,
               samples=with_tail(rng, lognormal(rng, 2930, 28_000, 0.4), 0.005, 1e6, 5e6),
               counters={"missed_periods": 3, "samples_warmup_discarded": 199}),
    ])

    # timeslice-sweep: the tail follows the slice.
    sweep_spec = spec("timeslice-sweep", "time slice sweep", {"runtime": ["timeslice"], "max_procs": [1],
                      "preemption": ["async"], "time_slice": ["100us", "1ms", "10ms"]}, wakeup)
    write_run("timeslice-sweep", "2025-01-02T01-00-00Z", sweep_spec, lambda d: [
        config(d, ts("async", s), wakeup,
               samples=with_tail(rng, lognormal(rng, 2900, 20_000 + slice_ns / 20, 0.5), 0.02, slice_ns / 2, slice_ns * 1.1))
        for s, slice_ns in (("100us", 100e3), ("1ms", 1e6), ("10ms", 10e6))
    ])

    # pinned-vs-unpinned: placement reports as the lab writes them.
    pin_spec = spec("pinned-vs-unpinned", "pinned vs unpinned threads", {"runtime": ["threads"],
                    "placement": ["none", {"explicit": [1]}]}, {**wakeup, "hogs": 0})
    pinned_report = {"requested": {"explicit": [1]}, "worker_cpus": [[1]], "verified": True,
                     "threads": [{"worker": 0, "requested": [1], "allowed_after": [1], "observed_cpu": 1,
                                  "verified": True}],
                     "warnings": ["CPU 1 is not isolated (isolcpus/nohz_full not set for it)"]}
    write_run("pinned-vs-unpinned", "2025-01-02T02-00-00Z", pin_spec, lambda d: [
        config(d, {"runtime": "threads", "placement": "none"}, {**wakeup, "hogs": 0},
               samples=with_tail(rng, lognormal(rng, 2950, 25_000, 0.6), 0.01, 0.5e6, 4e6)),
        config(d, {"runtime": "threads", "placement": {"explicit": [1]}}, {**wakeup, "hogs": 0},
               samples=with_tail(rng, lognormal(rng, 2990, 14_000, 0.2), 0.002, 0.5e6, 3e6), placement=pinned_report),
    ])

    # open-loop-tail: bimodal service (99.5 % 1us, 0.5 % 1ms); cooperative scheduling lets the
    # slow requests block fast ones (head-of-line blocking), async preemption cuts that tail.
    ol = {"kind": "open_loop", "rate": 100000.0, "fast_service": "1us", "slow_service": "1ms",
          "slow_fraction": 0.005, "workers": 2}
    ol_spec = spec("open-loop-tail", "open-loop bimodal service", {"runtime": ["timeslice"], "max_procs": [2],
                   "preemption": ["cooperative", "async"], "time_slice": ["100us"]}, ol)

    def olp(preempt):
        return {**ts(preempt, "100us"), "max_procs": 2}

    write_run("open-loop-tail", "2025-01-02T03-00-00Z", ol_spec, lambda d: [
        config(d, olp("cooperative"), ol, samples=with_tail(rng, lognormal(rng, 20000, 3_000, 0.5), 0.03, 0.2e6, 2e6)),
        config(d, olp("async"), ol, samples=with_tail(rng, lognormal(rng, 20000, 3_000, 0.5), 0.006, 0.05e6, 1.1e6)),
        config(d, {**olp("polling")}, ol, status="timeout", elapsed=16.4,
               reason="killed by the watchdog after 16.4s (deadline 16.4s)"),
    ])

    # baselines-starvation: all four runtimes, as issue 7 describes them. Cooperative rows
    # starve (Go with asyncpreemptoff=1, Swift's pool held by as many hogs as threads).
    def gop(preempt):
        return {"runtime": "go", "max_procs": 1, "preemption": preempt, "placement": "none", "lock_os_thread": False}

    bs_spec = spec("baselines-starvation", "tight-loop starvation across runtimes",
                   {"runtime": ["timeslice", "threads", "swift-concurrency", "go"], "max_procs": [1],
                    "preemption": ["async", "cooperative"]}, wakeup)
    write_run("baselines-starvation", "2025-01-02T04-00-00Z", bs_spec, lambda d: [
        config(d, ts("async"), wakeup, samples=with_tail(rng, lognormal(rng, 2900, 40_000, 0.5), 0.01, 2e6, 10.5e6)),
        config(d, ts("cooperative"), wakeup, status="starved", reason=starved, elapsed=3.4),
        config(d, {"runtime": "threads", "placement": "none"}, wakeup,
               samples=with_tail(rng, lognormal(rng, 2950, 30_000, 0.4), 0.01, 1e6, 4e6)),
        config(d, {"runtime": "swift-concurrency", "placement": "none"}, wakeup, status="starved",
               reason="probe made no progress for 2000 ms (after 3 samples)", elapsed=2.4),
        config(d, gop("async"), wakeup, samples=with_tail(rng, lognormal(rng, 2900, 500_000, 0.6), 0.02, 10e6, 21e6)),
        config(d, gop("cooperative"), wakeup, status="starved", reason=starved, elapsed=3.3),
    ])

    # baselines-wakeup: idle probe pinned to CPU 1; cyclictest is not installed on the fixture host.
    idle = {**wakeup, "hogs": 0}
    cpu1 = {"explicit": [1]}
    bw_spec = spec("baselines-wakeup", "idle pinned wakeup across runtimes",
                   {"runtime": ["timeslice", "threads", "swift-concurrency", "go", "cyclictest"], "max_procs": ["default"],
                    "preemption": ["async"], "time_slice": ["10ms"], "placement": [cpu1]}, idle)
    write_run("baselines-wakeup", "2025-01-02T05-00-00Z", bw_spec, lambda d: [
        config(d, {**ts("async", place=cpu1), "max_procs": "default"}, idle,
               samples=with_tail(rng, lognormal(rng, 4900, 45_000, 0.4), 0.002, 0.3e6, 1e6)),
        config(d, {"runtime": "threads", "placement": cpu1}, idle,
               samples=with_tail(rng, lognormal(rng, 4950, 25_000, 0.3), 0.002, 0.2e6, 0.8e6)),
        config(d, {"runtime": "swift-concurrency", "placement": cpu1}, idle,
               samples=with_tail(rng, lognormal(rng, 4900, 60_000, 0.4), 0.004, 0.3e6, 1.5e6)),
        config(d, {**gop("async"), "max_procs": "default", "placement": cpu1}, idle,
               samples=[int(rng.uniform(10_000, 1_000_000)) for _ in range(4500)]),
        config(d, {"runtime": "cyclictest", "placement": cpu1}, idle, status="unavailable",
               reason="cyclictest not installed (Debian package rt-tests)", elapsed=0.1),
    ])

    write_bench("2025-01-02T06-00-00Z", rng)
    write_server_run(random.Random(20261201))
    print(f"wrote {OUT}")


def write_server_run(rng: random.Random) -> None:
    """server-bimodal: per-type histograms and the generator's counters (ServerRun.swift); the
    cooperative line's short p99 climbs with the load, the async one's stays low."""
    workload = {"kind": "server", "requests": [{"name": "short", "service": "1us", "fraction": 0.995},
                                               {"name": "long", "service": "500us", "fraction": 0.005}],
                "rate": "50%", "connections": 64, "capacity_probe": "300ms", "timeout": "1s"}
    s = spec("server-bimodal", "bimodal server vs offered load", {"runtime": ["timeslice", "threads", "go"],
             "preemption": ["cooperative", "async"], "time_slice": ["100us"], "rate": ["10%", "50%", "90%"]}, workload)

    def summary(samples: list[int]) -> dict:
        h = HdrHistogram(1, 60_000_000_000, 3)
        for v in samples:
            h.record_value(v)
        return summarize(h)

    def row(d: Path, point: dict, fraction: float, short_median: float, tail: float) -> dict:
        capacity = 40_000
        offered = int(capacity * fraction)
        n = offered // 2  # a 0.5 s synthetic window
        short = with_tail(rng, lognormal(rng, n, short_median, 0.4), 0.02, tail / 2, tail)
        long_ = lognormal(rng, max(n // 200, 2), 520_000, 0.1)
        c = config(d, point, workload, samples=short,
                   counters={"capacity_per_second": capacity, "offered_per_second": offered,
                             "achieved_per_second": int(offered * 0.99), "dropped": int(n * fraction * 0.01),
                             "timeouts": 0, "requests": n + len(long_), "generator_lag_max_ns": 200_000})
        c["histograms"] = {"latency_short_ns": c["latency_ns"], "latency_long_ns": summary(long_),
                           "generator_lag_ns": summary(lognormal(rng, n, 5_000, 0.5))}
        return c

    def points(d: Path) -> list[dict]:
        out = []
        for rate, f in (("10%", 0.1), ("50%", 0.5), ("90%", 0.9)):
            ts = {"runtime": "timeslice", "max_procs": "default", "placement": "none", "lock_os_thread": False, "rate": rate}
            out.append(row(d, {**ts, "preemption": "cooperative", "time_slice": "100us"}, f, 30_000 + 400_000 * f, 600_000))
            out.append(row(d, {**ts, "preemption": "async", "time_slice": "100us"}, f, 30_000 + 20_000 * f, 150_000))
            out.append(row(d, {"runtime": "threads", "placement": "none", "rate": rate}, f, 40_000 + 60_000 * f, 300_000))
            out.append(config(d, {"runtime": "go", "max_procs": "default", "preemption": "async", "placement": "none",
                                  "lock_os_thread": False, "rate": rate}, workload,
                              status="unavailable", reason="go not installed"))
        return out

    write_run("server-bimodal", "2025-01-02T07-00-00Z", s, points)


if __name__ == "__main__":
    main()
