package main

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
)

// Hogs burn CPU beside a probe. Starvation is a result, not a hang: with GOMAXPROCS=1 and async
// preemption off, a tight loop is never preempted and nothing else in the process can run, not
// even a watchdog goroutine. So the hogs themselves watch the probe's heartbeat and give the CPU
// back once the probe has been silent for -starvation_timeout. They read the clock with
// rawMonotonic (no stack check, hence no cooperative preemption point), so the watching does not
// change whether the hog can be preempted.

type hogKind int

const (
	hogTight   hogKind = iota // pure arithmetic: only async preemption (SIGURG) can stop it
	hogPolling                // calls a function with a stack check each round: Go's cooperative point
	hogAlloc                  // heap allocation each round: mallocgc is a preemption point, and GC work
	hogSyscall                // getppid(2) through syscall.Syscall: the P is handed off in the kernel
)

var hogKinds = map[string]hogKind{"tight": hogTight, "polling": hogPolling, "alloc": hogAlloc, "syscall": hogSyscall}

// allocSink keeps allocations alive long enough that the compiler cannot drop them.
var allocSink []byte

//go:noinline
func pollLeaf(x uint64) uint64 { return x*2654435761 + 1 }

// pollHook is not a leaf, so the compiler gives it a stack-check prologue: the place where Go's
// cooperative preemption (stackguard0 = stackPreempt) takes effect.
//
//go:noinline
func pollHook(x uint64) uint64 { return pollLeaf(x) ^ x }

// heartbeat is the probe's "I ran" signal, in now() nanoseconds, read by the hogs.
type heartbeat struct {
	last    atomic.Int64
	starved atomic.Bool
	stop    atomic.Bool
	timeout int64
	// starvedAt is the absolute CLOCK_MONOTONIC time (ns) at which a hog decided that the probe
	// starved; 0 while it has not.
	starvedAt atomic.Int64
}

// hog burns CPU until hb.stop, or until the probe has been silent for hb.timeout (then it sets
// hb.starved, stops every hog and returns). Returns the rounds done.
func hog(kind hogKind, hb *heartbeat) uint64 {
	var ts syscall.Timespec
	x := uint64(0x2545F4914F6CDD1D)
	var rounds uint64
	for !hb.stop.Load() {
		switch kind {
		case hogTight:
			// About 10 µs of xorshift, as the lab's hog; each round feeds the next.
			for i := 0; i < 4000; i++ {
				x ^= x << 13
				x ^= x >> 7
				x ^= x << 17
			}
		case hogPolling:
			for i := 0; i < 4000; i++ {
				x ^= x << 13
				x ^= x >> 7
				x ^= x << 17
			}
			x = pollHook(x)
		case hogAlloc:
			for i := 0; i < 16; i++ {
				b := make([]byte, 64+int(x&4095))
				b[0] = byte(x)
				allocSink = b
				x += uint64(b[len(b)-1])
				x ^= x << 13
				x ^= x >> 7
				x ^= x << 17
			}
		case hogSyscall:
			for i := 0; i < 8; i++ {
				x += uint64(syscall.Getppid())
			}
		}
		rounds++
		if rounds&7 == 0 {
			abs := rawMonotonic(&ts)
			if abs-rawBase-hb.last.Load() > hb.timeout {
				hb.starvedAt.CompareAndSwap(0, abs) // the first hog to notice sets the time
				hb.starved.Store(true)
				hb.stop.Store(true)
			}
		}
	}
	if x == 42 { // keeps x live; practically never true
		fmt.Fprintln(os.Stderr, "hog: x == 42")
	}
	return rounds
}

// startHogs starts n hog goroutines and returns a function that stops them and returns their
// total rounds.
func startHogs(n int, kind hogKind, hb *heartbeat) func() uint64 {
	var wg sync.WaitGroup
	var total atomic.Uint64
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			total.Add(hog(kind, hb))
		}()
	}
	return func() uint64 {
		hb.stop.Store(true)
		wg.Wait()
		return total.Load()
	}
}
