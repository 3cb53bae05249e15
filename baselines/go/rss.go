package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// rssBytes is the resident set from /proc/self/statm (second field, in pages).
func rssBytes() (int64, error) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, fmt.Errorf("/proc/self/statm: unexpected %q", string(b))
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("/proc/self/statm: %v", err)
	}
	return pages * int64(os.Getpagesize()), nil
}

// parked-rss: RSS growth per goroutine parked on a channel receive. Every goroutine has run
// (and so touched its stack) before RSS is read the second time.
func runParkedRSS(c *common) (result, error) {
	runtime.GC()
	before, err := rssBytes()
	if err != nil {
		return result{}, err
	}
	var ms0 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	block := make(chan struct{})
	var started, exited sync.WaitGroup
	started.Add(c.goroutines)
	exited.Add(c.goroutines)
	t0 := time.Now()
	for i := 0; i < c.goroutines; i++ {
		go func() {
			started.Done()
			<-block
			exited.Done()
		}()
	}
	started.Wait()
	spawn := time.Since(t0)
	after, err := rssBytes()
	if err != nil {
		return result{}, err
	}
	var ms1 runtime.MemStats
	runtime.ReadMemStats(&ms1)
	parked := runtime.NumGoroutine()
	close(block)
	exited.Wait()
	n := float64(c.goroutines)
	return result{meaning: "none (parked-rss measures memory)", values: map[string]interface{}{
		"goroutines":                      c.goroutines,
		"goroutines_alive_when_measured":  parked,
		"rss_before_bytes":                before,
		"rss_after_bytes":                 after,
		"rss_bytes_per_goroutine":         float64(after-before) / n,
		"stack_inuse_bytes_per_goroutine": float64(ms1.StackInuse-ms0.StackInuse) / n,
		"spawn_ns_per_goroutine":          float64(spawn.Nanoseconds()) / n,
	}}, nil
}
