package main

import (
	"runtime"
	"sync/atomic"
	"time"
)

// yield: two goroutines pass a turn with an atomic and runtime.Gosched. At GOMAXPROCS=1 every
// Gosched switches to the other goroutine, so one round trip is two switches; with more Ps the
// goroutines spin on separate Ps and this measures cross-CPU handoff instead (a warning says so).
func runYield(c *common) result {
	var turn atomic.Int32
	var done atomic.Bool
	var gosched atomic.Uint64
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		var calls uint64
		for {
			for turn.Load() != 1 {
				runtime.Gosched()
				calls++
			}
			if done.Load() {
				gosched.Add(calls)
				return
			}
			turn.Store(0)
		}
	}()
	lockIfAsked(c)
	w := newWindow(c)
	var calls uint64
	samples := measureBackToBack(w, 100*time.Nanosecond, func() {
		turn.Store(1)
		for turn.Load() != 0 {
			runtime.Gosched()
			calls++
		}
	})
	done.Store(true)
	turn.Store(1)
	<-finished
	sum := total(samples)
	values := map[string]interface{}{"round_trips": len(samples), "gosched_calls": calls + gosched.Load()}
	if len(samples) > 0 {
		values["ns_per_switch"] = float64(sum) / float64(2*len(samples))
	}
	return result{samples: samples, values: values, meaning: "round trip (two runtime.Gosched switches)", hasLatency: true}
}
