package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// The test binary doubles as the program: with this variable set it runs main() with its own
// arguments, so the tests can check a whole run (flags, files, JSON, exit status) as the lab sees it.
const runMainVariable = "TIMESLICE_GO_BASELINE_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainVariable) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runProgram runs the program with args and extra environment; it returns stdout and the exit status.
func runProgram(t *testing.T, env []string, args ...string) ([]byte, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), runMainVariable+"=1"), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return out, exit.ExitCode()
	} else if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return out, 0
}

func TestProgramWakeupRun(t *testing.T) {
	dir := t.TempDir()
	events, samples := filepath.Join(dir, "events.txt"), filepath.Join(dir, "samples.txt")
	cpu := allowedCPUs()[0]
	out, code := runProgram(t, nil, "wakeup", "-warmup", "5ms", "-duration", "20ms", "-interval", "1ms",
		"-events", events, "-samples", samples, "-probe_cpus", strconv.Itoa(cpu))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	var j map[string]interface{}
	if err := json.Unmarshal(out, &j); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if j["status"] != "ok" || j["events"] != events {
		t.Errorf("status %v, events %v", j["status"], j["events"])
	}
	if _, ok := j["hgrm"]; ok {
		t.Error("hgrm is gone")
	}
	lat := j["latency_ns"].(map[string]interface{})
	if len(lat) != 1 {
		t.Errorf("latency_ns = %v, want count only", lat)
	}
	// The lab checks the samples file against latency_ns.count.
	n := 0
	sf, err := os.Open(samples)
	if err != nil {
		t.Fatal(err)
	}
	defer sf.Close()
	for s := bufio.NewScanner(sf); s.Scan(); {
		f := strings.Fields(s.Text())
		c, err := strconv.Atoi(f[1])
		if len(f) != 2 || err != nil {
			t.Fatalf("samples line %q", s.Text())
		}
		n += c
	}
	if float64(n) != lat["count"] {
		t.Errorf("samples file holds %d, latency_ns.count is %v", n, lat["count"])
	}
	f := readEvents(t, events)
	checkEvents(t, f)
	inWindow := 0
	for _, d := range f.deadlines {
		if d >= f.warmupEnd {
			inWindow++
		}
	}
	if inWindow != n {
		t.Errorf("%d events in the window, %d samples", inWindow, n)
	}
	slack := j["timer_slack"].(map[string]interface{})
	if slack["probe_thread_ns"] != 1.0 || slack["main_thread_ns"] != 1.0 {
		t.Errorf("timer_slack = %v", slack)
	}
	want := []interface{}{float64(cpu)}
	if !reflect.DeepEqual(j["probe_cpus_requested"], want) || !reflect.DeepEqual(j["probe_cpus_verified"], want) ||
		j["probe_cpu_observed"] != float64(cpu) {
		t.Errorf("probe CPUs: requested %v, verified %v, observed %v; want %d", j["probe_cpus_requested"],
			j["probe_cpus_verified"], j["probe_cpu_observed"], cpu)
	}
	if v := j["values"].(map[string]interface{}); v["probe_locked_os_thread"] != 1.0 {
		t.Errorf("values = %v", v)
	}
}

// With one P, no async preemption and a tight hog, the probe never runs again: the hogs notice,
// stop, and the run reports "starved" (exit 0) with the stall in the events file.
func TestProgramWakeupStarved(t *testing.T) {
	events := filepath.Join(t.TempDir(), "events.txt")
	out, code := runProgram(t, []string{"GOMAXPROCS=1", "GODEBUG=asyncpreemptoff=1"}, "wakeup", "-hogs", "1",
		"-warmup", "0s", "-duration", "10s", "-starvation_timeout", "100ms", "-events", events)
	var j map[string]interface{}
	if err := json.Unmarshal(out, &j); code != 0 || err != nil {
		t.Fatalf("exit %d, %v: %s", code, err, out)
	}
	if j["status"] != "starved" {
		t.Fatalf("status %v, want starved", j["status"])
	}
	f := readEvents(t, events)
	if f.stall == 0 || f.stall < f.start {
		t.Errorf("stall at %d (window start %d)", f.stall, f.start)
	}
	checkEvents(t, f)
}

func TestProgramUsageAndFailureExitCodes(t *testing.T) {
	for _, c := range []struct {
		code int
		args []string
	}{
		{exitUsage, []string{"wakeup", "-hgrm", "x"}},
		{exitUsage, []string{"wakeup", "-probe_cpus", "1-0"}},
		{exitUsage, []string{"no-such-workload"}},
		{exitUsage, []string{}},
		{exitFailure, []string{"wakeup", "-probe_cpus", "1023", "-duration", "5ms", "-warmup", "0s"}},
	} {
		if _, code := runProgram(t, nil, c.args...); code != c.code {
			t.Errorf("%v: exit %d, want %d", c.args, code, c.code)
		}
	}
}
