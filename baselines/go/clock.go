package main

import (
	"syscall"
	"time"
	"unsafe"
)

// Every timestamp of a run is now(): nanoseconds since base, read with time.Since, i.e.
// CLOCK_MONOTONIC through the vDSO (Go's monotonic clock reading). rawBase is the absolute
// CLOCK_MONOTONIC value at base, read with a real system call: rawBase + now() is the absolute
// CLOCK_MONOTONIC time, comparable with clock_gettime(CLOCK_MONOTONIC) in any other process.
//
// base is taken between two raw reads and rawBase is their midpoint, so the absolute times are
// off by at most half the tighter bracket (baseUncertainty, typically 100-500 ns, ≤ 1 µs on an
// idle machine); differences of now() values are exact.
var base, rawBase, baseUncertainty = clockBase()

func clockBase() (time.Time, int64, int64) {
	var ts syscall.Timespec
	var b time.Time
	raw, width := int64(0), int64(-1)
	for i := 0; i < 5; i++ { // the tightest of a few brackets: a preemption can widen one
		r0 := rawMonotonic(&ts)
		t := time.Now()
		r1 := rawMonotonic(&ts)
		if width < 0 || r1-r0 < width {
			b, raw, width = t, r0+(r1-r0)/2, r1-r0
		}
	}
	return b, raw, (width + 1) / 2
}

func now() int64 { return int64(time.Since(base)) }

// absolute converts a now() value to absolute CLOCK_MONOTONIC nanoseconds.
func absolute(t int64) int64 { return rawBase + t }

// rawMonotonic reads CLOCK_MONOTONIC with a real system call. Used by hogs, because it is not a
// preemption point: RawSyscall is NOSPLIT down to the SYSCALL instruction, so there is no stack
// check. ts is the caller's, so that hogs share no memory.
//
//go:nosplit
func rawMonotonic(ts *syscall.Timespec) int64 {
	syscall.RawSyscall(syscall.SYS_CLOCK_GETTIME, 1 /* CLOCK_MONOTONIC */, uintptr(unsafe.Pointer(ts)), 0)
	return ts.Sec*1e9 + ts.Nsec
}
