// timeslice-go-baseline: the real Go runtime running the lab's workloads, so that a Timeslice
// number can be read beside the number of the runtime it imitates (issue 7, "go" baseline).
//
// One process runs one workload and prints one JSON object on stdout (see README.md). The
// runtime knobs are Go's own and are read, never set, here: GOMAXPROCS and
// GODEBUG=asyncpreemptoff=1 from the environment, CPU placement from the affinity the process
// was started with (taskset). The JSON reports what the runtime actually used.
//
// Measurement follows the lab:
//   - A warm-up is run and discarded; the window then ends after a duration or a number of
//     samples, as in experiment files (window.go).
//   - The lab runs this program as the `go` runtime of its workloads and builds every
//     histogram itself: -samples hands it every sample, and the wakeup workload's -events every
//     wake-up, unaggregated (events.go). -beacon shares a progress counter that the lab's
//     starvation monitor watches as it watches its own probes (beacon.go).
//   - Starvation is a result, not a hang: the hogs watch the probe's heartbeat (hogs.go).
//
// Files: clock.go (time line), window.go, beacon.go, hogs.go, osthread.go (thread lock, timer
// slack, CPU affinity), events.go, one file per workload, flags.go, output.go (JSON, -samples).
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
)

// Exit codes, as the lab's CLI: 0 a result was produced (even "starved"), 64 bad usage, 1 failure.
const (
	exitUsage   = 64
	exitFailure = 1
)

func fail(code int, format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "timeslice-go-baseline: "+format+"\n", args...)
	os.Exit(code)
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage()
		if len(os.Args) < 2 {
			os.Exit(exitUsage)
		}
		return
	}
	var def *workloadDef
	for i := range workloads {
		if workloads[i].name == os.Args[1] {
			def = &workloads[i]
		}
	}
	if def == nil {
		usage()
		fail(exitUsage, "unknown workload %q", os.Args[1])
	}
	var c common
	fs := flag.NewFlagSet(def.name, flag.ContinueOnError)
	def.flags(fs, &c)
	if err := fs.Parse(os.Args[2:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		os.Exit(exitUsage)
	}
	if fs.NArg() > 0 {
		fail(exitUsage, "%s: unexpected argument %q", def.name, fs.Arg(0))
	}
	params := map[string]interface{}{}
	fs.VisitAll(func(f *flag.Flag) {
		if !fileFlags[f.Name] {
			params[f.Name] = f.Value.String()
		}
	})
	if err := validate(def.name, &c); err != nil {
		fail(exitUsage, "%v", err)
	}

	if c.beacon != "" {
		if err := mapBeacon(c.beacon); err != nil {
			fail(exitFailure, "-beacon %s: %v", c.beacon, err)
		}
	}

	godebug := os.Getenv("GODEBUG")
	out := output{
		Workload: def.name, Status: "ok", GoVersion: runtime.Version(), GOMAXPROCS: runtime.GOMAXPROCS(0),
		GODEBUG: godebug, AsyncPreemption: asyncPreemptionOn(godebug), CPUsAllowed: allowedCPUs(),
		NumCPU: runtime.NumCPU(), Params: params, Warnings: []string{},
	}
	if (def.name == "starvation" || def.name == "yield") && out.GOMAXPROCS != 1 {
		out.Warnings = append(out.Warnings, fmt.Sprintf(
			"%s is meant for GOMAXPROCS=1 (got %d): with more Ps the goroutines do not compete for one P", def.name, out.GOMAXPROCS))
	}
	if def.name == "wakeup" && c.hogs > 0 && c.hogs >= out.GOMAXPROCS && !out.AsyncPreemption {
		out.Warnings = append(out.Warnings, "hogs >= GOMAXPROCS with async preemption off: the probe can only run when a hog stops")
	}

	var r result
	switch def.name {
	case "wakeup":
		r = runWakeup(&c)
	case "starvation":
		r = runStarvation(&c)
	case "pingpong-chan":
		r = runPingPongChan(&c)
	case "yield":
		r = runYield(&c)
	case "spawn-join":
		r = runSpawnJoin(&c)
	case "throughput":
		r = runThroughput(&c)
	case "parked-rss":
		r, r.err = runParkedRSS(&c)
	case "server":
		r = runServer(&c)
	}
	if r.err != nil {
		fail(exitFailure, "%s: %v", def.name, r.err)
	}
	if r.starved != "" {
		out.Status, out.Reason = "starved", r.starved
	}
	out.LatencyMeaning = r.meaning
	if len(r.samples) > 0 { // null when there are none: "no samples" is not zero latency
		out.LatencyNs = &latency{Count: len(r.samples)}
	}
	out.Values = r.values
	out.Warnings = append(out.Warnings, r.warnings...)
	out.report(r.probe)
	// The files are complete before the JSON is printed, starved or not.
	if c.events != "" && r.events != nil {
		if err := writeEvents(c.events, r.events); err != nil {
			fail(exitFailure, "writing %s: %v", c.events, err)
		}
		out.Events = c.events
	}
	if c.samples != "" && r.hasLatency {
		if err := writeSamples(c.samples, r.samples); err != nil {
			fail(exitFailure, "writing %s: %v", c.samples, err)
		}
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fail(exitFailure, "writing JSON: %v", err)
	}
}
