package main

import (
	"sync"
	"time"
)

// spawn-join: start `batch` goroutines that each signal a WaitGroup, and wait for all of them.
// A sample is one batch, as in the lab; ns_per_goroutine divides by the batch size.
func runSpawnJoin(c *common) result {
	lockIfAsked(c)
	w := newWindow(c)
	samples := make([]int64, 0, w.expected(time.Duration(c.batch)*300*time.Nanosecond))
	for {
		t0 := now()
		var wg sync.WaitGroup
		wg.Add(c.batch)
		for i := 0; i < c.batch; i++ {
			go wg.Done()
		}
		wg.Wait()
		t := now()
		beat()
		if !w.inWarmup(t0) {
			samples = append(samples, t-t0)
		}
		if w.over(t, len(samples)) {
			break
		}
	}
	sum := total(samples)
	values := map[string]interface{}{"batches": len(samples), "batch": c.batch}
	if len(samples) > 0 {
		values["ns_per_goroutine"] = float64(sum) / float64(len(samples)*c.batch)
	}
	return result{samples: samples, values: values, meaning: "spawn+join of one batch", hasLatency: true}
}
