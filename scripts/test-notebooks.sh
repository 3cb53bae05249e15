#!/usr/bin/env bash
# Test: every notebook runs headless against the fixture run Tests/Fixtures/results-small/ and
# draws what it should. Used by `make test`. Exits non-zero on any failure.
#
# The fixture is copied to a temporary directory first, so the PNGs the notebooks write do not
# land in the committed fixture. After the one-time pip install, the execution must finish
# within $NOTEBOOK_TEST_TIMEOUT seconds (default 180).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
fixture="Tests/Fixtures/results-small"
limit="${NOTEBOOK_TEST_TIMEOUT:-180}"
fail() { echo "test-notebooks: FAIL: $*" >&2; exit 1; }

[ -d "$fixture" ] || fail "$fixture is missing (python3 Tests/Fixtures/make_fixture.py writes it)"
work="$(mktemp -d "${TMPDIR:-/tmp}/timeslice-notebooks.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cp -R "$fixture" "$work/results"

# Install (or confirm) the venv outside the deadline: a cold pip install is network-bound.
if [ ! -x .venv/bin/jupyter ] || [ "$(cat .venv/.requirements.sha256 2>/dev/null)" != "$(sha256sum requirements.txt | cut -d' ' -f1)" ]; then
    # A run against an empty root installs the requirements and executes nothing measurable.
    mkdir -p "$work/empty"
    NOTEBOOKS_OUT="$work/out-empty" scripts/notebooks.sh "$work/empty" >/dev/null
fi

start=$(date +%s)
REQUIRE_RUNS=1 NOTEBOOKS_OUT="$work/out" timeout --signal=KILL "$limit" scripts/notebooks.sh "$work/results" \
    || fail "scripts/notebooks.sh failed or exceeded ${limit}s against the fixture"
elapsed=$(( $(date +%s) - start ))

# Every notebook drew its figures into the newest run of its experiments.
expect() { # run-directory png...
    local dir="$work/results/$1"; shift
    for png in "$@"; do
        [ -s "$dir/$png" ] || fail "$1/$png was not written"
        [ "$(head -c 8 "$dir/$png" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] || fail "$dir/$png is not a PNG"
    done
}
expect quickstart/2025-01-02T00-00-00Z quickstart-percentiles.png quickstart-cdf.png quickstart-outcome.png
expect timeslice-sweep/2025-01-02T01-00-00Z timeslice-sweep-percentiles.png timeslice-sweep-cdf.png timeslice-sweep-vs-slice.png
expect pinned-vs-unpinned/2025-01-02T02-00-00Z pinned-vs-unpinned-percentiles.png pinned-vs-unpinned-cdf.png pinned-vs-unpinned-placement.png
expect open-loop-tail/2025-01-02T03-00-00Z open-loop-tail-percentiles.png open-loop-tail-cdf.png open-loop-tail-tail.png
expect baselines-starvation/2025-01-02T04-00-00Z baselines-starvation-percentiles.png baselines-starvation-cdf.png baselines-starvation-runtimes.png
expect baselines-wakeup/2025-01-02T05-00-00Z baselines-wakeup-percentiles.png baselines-wakeup-cdf.png baselines-wakeup-runtimes.png
expect bench/2025-01-02T06-00-00Z bench-micro.png
expect server-bimodal/2025-01-02T07-00-00Z server-bimodal-percentiles.png server-bimodal-cdf.png server-bimodal-load.png \
    server-bimodal-load-p999.png

# The older quickstart run must not have been chosen.
if ls "$work/results/quickstart/2025-01-01T00-00-00Z"/*.png >/dev/null 2>&1; then
    fail "a notebook read the older quickstart run instead of the newest"
fi

# Non-ok configurations are shown with status and reason, and the fixture is self-consistent.
RESULTS="$work/results" OUT="$work/out" PYTHONPATH="$repo/notebooks" .venv/bin/python - <<'PY' || exit 1
import json, os, sys
from pathlib import Path
import timeslice_plots as tp

root, out = Path(os.environ["RESULTS"]), Path(os.environ["OUT"])
problems = []
for exp in ("quickstart", "timeslice-sweep", "pinned-vs-unpinned", "open-loop-tail", "baselines-starvation", "baselines-wakeup",
            "server-bimodal"):
    run = tp.newest_run(root, exp)
    problems += [f"{exp}: {p}" for p in tp.verify_run(run)]
    table = tp.config_table(run)
    for _, row in table[table["status"] != "ok"].iterrows():
        # A non-ok row shows no number, except the censored samples of a stalled probe, which
        # are shown as lower bounds only ("≥").
        shown = [row[k] for k in ("p50", "p99", "max") if row[k]]
        if any(not str(v).startswith("≥") for v in shown) or not row["reason"]:
            problems.append(f"{exp}: {row['config']} ({row['status']}) shows numbers that are not lower bounds, or lacks a reason")
    censored = [c for c in run.configs if tp.is_censored(c)]
    if exp == "quickstart" and not censored:
        problems.append("quickstart: the fixture's starved row lost its censored samples")

def text_of(nb):
    cells = json.loads((out / nb).read_text())["cells"]
    return "\n".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", "")) + str(o.get("data", {}).get("text/html", ""))
                     for c in cells for o in c.get("outputs", []))

for nb, needles in {"starvation.ipynb": ["starved", "probe never ran within 3s", "FIXTURE"],
                    "open-loop-tails.ipynb": ["timeout", "killed by the watchdog"],
                    "baselines.ipynb": ["starved", "rt=go", "rt=swift-concurrency", "rt=threads",
                                        "cyclictest not installed", "unavailable: go not installed", "swift-concurrency/2"],
                    "server.ipynb": ["achieved_per_s_within_slo", "rt=timeslice,preempt=async", "rt=threads"]}.items():
    text = text_of(nb)
    problems += [f"{nb}: output lacks {n!r}" for n in needles if n not in text]
# The slow-request classifier, on a synthetic trace and request log with one request of each
# class (times in µs after the origin; a 100 µs slice, so a run over 300 µs is not enforced).
origin = 1_000_000_000
runs = [(0, 50), (1000, 1500), (2000, 2100), (2100, 2200), (2200, 2400), (3390, 3400), (3900, 4000)]
trace = {"otherData": {"origin_monotonic_ns": origin},
         "traceEvents": [{"ph": "M", "tid": 0, "args": {"name": "M0"}}, {"ph": "M", "tid": 1, "args": {"name": "sysmon"}}]
                        + [{"ph": "X", "tid": 0, "ts": a, "dur": b - a} for a, b in runs]
                        + [{"ph": "X", "tid": 1, "ts": 2500, "dur": 1000}]}  # sysmon's track is not an M's
us = lambda t: origin + int(t * 1000)
requests = [(us(100), us(400), us(450), 0),      # sent 300 µs late of 350: the generator
            (us(1100), us(1100), us(1490), 0),   # during the 500 µs run: slice not enforced
            (us(3000), us(3000), us(3400), 0),   # Ms ran 10 of 400 µs: waking
            (us(2000), us(2000), us(2400), 0),   # Ms busy throughout: queued
            (us(2000), us(2000), us(2400), 1),   # not a short request
            (us(5000), us(5000), us(5100), 0)]   # after the trace's span
got = tp.classify_slow_requests(trace, requests, slice_ns=100_000, fraction=1.0)
want = {"requests": 4, "generator late": 1, "slice not enforced": 1, "server waking": 1, "queued behind slices": 1}
if {k: got.get(k) for k in want} != want:
    problems.append(f"classify_slow_requests: {got}, expected {want}")
# The disturbed mark is the lab's `disturbed` field as written, not a second reading of the thresholds.
server = tp.newest_run(root, "server-bimodal")
ok = [c for c in server.configs if c.get("status") == "ok"]
for c in ok:
    c.pop("disturbed", None)
ok[0]["disturbed"] = "server CPU others 1 permille"   # below every threshold: only the field can say it
marks = tp.server_table(server)["disturbed"].tolist()
if marks[0] != "server CPU others 1 permille" or any(isinstance(m, str) for m in marks[1:]):
    problems.append(f"server_table disturbed marks: {marks}")
if problems:
    print("test-notebooks: FAIL:\n  " + "\n  ".join(problems), file=sys.stderr)
    sys.exit(1)
PY

echo "test-notebooks: ok (6 notebooks against $fixture in ${elapsed}s)"
