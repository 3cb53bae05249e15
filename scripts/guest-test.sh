#!/usr/bin/env bash
# make guest-test (part of make test): boots one qemu guest per shipped profile and checks,
# from inside, what a one-node development host can only fake with sysfs trees:
#   numa2     NUMA placement (getcpu, move_pages), node-local steal order, numa(2) refused,
#             `timeslice env` with both nodes and their distances   (accelerator: auto, KVM probed)
#   isolated  isolated CPUs in `timeslice env`, `placement: isolated` pins there without the
#             "not isolated" warning, the isolcpus study runs without degrading to compact,
#             results.json records the guest and marks TCG latencies emulated   (accelerator: tcg)
# Needs qemu-system-x86, busybox-static and a /boot/vmlinuz-* (scripts/install-deps.sh --guest
# installs them as root) and the static build (make static-build). Skips, saying why, only when
# they are missing and cannot be installed. Usage: scripts/guest-test.sh TIMESLICE_STATIC_BINARY
set -uo pipefail
bin=${1:-.build-static/release/timeslice}
out=${GUEST_TEST_OUT:-.build-static/guest-test}

scripts/install-deps.sh --guest || true
missing=()
command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
[[ -x /bin/busybox ]] || missing+=(busybox-static)
ls /boot/vmlinuz-* >/dev/null 2>&1 || missing+=("a kernel image /boot/vmlinuz-* (linux-image-amd64)")
if [[ ${#missing[@]} -gt 0 ]]; then
    echo "guest-test: skipped: missing ${missing[*]} and not root to install them (sudo scripts/install-deps.sh --guest)"
    exit 0
fi
[[ -x $bin ]] || { echo "guest-test: $bin is missing; run make static-build" >&2; exit 1; }

elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
start=$(date +%s.%N)
status=0
for run in "numa2 auto" "isolated tcg"; do
    set -- $run
    profile=$1 accel=$2
    t0=$(date +%s.%N)
    # The self-test carries its own deadline (GuestSelftest.boot: qemu is killed after 600 s);
    # this one is the last resort.
    timeout -s KILL 900 "$bin" guest-selftest --guest "$profile" --accel "$accel" --out "$out" > "$out-$profile.json"
    rc=$?
    echo "guest-test $profile: guest-selftest exit $rc, $(elapsed "$t0") s wall"
    if ! python3 scripts/guest-check.py "$profile" "$out-$profile.json"; then
        status=1
        echo "guest-test $profile: console log: $out/$profile/console.log"
    fi
done
echo "guest-test: $(elapsed "$start") s for both guests"
exit $status
