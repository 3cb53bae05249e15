#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for testing `timeslice slurm` / `run --shard` / `merge`
# against the real thing. Debian's slurm-wlm and munge (installed here when root and missing).
#   scripts/slurm-local.sh start DIR   -> prints the SLURM_CONF path on stdout; exit 77 with the
#                                         reason on stderr when no cluster can be had here
#   scripts/slurm-local.sh stop DIR    -> stops the daemons this script started for DIR
# The daemons' pid files, state and logs live in DIR; nothing is written under /etc.
set -uo pipefail
cmd="${1:-}"; dir="${2:-}"
[[ -n "$cmd" && -n "$dir" ]] || { echo "usage: $0 start|stop DIR" >&2; exit 64; }
skip() { echo "slurm-local: skipped: $*" >&2; exit 77; }

stop() {
    for f in slurmd slurmctld; do
        [[ -f "$dir/$f.pid" ]] && kill "$(cat "$dir/$f.pid")" 2>/dev/null
    done
    # munged is shared by the machine; only the one this script started is stopped.
    [[ -f "$dir/munged.started" ]] && pkill -x munged 2>/dev/null
    rm -f "$dir/munged.started"
    return 0
}

if [[ "$cmd" == stop ]]; then stop; exit 0; fi
[[ "$cmd" == start ]] || { echo "usage: $0 start|stop DIR" >&2; exit 64; }

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    [[ $(id -u) -eq 0 ]] || skip "slurm-wlm and munge are not installed and this is not root (apt-get install slurm-wlm munge)"
    command -v apt-get >/dev/null || skip "not a Debian system: install Slurm and munge"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null 2>&1 \
        || { apt-get update -qq >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null 2>&1; } \
        || skip "apt-get install slurm-wlm munge failed"
fi
[[ $(id -u) -eq 0 ]] || skip "starting slurmctld/slurmd needs root here"
mkdir -p "$dir/state" "$dir/spool" /run/munge
host=$(hostname -s)
cat > "$dir/slurm.conf" <<CONF
ClusterName=timeslicetest
SlurmctldHost=$host
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ReturnToService=2
MpiDefault=none
JobCompType=jobcomp/none
NodeName=$host CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
if ! pgrep -x munged >/dev/null; then
    chown munge:munge /run/munge 2>/dev/null
    [[ -f /etc/munge/munge.key ]] || skip "/etc/munge/munge.key is missing (the munge package creates it)"
    munged --force >/dev/null 2>&1 || skip "munged did not start"
    touch "$dir/munged.started"
fi
export SLURM_CONF="$dir/slurm.conf"
slurmctld >/dev/null 2>&1 || { stop; skip "slurmctld did not start (see $dir/slurmctld.log)"; }
slurmd >/dev/null 2>&1 || { stop; skip "slurmd did not start (see $dir/slurmd.log)"; }
for _ in $(seq 1 30); do
    if sinfo -h -o %T 2>/dev/null | grep -qx idle; then echo "$SLURM_CONF"; exit 0; fi
    sleep 1
done
stop
skip "the node did not become idle within 30 s (see $dir/slurmctld.log)"
