package main

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"
)

// throughput: `tasks` goroutines each repeat a unit of `work_unit` xorshift rounds (the lab's
// unit); a sample is the time of one unit. An iteration budget is shared: each goroutine stops
// once its own count times `tasks` reaches it, as in the lab.
func runThroughput(c *common) result {
	tasks := c.tasks
	if tasks == 0 {
		tasks = runtime.GOMAXPROCS(0)
	}
	w := newWindow(c)
	per := make([][]int64, tasks)
	var wg sync.WaitGroup
	for i := 0; i < tasks; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			lockIfAsked(c)
			samples := make([]int64, 0, w.expected(time.Duration(c.workUnit)/4)) // a round takes ~0.4 ns
			x := uint64(0x9E3779B97F4A7C15) + uint64(i)
			for {
				t0 := now()
				for r := 0; r < c.workUnit; r++ {
					x ^= x << 13
					x ^= x >> 7
					x ^= x << 17
				}
				t1 := now()
				beat()
				if !w.inWarmup(t0) {
					samples = append(samples, t1-t0)
				}
				if w.over(t1, len(samples)*tasks) {
					break
				}
			}
			if x == 42 { // keeps x live; practically never true
				fmt.Fprintln(os.Stderr, "throughput: x == 42")
			}
			per[i] = samples
		}(i)
	}
	wg.Wait()
	end := now()
	var all []int64
	for _, s := range per {
		all = append(all, s...)
	}
	measured := float64(end-w.warmupEnd) / 1e9
	values := map[string]interface{}{"tasks": tasks, "units": len(all)}
	if measured > 0 {
		values["units_per_second"] = float64(len(all)) / measured
	}
	return result{samples: all, values: values, meaning: "time per work unit", hasLatency: true}
}
