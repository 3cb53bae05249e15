package main

import (
	"fmt"
	"runtime"
	"time"
)

// wakeup: a goroutine sleeps to absolute deadlines `interval` apart and records, for every
// wake-up (warm-up included), the deadline and the time it woke. Go has no absolute sleep, so
// each period sleeps for deadline - now; deadlines do not drift because they are computed from
// the start, not from the last wake. Deadlines missed by more than a period are skipped, as
// cyclictest and the lab do.
//
// The probe is a measuring instrument, set up the same way whatever the flags:
//   - it is locked to its OS thread (runtime.LockOSThread), always;
//   - that thread's timer slack is 1 ns (prctl), so that the kernel does not defer its wake-ups
//     by up to the default 50 µs to batch them;
//   - with -probe_cpus, that thread is pinned there (sched_setaffinity). The hogs are
//     goroutines, which the runtime moves between threads, so they cannot be pinned.
//
// The lab reads the events (-events, see events.go) and does its own warm-up, window and
// missed-period accounting. The lateness samples (-samples) and `missed_periods` are computed
// here too, as before, for older readers.
func runWakeup(c *common) result {
	hb := &heartbeat{timeout: int64(c.starvationTimeout)}
	hb.last.Store(now())
	// Before the hogs and the probe start: every existing thread to 1 ns (see setEveryThreadSlack).
	slackErr := setEveryThreadSlack(1)
	w := newWindow(c)
	interval := int64(c.interval)
	stopHogs := startHogs(c.hogs, c.hogKind, hb)
	samples := make([]int64, 0, w.expected(c.interval))
	events := make([]event, eventCapacity(w, interval))
	for i := 0; i < len(events); i += 256 {
		events[i].deadline = 1 // touches every page now, so that recording does not fault them in
	}
	events = events[:0]
	var missed, warmupSamples uint64
	probe := &probeReport{CPUsRequested: c.probeCPUs, CPUObserved: -1}
	var setupErr error
	done, release := make(chan struct{}), make(chan struct{})
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		probe.Tid = gettid()
		if err := setTimerSlack(1); err != nil {
			setupErr = fmt.Errorf("prctl(PR_SET_TIMERSLACK, 1): %v", err)
			close(done)
			return
		}
		probe.TimerSlack, _ = timerSlack()
		if c.probeCPUs != nil {
			if err := setAffinity(c.probeCPUs); err != nil {
				setupErr = fmt.Errorf("-probe_cpus %s: sched_setaffinity: %v", formatCPUList(c.probeCPUs), err)
				close(done)
				return
			}
		}
		probe.CPUsVerified = affinity()

		inWindow := 0
		next := w.start + interval
		for {
			if d := next - now(); d > 0 {
				time.Sleep(time.Duration(d))
			}
			t := now()
			events = append(events, event{next, t})
			hb.last.Store(t)
			beat()
			if hb.starved.Load() {
				break // the hogs gave the CPU back: this wake is in the events, not a sample
			}
			if w.inWarmup(next) {
				warmupSamples++
			} else {
				inWindow++
				late := t - next
				if late < 0 {
					late = 0
				}
				samples = append(samples, late)
			}
			if w.end == 0 && inWindow >= w.iterations {
				break
			}
			next += interval
			for next < t { // deadlines already passed are skipped, not slept to
				if w.end == 0 || next < w.end {
					missed++ // counted when they belong to the run
				}
				next += interval
			}
			if w.end != 0 && next >= w.end {
				break
			}
		}
		probe.CPUObserved = currentCPU()
		close(done)
		<-release // main reads every thread's timer slack while this one still exists
	}()
	<-done
	rounds := stopHogs()
	r := result{samples: samples, meaning: "wake-up lateness (actual - intended)", hasLatency: true,
		values: map[string]interface{}{"missed_periods": missed, "samples_warmup_discarded": warmupSamples,
			"hog_rounds": rounds, "probe_locked_os_thread": 1, "wakeups": len(events),
			"clock_base_uncertainty_ns": baseUncertainty},
		probe: probe, err: setupErr}
	if setupErr == nil {
		r.events = &eventLog{window: w, interval: interval, events: events}
		var err error
		if probe.Threads, err = threadSlacks(); err != nil {
			r.warnings = append(r.warnings, err.Error())
		}
		if slackErr != nil {
			r.warnings = append(r.warnings, slackErr.Error())
		}
		if probe.MainThread = mainThreadSlack; mainThreadSlack < 0 {
			r.warnings = append(r.warnings, "timer slack was not set on the main thread at start")
		}
	}
	close(release)
	if hb.starved.Load() {
		r.starved = fmt.Sprintf("probe never ran within %v", c.starvationTimeout)
		if r.events != nil {
			r.events.stallAt = hb.starvedAt.Load()
		}
	}
	return r
}

// probeReport is what the wakeup probe's thread found out about itself, for the JSON.
type probeReport struct {
	Tid           int
	TimerSlack    int64            // read back on the probe thread after setting 1 ns
	MainThread    int64            // read back on the main thread by init; -1 when not set
	Threads       map[string]int64 // tid -> timer slack ns, every thread at the end of the run
	CPUsRequested []int            // -probe_cpus, nil when not given
	CPUsVerified  []int            // the probe thread's affinity after pinning (sched_getaffinity)
	CPUObserved   int              // getcpu on the probe thread after its last wake-up
}

// eventCapacity is enough events for the whole run (warm-up included), so that recording never
// allocates: one per period at most.
func eventCapacity(w window, interval int64) int {
	var n int64
	if w.end != 0 {
		n = (w.end - w.start) / interval
	} else {
		n = (w.warmupEnd-w.start)/interval + int64(w.iterations)
	}
	if n > 50_000_000 {
		n = 50_000_000
	}
	return int(n) + 2
}
