#!/usr/bin/env bash
# The preemption-safety scenarios (ordinary Swift code under async preemption at a 50 µs
# slice) run RUNS times each in a child under a deadline; prints one markdown row per
# scenario: passed/total at maxProcs 1 and 4 (lazy statics: per mode as well).
# Usage: scripts/preemption-safety-table.sh [RUNS] (default 20); needs `swift build --build-tests`.
set -u
RUNS=${1:-20}
BIN=${BIN:-.build/debug/TimeslicePackageTests.xctest}
DEADLINE=${DEADLINE:-30}
[ -x "$BIN" ] || { echo "no $BIN: run swift build --build-tests first" >&2; exit 2; }

# run VAR VALUE TEST -> prints "pass/RUNS" (a run passes when it exits 0 and says OK)
run() {
    local variable=$1 value=$2 test=$3 pass=0
    for _ in $(seq 1 "$RUNS"); do
        out=$(env "$variable=$value" timeout -s KILL "$DEADLINE" "$BIN" "$test" 2>&1)
        [ $? -eq 0 ] && echo "$out" | grep -q "^OK" && pass=$((pass + 1))
    done
    echo "$pass/$RUNS"
}

echo "| scenario | maxProcs 1 | maxProcs 4 |"
echo "|---|---|---|"
for s in mutex errorcheck recursive nslock nsrecursivelock rwlock spinlock nscondition syncmutex-nopreempt; do
    t=TimesliceTests.LockAwarenessTests/testLockScenarioChild
    echo "| lock: $s (async 50 µs) | $(run TIMESLICE_LOCK_CHILD "$s:1" $t) | $(run TIMESLICE_LOCK_CHILD "$s:4" $t) |"
done
for k in sleep yield channel nested spin; do
    for m in cooperative async; do
        t=TimesliceTests.LazyStaticTests/testLazyStaticChild
        echo "| lazy static, initializer $k ($m$([ $m = async ] && echo ' 50 µs')) | $(run TIMESLICE_ONCE_CHILD "$k:$m:1" $t) | $(run TIMESLICE_ONCE_CHILD "$k:$m:4" $t) |"
    done
done
for s in deep sigmask sighandler; do
    t=TimesliceTests.SafePointTests/testSafePointScenarioChild
    echo "| safe points: $s (async 1 ms, maxProcs 1 only) | $(run TIMESLICE_SAFEPOINT_CHILD "$s" $t) | — |"
done
