package main

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strings"
)

// result is what a workload returns: its samples (nanoseconds), named values and, for probes, a
// starvation reason ("" when the probe kept running).
type result struct {
	samples    []int64
	values     map[string]interface{}
	starved    string
	meaning    string
	hasLatency bool         // false: the workload has no latency samples (parked-rss)
	events     *eventLog    // wakeup: every wake-up, for -events
	probe      *probeReport // wakeup: the probe thread's timer slack and CPUs
	warnings   []string
	err        error // the measurement could not be made (exit 1)
}

// output is the one JSON object printed on stdout; README.md documents it.
type output struct {
	Workload           string                 `json:"workload"`
	Status             string                 `json:"status"`
	Reason             string                 `json:"reason,omitempty"`
	GoVersion          string                 `json:"go_version"`
	GOMAXPROCS         int                    `json:"gomaxprocs"`
	GODEBUG            string                 `json:"godebug"`
	AsyncPreemption    bool                   `json:"async_preemption"`
	CPUsAllowed        []int                  `json:"cpus_allowed"`
	NumCPU             int                    `json:"num_cpu"`
	Params             map[string]interface{} `json:"params"`
	LatencyMeaning     string                 `json:"latency_meaning"`
	LatencyNs          *latency               `json:"latency_ns"`
	Values             map[string]interface{} `json:"values"`
	TimerSlack         *timerSlackOut         `json:"timer_slack,omitempty"`
	ProbeCPUsRequested []int                  `json:"probe_cpus_requested,omitempty"`
	ProbeCPUsVerified  []int                  `json:"probe_cpus_verified,omitempty"`
	ProbeCPUObserved   *int                   `json:"probe_cpu_observed,omitempty"`
	Events             string                 `json:"events,omitempty"`
	Warnings           []string               `json:"warnings"`
}

// latency is results.json `latency_ns`, reduced to the sample count: the lab builds its
// histogram from -samples (or -events) itself and checks it holds `count` samples.
type latency struct {
	Count int `json:"count"`
}

// timerSlackOut is the wakeup probe's timer slack report (ns): set and read back on the probe
// thread and, at start, on the main thread; then read for every thread at the end of the run.
type timerSlackOut struct {
	ProbeThreadNs int64            `json:"probe_thread_ns"`
	ProbeTid      int              `json:"probe_tid"`
	MainThreadNs  int64            `json:"main_thread_ns"`
	Threads       map[string]int64 `json:"threads"`
}

// report copies what the wakeup probe found about its thread into the JSON.
func (o *output) report(p *probeReport) {
	if p == nil {
		return
	}
	o.TimerSlack = &timerSlackOut{ProbeThreadNs: p.TimerSlack, ProbeTid: p.Tid, MainThreadNs: p.MainThread, Threads: p.Threads}
	o.ProbeCPUsRequested = p.CPUsRequested
	o.ProbeCPUsVerified = p.CPUsVerified
	if p.CPUObserved >= 0 {
		cpu := p.CPUObserved
		o.ProbeCPUObserved = &cpu
	}
}

// asyncPreemptionOn reads GODEBUG as the runtime does: the last asyncpreemptoff setting wins.
func asyncPreemptionOn(godebug string) bool {
	on := true
	for _, kv := range strings.Split(godebug, ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(kv), "="); ok && k == "asyncpreemptoff" {
			on = v != "1"
		}
	}
	return on
}

// writeSamples sorts the samples and writes them as "value count" lines (ns, ascending), one
// line per distinct value: lossless and small, so the lab can record every sample into its own
// HdrHistogram.
func writeSamples(path string, samples []int64) error {
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for i := 0; i < len(samples); {
		j := i
		for j < len(samples) && samples[j] == samples[i] {
			j++
		}
		fmt.Fprintf(w, "%d %d\n", samples[i], j-i)
		i = j
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
