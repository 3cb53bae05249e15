package main

import (
	"fmt"
	"time"
)

// starvation: the classic Go demonstration. One tight-loop hog and a probe that sleeps 1 ms
// (relative) in a loop; lateness = time asleep - interval. Meant for GOMAXPROCS=1: with async
// preemption the hog is preempted after Go's 10 ms time slice and lateness is about that;
// with GODEBUG=asyncpreemptoff=1 the probe never runs again and the result is "starved".
func runStarvation(c *common) result {
	hb := &heartbeat{timeout: int64(c.starvationTimeout)}
	hb.last.Store(now())
	w := newWindow(c)
	samples := make([]int64, 0, w.expected(c.interval))
	var warmupSamples uint64
	done := make(chan struct{})
	var stopHogs func() uint64
	go func() {
		defer close(done)
		lockIfAsked(c)
		// Started from the probe's goroutine so that the hog is in the run queue while the probe
		// sleeps, whatever P the main goroutine is on.
		stopHogs = startHogs(c.hogs, c.hogKind, hb)
		for {
			t0 := now()
			time.Sleep(c.interval)
			t := now()
			hb.last.Store(t)
			beat()
			if hb.starved.Load() {
				return
			}
			late := t - t0 - int64(c.interval)
			if late < 0 {
				late = 0
			}
			if w.inWarmup(t0) {
				warmupSamples++
			} else {
				samples = append(samples, late)
			}
			if w.over(t, len(samples)) {
				return
			}
		}
	}()
	<-done
	rounds := stopHogs()
	r := result{samples: samples, meaning: "probe sleep lateness (slept - interval)", hasLatency: true,
		values: map[string]interface{}{"samples_warmup_discarded": warmupSamples, "hog_rounds": rounds}}
	if hb.starved.Load() {
		r.starved = fmt.Sprintf("probe never ran within %v", c.starvationTimeout)
	}
	return r
}
