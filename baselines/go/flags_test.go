package main

import (
	"flag"
	"io"
	"reflect"
	"testing"
	"time"
)

func TestLabDurationParsesExperimentFileDurations(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"50us": 50 * time.Microsecond, "1.5ms": 1500 * time.Microsecond, "3s": 3 * time.Second,
		"1m": time.Minute, " 2ms ": 2 * time.Millisecond, "1500000ns": 1500 * time.Microsecond, "0s": 0,
	} {
		var d time.Duration
		if err := (labDuration{&d}).Set(in); err != nil || d != want {
			t.Errorf("labDuration(%q) = %v, %v; want %v", in, d, err, want)
		}
	}
	for _, in := range []string{"", "abc", "5", "-1ms", "1 ms"} {
		d := 7 * time.Second
		if err := (labDuration{&d}).Set(in); err == nil {
			t.Errorf("labDuration(%q) accepted as %v", in, d)
		} else if d != 7*time.Second {
			t.Errorf("labDuration(%q) failed but changed the value to %v", in, d)
		}
	}
}

func TestParseCPUListAsTaskset(t *testing.T) {
	for in, want := range map[string][]int{
		"0-1,3": {0, 1, 3}, "1": {1}, "3,1,1-2": {1, 2, 3}, " 0-0 ": {0}, "1023": {1023}, "4-6": {4, 5, 6},
	} {
		got, err := parseCPUList(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("parseCPUList(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "1-0", "a", "1,", "-1", "1024", "0-", "1-2-3", "0x1"} {
		if got, err := parseCPUList(in); err == nil {
			t.Errorf("parseCPUList(%q) accepted as %v", in, got)
		}
	}
	for in, want := range map[string]string{"0-1,3": "0-1,3", "3,2,1": "1-3", "0,2,4-5": "0,2,4-5", "7": "7"} {
		cpus, _ := parseCPUList(in)
		if got := formatCPUList(cpus); got != want {
			t.Errorf("formatCPUList(parseCPUList(%q)) = %q, want %q", in, got, want)
		}
	}
}

// parse runs the flag declarations of workload `name` over args, as main does.
func parse(t *testing.T, name string, args ...string) (*common, error) {
	t.Helper()
	for _, def := range workloads {
		if def.name == name {
			var c common
			fs := flag.NewFlagSet(name, flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			def.flags(fs, &c)
			if err := fs.Parse(args); err != nil {
				return nil, err
			}
			return &c, validate(name, &c)
		}
	}
	t.Fatalf("no workload %q", name)
	return nil, nil
}

func TestWakeupFlags(t *testing.T) {
	c, err := parse(t, "wakeup", "-interval", "500us", "-probe_cpus", "0-1,3", "-events", "ev.txt",
		"-hogs", "2", "-hog_kind", "polling", "-warmup", "0s", "-iterations", "10")
	if err != nil {
		t.Fatal(err)
	}
	if c.interval != 500*time.Microsecond || !reflect.DeepEqual(c.probeCPUs, []int{0, 1, 3}) || c.events != "ev.txt" ||
		c.hogs != 2 || c.hogKind != hogPolling || c.warmup != 0 || c.iterations != 10 {
		t.Errorf("parsed %+v", *c)
	}
	if c, err = parse(t, "wakeup"); err != nil || c.probeCPUs != nil || c.interval != time.Millisecond ||
		c.duration != 3*time.Second || c.warmup != 200*time.Millisecond || c.starvationTimeout != 3*time.Second {
		t.Errorf("defaults: %+v, %v", c, err)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"wakeup", "-hgrm", "x"},             // removed
		{"wakeup", "-probe_cpus", "1-0"},     // not a list
		{"wakeup", "-interval", "5us"},       // below 10us
		{"wakeup", "-hog_kind", "spinning"},  // no such kind
		{"wakeup", "-hogs", "-1"},            // negative
		{"wakeup", "-duration", "0s"},        // nothing to measure
		{"starvation", "-events", "x"},       // wakeup only
		{"spawn-join", "-batch", "0"},        // out of range
		{"throughput", "-work_unit", "10"},   // out of range
		{"parked-rss", "-goroutines", "0"},   // out of range
		{"pingpong-chan", "-warmup", "-1ms"}, // negative duration
	} {
		if _, err := parse(t, args[0], args[1:]...); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
