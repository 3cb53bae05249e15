package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
)

// common holds every flag; each workload reads the ones it declares (see flagsFor).
type common struct {
	warmup            time.Duration
	duration          time.Duration
	iterations        int
	interval          time.Duration
	hogs              int
	hogKindName       string
	hogKind           hogKind
	starvationTimeout time.Duration
	batch             int
	goroutines        int
	tasks             int
	workUnit          int
	lockOSThread      bool
	samples           string
	beacon            string
	events            string // wakeup only
	probeCPUs         []int  // wakeup only; nil: the probe thread keeps the process's CPU set
	port              int    // server only
	conns             int    // server only
}

// labDuration parses durations written as in experiment files ("50us", "1.5ms", "3s", "1m");
// Go's own syntax is a superset, so negative values are the only extra thing refused.
type labDuration struct{ d *time.Duration }

func (l labDuration) String() string {
	if l.d == nil {
		return ""
	}
	return l.d.String()
}

func (l labDuration) Set(s string) error {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("not a duration like 50us, 1.5ms or 3s")
	}
	if d < 0 {
		return errors.New("must not be negative")
	}
	*l.d = d
	return nil
}

type workloadDef struct {
	name    string
	summary string
	flags   func(fs *flag.FlagSet, c *common) // declares this workload's flags and defaults
}

func timedFlags(fs *flag.FlagSet, c *common, duration time.Duration) {
	c.warmup, c.duration = 200*time.Millisecond, duration
	fs.Var(labDuration{&c.warmup}, "warmup", "warm-up discarded before measuring")
	fs.Var(labDuration{&c.duration}, "duration", "measurement length (ignored when -iterations is set)")
	fs.IntVar(&c.iterations, "iterations", 0, "measure this many samples instead of a duration")
	fs.StringVar(&c.samples, "samples", "", "also write every sample as \"value count\" lines (ns, ascending) to `FILE`")
	fs.StringVar(&c.beacon, "beacon", "", "add 1 per sample to the 64-bit word at the start of `FILE` (shared mapping)")
	fs.BoolVar(&c.lockOSThread, "lock_os_thread", false, "the measuring goroutine calls runtime.LockOSThread")
}

func probeFlags(fs *flag.FlagSet, c *common, hogs int) {
	c.interval, c.starvationTimeout = time.Millisecond, 3*time.Second
	fs.Var(labDuration{&c.interval}, "interval", "probe period")
	fs.IntVar(&c.hogs, "hogs", hogs, "number of CPU hog goroutines")
	fs.StringVar(&c.hogKindName, "hog_kind", "tight", "hog kind: tight, polling, alloc, syscall")
	fs.Var(labDuration{&c.starvationTimeout}, "starvation_timeout", "report starved when the probe is silent this long")
}

// wakeupFlags are the wakeup probe's own: its event log and its thread's CPUs.
func wakeupFlags(fs *flag.FlagSet, c *common) {
	fs.StringVar(&c.events, "events", "", "write every wake-up as \"deadline wake\" lines (absolute CLOCK_MONOTONIC ns) to `FILE`")
	fs.Var(cpuListFlag{&c.probeCPUs}, "probe_cpus", "pin the probe's thread to `LIST` (as taskset -c: 1, 0-1, 0-1,3)")
}

// cpuListFlag is a CPU list flag (-probe_cpus); empty means not given.
type cpuListFlag struct{ cpus *[]int }

func (f cpuListFlag) String() string {
	if f.cpus == nil || *f.cpus == nil {
		return ""
	}
	return formatCPUList(*f.cpus)
}

func (f cpuListFlag) Set(s string) error {
	cpus, err := parseCPUList(s)
	if err != nil {
		return err
	}
	*f.cpus = cpus
	return nil
}

var workloads = []workloadDef{
	{"wakeup", "periodic absolute-deadline timer in a goroutine, optional hogs; lateness in ns, every wake-up with -events",
		func(fs *flag.FlagSet, c *common) {
			timedFlags(fs, c, 3*time.Second)
			probeFlags(fs, c, 0)
			wakeupFlags(fs, c)
		}},
	{"starvation", "1 hog + a probe sleeping 1 ms in a loop (run with GOMAXPROCS=1); probe lateness in ns",
		func(fs *flag.FlagSet, c *common) { timedFlags(fs, c, 3*time.Second); probeFlags(fs, c, 1) }},
	{"pingpong-chan", "unbuffered channel ping-pong; round trip in ns, ns per handoff",
		func(fs *flag.FlagSet, c *common) { timedFlags(fs, c, 2*time.Second) }},
	{"yield", "runtime.Gosched ping-pong (run with GOMAXPROCS=1); round trip in ns, ns per switch",
		func(fs *flag.FlagSet, c *common) { timedFlags(fs, c, 2*time.Second) }},
	{"spawn-join", "spawn a batch of goroutines and join them; batch time in ns, ns per goroutine",
		func(fs *flag.FlagSet, c *common) {
			timedFlags(fs, c, 2*time.Second)
			fs.IntVar(&c.batch, "batch", 64, "goroutines per batch")
		}},
	{"throughput", "tasks goroutines repeating a unit of xorshift rounds; time per unit in ns, units per second",
		func(fs *flag.FlagSet, c *common) {
			timedFlags(fs, c, 2*time.Second)
			fs.IntVar(&c.tasks, "tasks", 0, "goroutines (0 = GOMAXPROCS)")
			fs.IntVar(&c.workUnit, "work_unit", 50000, "xorshift rounds per unit")
		}},
	{"server", "TCP request/response server on 127.0.0.1 (a goroutine per connection, the lab's 16-byte protocol); the lab's generator measures",
		func(fs *flag.FlagSet, c *common) {
			timedFlags(fs, c, 0) // accepted as for every workload; the server runs until its connections close
			fs.IntVar(&c.port, "port", 0, "TCP port to listen on (127.0.0.1)")
			fs.IntVar(&c.conns, "conns", 1, "exit after this many connections were accepted and closed")
		}},
	{"parked-rss", "RSS bytes per goroutine parked on a channel (from /proc/self/statm)",
		func(fs *flag.FlagSet, c *common) {
			fs.IntVar(&c.goroutines, "goroutines", 100000, "goroutines to park")
		}},
}

func usage() {
	fmt.Fprintf(os.Stderr, "usage: timeslice-go-baseline WORKLOAD [flags]\n\nworkloads:\n")
	for _, w := range workloads {
		fmt.Fprintf(os.Stderr, "  %-14s %s\n", w.name, w.summary)
	}
	fmt.Fprintf(os.Stderr, "\n`timeslice-go-baseline WORKLOAD -h` lists its flags. GOMAXPROCS, GODEBUG=asyncpreemptoff=1\n"+
		"and taskset are honoured as by any Go program; the JSON on stdout says what was in effect.\n")
}

// fileFlags name files, not parameters: they are left out of the JSON's params.
var fileFlags = map[string]bool{"samples": true, "beacon": true, "events": true}

// validate checks what the flag package cannot; its error is a usage error (exit 64).
func validate(name string, c *common) error {
	if c.hogKindName != "" {
		k, ok := hogKinds[c.hogKindName]
		if !ok {
			return fmt.Errorf("-hog_kind %q: one of tight, polling, alloc, syscall", c.hogKindName)
		}
		c.hogKind = k
	}
	switch {
	case c.iterations < 0:
		return errors.New("-iterations must be >= 0")
	case c.hogs < 0 || c.hogs > 256:
		return errors.New("-hogs must be in 0...256")
	case name == "spawn-join" && (c.batch < 1 || c.batch > 10000):
		return errors.New("-batch must be in 1...10000")
	case name == "throughput" && (c.tasks < 0 || c.tasks > 1024):
		return errors.New("-tasks must be in 0...1024")
	case name == "throughput" && (c.workUnit < 100 || c.workUnit > 100_000_000):
		return errors.New("-work_unit must be in 100...100000000")
	case name == "parked-rss" && c.goroutines < 1:
		return errors.New("-goroutines must be >= 1")
	case (name == "wakeup" || name == "starvation") && c.interval < 10*time.Microsecond:
		return errors.New("-interval must be at least 10us")
	case name == "server" && (c.port < 1 || c.port > 65535):
		return errors.New("-port must be in 1...65535")
	case name == "server" && (c.conns < 1 || c.conns > 4096):
		return errors.New("-conns must be in 1...4096")
	case c.iterations == 0 && c.duration == 0 && name != "parked-rss" && name != "server":
		return errors.New("-duration must be > 0 (or give -iterations)")
	}
	return nil
}
