#!/usr/bin/env python3
"""Compares the micro-benchmarks of two builds of timeslice: is B slower than A?

usage: compare-micro-builds.py [--rounds N] [--seed S] A_BINARY B_BINARY

Why not just run `timeslice bench --only micro` once with each: on this VM one
binary's figures move by up to 40 % between invocations (yield at 1 P is bimodal,
~110 or ~150 ns) and, worse, between byte-identical copies of one binary file
(measured: yield at 2 Ps, one copy 123-140 ns in 4 runs, a `cp` of it 147-199 ns
in 4 runs, interleaved). So a single run per build, or a bisect building one file
per commit, measures which copy it got. This script:
  - runs each build from a fresh copy of its file in every round (so each round
    samples the placement effect instead of keeping one draw for the whole study),
  - interleaves the two in ABBA order (drift over the session cancels),
  - pairs A and B by round and prints, per benchmark and maxProcs, both medians
    and the ratio B/A of the paired medians with a seeded bootstrap 95 % interval,
  - judges it: "B slower" when the whole interval is above 1, "B faster" when it
    is below, "no difference shown" when it contains 1.
Each run is `bench --only micro --no-baselines --json` under a 10-minute deadline;
the copies live in a temporary directory removed on exit (Ctrl-C included).
"""
import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile

BENCHMARKS = ["yield_ns", "chan_ns", "spawn_join_ns"]
RUN_DEADLINE_SECONDS = 600


def run_copy(binary, directory, name):
    copy = os.path.join(directory, name)
    shutil.copyfile(binary, copy)
    os.chmod(copy, 0o755)
    try:
        out = subprocess.run([copy, "bench", "--only", "micro", "--no-baselines", "--json"],
                             capture_output=True, text=True, timeout=RUN_DEADLINE_SECONDS)
    finally:
        os.unlink(copy)
    if out.returncode != 0:
        sys.exit(f"{binary}: bench exited {out.returncode}: {out.stderr.strip()[-500:]}")
    report = json.loads(out.stdout)
    return {(r["max_procs"], b): r[b] for r in report["results"] for b in BENCHMARKS}


def ratio_interval(pairs, rng, resamples=2000):
    """Bootstrap 95 % interval of median(B)/median(A) over rounds resampled in pairs."""
    ratios = []
    for _ in range(resamples):
        sample = [pairs[rng.randrange(len(pairs))] for _ in pairs]
        ratios.append(statistics.median(b for _, b in sample) / statistics.median(a for a, _ in sample))
    ratios.sort()
    return ratios[int(0.025 * resamples)], ratios[int(0.975 * resamples) - 1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    for path in (args.a, args.b):
        if not os.access(path, os.X_OK):
            sys.exit(f"{path}: not an executable file (give the path of a built timeslice binary)")
    if args.rounds < 3:
        sys.exit("--rounds: at least 3 (an interval needs some rounds to resample)")

    rounds = []
    with tempfile.TemporaryDirectory(prefix="timeslice-compare-micro-") as directory:
        for i in range(args.rounds):
            order = ["a", "b"] if i % 2 == 0 else ["b", "a"]
            got = {}
            for which in order:
                got[which] = run_copy(getattr(args, which), directory, f"{which}-{i}")
            rounds.append(got)
            print(f"round {i + 1}/{args.rounds} done", file=sys.stderr)

    rng = random.Random(args.seed)
    print(f"A = {args.a}\nB = {args.b}\n{args.rounds} rounds, fresh file copies, ABBA order")
    print(f"{'benchmark':<16} {'procs':>5} {'A median':>9} {'B median':>9} {'B/A':>6}  95 % interval   verdict")
    for key in sorted(rounds[0]["a"], key=lambda k: (BENCHMARKS.index(k[1]), k[0])):
        procs, bench = key
        pairs = [(r["a"][key], r["b"][key]) for r in rounds]
        a_median = statistics.median(a for a, _ in pairs)
        b_median = statistics.median(b for _, b in pairs)
        low, high = ratio_interval(pairs, rng)
        verdict = "B slower" if low > 1 else "B faster" if high < 1 else "no difference shown"
        print(f"{bench:<16} {procs:>5} {a_median:>9.1f} {b_median:>9.1f} {b_median / a_median:>6.2f}  "
              f"[{low:.2f}..{high:.2f}]    {verdict}")


if __name__ == "__main__":
    main()
