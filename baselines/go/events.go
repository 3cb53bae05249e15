package main

import (
	"bufio"
	"fmt"
	"os"
)

// The -events file of the wakeup workload: what the probe did, unaggregated, in absolute
// CLOCK_MONOTONIC nanoseconds (see clock.go), so that the lab can do its own warm-up, window and
// missed-period accounting and compare the times with its own clock:
//
//	window <start_ns> <warmup_end_ns> <end_ns> <interval_ns>
//	<deadline_ns> <wake_ns>            one line per wake-up of the probe, warm-up included
//	...
//	stall <detected_at_ns>             only when the probe starved: when the hogs decided so
//
// end_ns is 0 for iteration runs (-iterations). Deadlines are start + k × interval, ascending;
// wake_ns is when the probe ran again after sleeping towards the deadline (≥ deadline).

// event is one wake-up of the probe, in now() nanoseconds.
type event struct {
	deadline int64
	wake     int64
}

type eventLog struct {
	window   window
	interval int64
	events   []event
	stallAt  int64 // absolute CLOCK_MONOTONIC ns; 0 when the probe did not starve
}

func writeEvents(path string, l *eventLog) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<16)
	end := int64(0)
	if l.window.end != 0 {
		end = absolute(l.window.end)
	}
	fmt.Fprintf(w, "window %d %d %d %d\n", absolute(l.window.start), absolute(l.window.warmupEnd), end, l.interval)
	for _, e := range l.events {
		fmt.Fprintf(w, "%d %d\n", absolute(e.deadline), absolute(e.wake))
	}
	if l.stallAt != 0 {
		fmt.Fprintf(w, "stall %d\n", l.stallAt)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
