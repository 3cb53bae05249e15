package main

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// eventsFile is a parsed -events file.
type eventsFile struct {
	start, warmupEnd, end, interval int64
	deadlines, wakes                []int64
	stall                           int64 // 0: no stall line
}

func readEvents(t *testing.T, path string) eventsFile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	if !strings.HasSuffix(text, "\n") {
		t.Fatalf("%s does not end with a newline", path)
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	var f eventsFile
	head := strings.Fields(lines[0])
	if len(head) != 5 || head[0] != "window" {
		t.Fatalf("first line %q, want \"window <start_ns> <warmup_end_ns> <end_ns> <interval_ns>\"", lines[0])
	}
	for i, p := range []*int64{&f.start, &f.warmupEnd, &f.end, &f.interval} {
		if *p, err = strconv.ParseInt(head[i+1], 10, 64); err != nil {
			t.Fatalf("first line %q: %v", lines[0], err)
		}
	}
	for i, line := range lines[1:] {
		fields := strings.Fields(line)
		if len(fields) == 2 && fields[0] == "stall" {
			if i != len(lines)-2 {
				t.Fatalf("stall line %q is not the last line", line)
			}
			f.stall, err = strconv.ParseInt(fields[1], 10, 64)
			if err != nil || f.stall <= 0 {
				t.Fatalf("stall line %q", line)
			}
			continue
		}
		if len(fields) != 2 || strings.Join(fields, " ") != line {
			t.Fatalf("line %d %q, want \"<deadline_ns> <wake_ns>\"", i+2, line)
		}
		d, err1 := strconv.ParseInt(fields[0], 10, 64)
		w, err2 := strconv.ParseInt(fields[1], 10, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("line %d %q: not two integers", i+2, line)
		}
		f.deadlines, f.wakes = append(f.deadlines, d), append(f.wakes, w)
	}
	return f
}

// checkEvents asserts what holds for every run, however late the wake-ups.
func checkEvents(t *testing.T, f eventsFile) {
	t.Helper()
	if f.interval <= 0 || f.warmupEnd < f.start || (f.end != 0 && f.end <= f.warmupEnd) {
		t.Fatalf("window %d %d %d %d", f.start, f.warmupEnd, f.end, f.interval)
	}
	if len(f.deadlines) == 0 {
		t.Fatal("no wake-ups")
	}
	if f.deadlines[0] != f.start+f.interval {
		t.Errorf("first deadline %d, want start + interval = %d", f.deadlines[0], f.start+f.interval)
	}
	for i, d := range f.deadlines {
		if (d-f.start)%f.interval != 0 {
			t.Errorf("deadline %d is not start + k × interval", i)
		}
		if i > 0 && d <= f.deadlines[i-1] {
			t.Errorf("deadline %d (%d) does not follow %d", i, d, f.deadlines[i-1])
		}
		if i > 0 && d-f.interval > f.wakes[i-1] {
			t.Errorf("deadline %d skips a period that was not missed (previous wake %d)", i, f.wakes[i-1])
		}
		// Both are on one time line (now() + rawBase), and time.Sleep never returns early.
		if f.wakes[i] < d {
			t.Errorf("wake-up %d at %d, before its deadline %d", i, f.wakes[i], d)
		}
		if f.end != 0 && d >= f.end {
			t.Errorf("deadline %d (%d) at or after the end %d", i, d, f.end)
		}
	}
}

func rawNow() int64 { return rawMonotonic(new(syscall.Timespec)) }

func TestWakeupEventsFile(t *testing.T) {
	c := &common{warmup: 10 * time.Millisecond, duration: 50 * time.Millisecond, interval: time.Millisecond,
		starvationTimeout: time.Minute}
	before := rawNow()
	r := runWakeup(c)
	after := rawNow()
	if r.err != nil || r.starved != "" {
		t.Fatalf("err %v, starved %q", r.err, r.starved)
	}
	path := filepath.Join(t.TempDir(), "events.txt")
	if err := writeEvents(path, r.events); err != nil {
		t.Fatal(err)
	}
	f := readEvents(t, path)
	checkEvents(t, f)
	// Absolute CLOCK_MONOTONIC: within the run as seen by clock_gettime, give or take the
	// uncertainty of the base.
	if f.start < before-baseUncertainty || f.wakes[len(f.wakes)-1] > after+baseUncertainty {
		t.Errorf("window start %d / last wake %d outside the run [%d, %d] on CLOCK_MONOTONIC", f.start, f.wakes[len(f.wakes)-1], before, after)
	}
	if f.warmupEnd-f.start != int64(c.warmup) || f.end-f.warmupEnd != int64(c.duration) || f.interval != int64(c.interval) {
		t.Errorf("window %d %d %d %d does not match warm-up %v, duration %v, interval %v", f.start, f.warmupEnd, f.end, f.interval,
			c.warmup, c.duration, c.interval)
	}
	if f.stall != 0 {
		t.Error("stall line without starvation")
	}
	// The last deadline is the last one before the end: the next would be at or after it.
	if last := f.deadlines[len(f.deadlines)-1]; last+f.interval < f.end && f.wakes[len(f.wakes)-1] < f.end-f.interval {
		t.Errorf("stopped at deadline %d, well before the end %d", last, f.end)
	}
	// The old aggregates agree with the events.
	inWindow, missed := 0, int64(0)
	for i, d := range f.deadlines {
		if d >= f.warmupEnd {
			inWindow++
		}
		if i > 0 {
			missed += (d-f.deadlines[i-1])/f.interval - 1
		}
	}
	// After the last wake-up, the deadlines it had already passed, up to the end, were missed too.
	last, lastWake := f.deadlines[len(f.deadlines)-1], f.wakes[len(f.wakes)-1]
	for d := last + f.interval; d < lastWake && d < f.end; d += f.interval {
		missed++
	}
	if len(r.samples) != inWindow || r.values["wakeups"] != len(f.deadlines) {
		t.Errorf("%d samples, %v wakeups; the events have %d in the window, %d in all", len(r.samples), r.values["wakeups"], inWindow, len(f.deadlines))
	}
	if fmt.Sprint(r.values["missed_periods"]) != fmt.Sprint(missed) {
		t.Errorf("missed_periods %v, the events skip %d", r.values["missed_periods"], missed)
	}
	if r.values["probe_locked_os_thread"] != 1 {
		t.Errorf("probe_locked_os_thread = %v", r.values["probe_locked_os_thread"])
	}
}

func TestWakeupIterationRun(t *testing.T) {
	c := &common{warmup: 3 * time.Millisecond, iterations: 5, interval: time.Millisecond, starvationTimeout: time.Minute}
	r := runWakeup(c)
	if r.err != nil || r.starved != "" {
		t.Fatalf("err %v, starved %q", r.err, r.starved)
	}
	path := filepath.Join(t.TempDir(), "events.txt")
	if err := writeEvents(path, r.events); err != nil {
		t.Fatal(err)
	}
	f := readEvents(t, path)
	checkEvents(t, f)
	if f.end != 0 {
		t.Errorf("end_ns = %d, want 0 for an iteration run", f.end)
	}
	inWindow := 0
	for _, d := range f.deadlines {
		if d >= f.warmupEnd {
			inWindow++
		}
	}
	if inWindow != 5 || f.deadlines[len(f.deadlines)-1] < f.warmupEnd {
		t.Errorf("%d wake-ups in the window, want 5, the last one ending the run", inWindow)
	}
}

func TestProbeTimerSlackIsOneNanosecond(t *testing.T) {
	r := runWakeup(&common{warmup: 0, duration: 5 * time.Millisecond, interval: time.Millisecond, starvationTimeout: time.Minute})
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.probe.TimerSlack != 1 {
		t.Errorf("timer slack read back on the probe thread: %d ns, want 1", r.probe.TimerSlack)
	}
	// The per-thread readout names the probe thread, with the same value (reading another
	// thread's value needs CAP_SYS_NICE; without it the thread is left out and a warning says so).
	if v, ok := r.probe.Threads[strconv.Itoa(r.probe.Tid)]; ok && v != 1 {
		t.Errorf("/proc/%d/timerslack_ns = %d, want 1", r.probe.Tid, v)
	} else if !ok && len(r.warnings) == 0 {
		t.Errorf("probe thread %d missing from the readout %v without a warning", r.probe.Tid, r.probe.Threads)
	}
	// Every thread, the ones the runtime started before init included, unless a warning says
	// which could not be set (no CAP_SYS_NICE).
	if len(r.warnings) == 0 {
		for tid, v := range r.probe.Threads {
			if v != 1 {
				t.Errorf("thread %s has timer slack %d ns, want 1 on every thread", tid, v)
			}
		}
	}
}

func TestProbeCPUsPinTheProbeThread(t *testing.T) {
	allowed := allowedCPUs()
	if len(allowed) == 0 {
		t.Skip("sched_getaffinity failed")
	}
	cpu := allowed[len(allowed)-1]
	r := runWakeup(&common{warmup: 0, duration: 3 * time.Millisecond, interval: time.Millisecond,
		starvationTimeout: time.Minute, probeCPUs: []int{cpu}})
	if r.err != nil {
		t.Fatal(r.err)
	}
	if !reflect.DeepEqual(r.probe.CPUsRequested, []int{cpu}) || !reflect.DeepEqual(r.probe.CPUsVerified, []int{cpu}) || r.probe.CPUObserved != cpu {
		t.Errorf("asked for %d: requested %v, verified %v, observed %d", cpu, r.probe.CPUsRequested, r.probe.CPUsVerified, r.probe.CPUObserved)
	}
	// The pinning is the probe thread's alone: this thread keeps the process's CPUs.
	if got := allowedCPUs(); !reflect.DeepEqual(got, allowed) {
		t.Errorf("the test's thread now has CPUs %v, had %v", got, allowed)
	}
}

func TestProbeCPUsOutsideTheProcessSetFail(t *testing.T) {
	r := runWakeup(&common{warmup: 0, duration: 3 * time.Millisecond, interval: time.Millisecond,
		starvationTimeout: time.Minute, probeCPUs: []int{1023}})
	if r.err == nil {
		t.Errorf("pinning to CPU 1023 succeeded (verified %v)", r.probe.CPUsVerified)
	}
}

func TestWriteEventsWithStall(t *testing.T) {
	w := window{start: 1000, warmupEnd: 3000}
	l := &eventLog{window: w, interval: 1000, events: []event{{2000, 2100}, {3000, 900000}}, stallAt: rawBase + 800000}
	path := filepath.Join(t.TempDir(), "events.txt")
	if err := writeEvents(path, l); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	a := func(v int64) int64 { return rawBase + v }
	want := fmt.Sprintf("window %d %d 0 1000\n%d %d\n%d %d\nstall %d\n", a(1000), a(3000), a(2000), a(2100), a(3000), a(900000), a(800000))
	if string(b) != want {
		t.Errorf("events file\n%s\nwant\n%s", b, want)
	}
	f := readEvents(t, path)
	if f.stall != a(800000) || len(f.deadlines) != 2 {
		t.Errorf("parsed %+v", f)
	}
}
