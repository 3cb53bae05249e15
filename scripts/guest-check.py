#!/usr/bin/env python3
"""Asserts the facts `timeslice guest-selftest --guest PROFILE` printed (scripts/guest-test.sh).

usage: guest-check.py numa2|isolated REPORT.json
Prints one line per checked fact and exits 1 listing every failed check.
"""
import json
import os
import sys

failures = []


def check(condition, what, detail=""):
    print(("  ok    " if condition else "  FAIL  ") + what + (f"  [{detail}]" if detail else ""))
    if not condition:
        failures.append(what)


def check_common(report, facts):
    check(report.get("status") == 0, "the self-test exited 0 in the guest", f"status {report.get('status')}")
    check(facts.get("errors") == [], "the self-test reported no errors", "; ".join(facts.get("errors", [])))
    check(report.get("boot_seconds") is not None, "the host timed the boot (qemu start to the init's first line)",
          f"{report.get('boot_seconds')} s, {report.get('accelerator')}: {report.get('accelerator_reason')}")


def check_numa2(report, facts):
    nodes = {n["id"]: n for n in facts["nodes"]}
    check(sorted(nodes) == [0, 1], "the guest has NUMA nodes 0 and 1", str(sorted(nodes)))
    check(nodes.get(0, {}).get("cpus") == [0, 1] and nodes.get(1, {}).get("cpus") == [2, 3],
          "node 0 holds CPUs 0-1, node 1 CPUs 2-3", json.dumps(facts["nodes"]))
    check(nodes.get(0, {}).get("distances") == [10, 20] and nodes.get(1, {}).get("distances") == [20, 10],
          "sysfs distances are the profile's 10/20")
    env = facts["env_text"]
    check("NUMA node 0       CPUs 0-1" in env and "distances 10 20" in env
          and "NUMA node 1       CPUs 2-3" in env and "distances 20 10" in env,
          "`timeslice env` reports both nodes with their distances",
          " | ".join(l for l in env.splitlines() if l.startswith("NUMA")))
    placed = facts.get("numa_placement") or {}
    check(placed.get("placement") == "numa(1)" and placed.get("samples", 0) > 0, "workers placed with numa(1) ran goroutines",
          f"{placed.get('samples')} samples")
    check(placed.get("cpus_seen") and set(placed["cpus_seen"]) <= {2, 3}, "getcpu: every goroutine ran on node 1's CPUs",
          f"CPUs seen {placed.get('cpus_seen')}")
    check(placed.get("stack_nodes") == [1], "move_pages: every goroutine stack page is on node 1",
          f"stack nodes {placed.get('stack_nodes')}")
    check(placed.get("placement_errors") == [], "the kernel confirmed every pin (sched_getaffinity)")
    refusal = facts.get("missing_node_refusal") or ""
    check("NUMA node 2 does not exist (nodes: 0-1)" in refusal, "numa(2) is refused naming the nodes that exist", refusal)
    samples = facts.get("steal_order") or []
    check(len(samples) == 12, "steal order sampled for 4 Ps x 3 seeds", str(len(samples)))
    for s in samples:
        nodes_visited = [v["node"] for v in s["victims"]]
        own = s["thief_node"]
        first_round = nodes_visited[:3]
        ok = (own == (0 if s["thief"] < 2 else 1) and len(first_round) == 3
              and first_round[0] == own and all(n != own for n in first_round[1:]))
        check(ok, f"P{s['thief']} (node {own}) seed {s['seed']}: the node-local victim comes first",
              " ".join(f"P{v['victim']}@{v['node']}" for v in s["victims"][:3]))


def check_isolated(report, facts):
    check(facts.get("isolated_cpus") == [2, 3], "the guest's kernel isolates CPUs 2-3", str(facts.get("isolated_cpus")))
    env = facts["env_text"]
    check("sysfs isolated    2-3" in env, "`timeslice env` reports CPUs 2-3 isolated",
          " | ".join(l for l in env.splitlines() if "isol" in l))
    placed = facts.get("isolated_placement") or {}
    check(placed.get("cpus_seen") and set(placed["cpus_seen"]) <= {2, 3},
          "placement isolated: every goroutine ran on CPUs 2-3 (getcpu)", f"CPUs seen {placed.get('cpus_seen')}")
    check(placed.get("placement_errors") == [], "the kernel confirmed every pin (sched_getaffinity)")
    check(not any("not isolated" in w for w in placed.get("host_warnings", [])),
          "no \"not isolated\" warning for the isolated placement", "; ".join(placed.get("host_warnings", [])))
    study = facts.get("isolcpus_study") or {}
    warnings = study.get("warnings", [])
    check(bool(study) and not any("no isolated CPUs" in w for w in warnings),
          "the isolcpus study ran without degrading to compact", "; ".join(warnings))
    isolated_rows = [c for c in study.get("configs", []) if "place=isolated" in c["id"]]
    check(len(isolated_rows) == 2 and all(c["status"] == "ok" for c in isolated_rows),
          "both runtimes' place=isolated rows finished ok", ", ".join(f"{c['id']}: {c['status']}" for c in isolated_rows))
    check(all(c.get("worker_cpus") and all(set(s) <= {2, 3} for s in c["worker_cpus"]) for c in isolated_rows),
          "their workers were pinned to CPUs 2-3", str([c.get("worker_cpus") for c in isolated_rows]))
    emulated = report.get("accelerator") == "tcg"
    if emulated:
        check(any("guest under TCG" in w for w in warnings), "results.json warns that TCG latencies are emulated")
        rows = [l for l in study.get("table", "").splitlines() if l.startswith("rt=")]
        check(rows and all("emulated" in l for l in rows), "every row of the printed table is marked emulated", f"{len(rows)} rows")
    runs = report.get("runs", [])
    check(len(runs) == 1, "the study's run directory came back to the host", str(runs))
    if runs:
        doc = json.load(open(os.path.join(runs[0], "results.json")))
        guest = doc.get("guest") or {}
        check(guest.get("profile", {}).get("name") == "isolated" and "isolcpus=2,3" in (guest.get("kernel_command_line") or "")
              and guest.get("boot_seconds") is not None and guest.get("emulated") == emulated,
              "results.json records the guest: profile, kernel command line, accelerator, boot time",
              f"{guest.get('accelerator')}, boot {guest.get('boot_seconds')} s, cmdline {guest.get('kernel_command_line')}")
        check(doc.get("environment", {}).get("isolatedCPUs") == "2-3",
              "results.json environment (the guest's sysfs) has CPUs 2-3 isolated", str(doc.get("environment", {}).get("isolatedCPUs")))
        check(os.path.getsize(os.path.join(runs[0], "console.log")) > 0, "the guest console is kept as console.log")


def main():
    profile, path = sys.argv[1], sys.argv[2]
    report = json.load(open(path))
    facts = report.get("facts") or {}
    print(f"guest-test {profile}: {report.get('accelerator')} ({report.get('accelerator_reason')}), "
          f"boot {report.get('boot_seconds')} s, {report.get('wall_seconds')} s in all")
    check_common(report, facts)
    {"numa2": check_numa2, "isolated": check_isolated}[profile](report, facts)
    if failures:
        print(f"guest-test {profile}: {len(failures)} check(s) failed: " + "; ".join(failures))
        sys.exit(1)
    print(f"guest-test {profile}: all checks passed")


if __name__ == "__main__":
    main()
