package main

import (
	"testing"
	"time"
)

func TestDurationWindow(t *testing.T) {
	c := &common{warmup: 10, duration: 50}
	w := windowAt(100, c)
	if w.start != 100 || w.warmupEnd != 110 || w.end != 160 {
		t.Fatalf("window %+v", w)
	}
	if !w.inWarmup(109) || w.inWarmup(110) {
		t.Error("warm-up must end at warmupEnd, exclusive")
	}
	if w.over(159, 1<<30) || !w.over(160, 0) {
		t.Error("a duration window is over at end, whatever was recorded")
	}
}

func TestIterationWindow(t *testing.T) {
	c := &common{warmup: 10, duration: 50, iterations: 5}
	w := windowAt(100, c)
	if w.end != 0 || w.warmupEnd != 110 {
		t.Fatalf("window %+v", w)
	}
	if w.over(1<<40, 4) || !w.over(0, 5) {
		t.Error("an iteration window is over after `iterations` samples, whatever the time")
	}
	if w.expected(time.Nanosecond) != 5 {
		t.Errorf("expected = %d, want 5", w.expected(time.Nanosecond))
	}
}

func TestEventCapacityCoversEveryPeriod(t *testing.T) {
	ms := int64(time.Millisecond)
	if n := eventCapacity(windowAt(0, &common{warmup: 200 * time.Millisecond, duration: 3 * time.Second}), ms); n < 3200 {
		t.Errorf("duration run: capacity %d < 3200 periods", n)
	}
	if n := eventCapacity(windowAt(0, &common{warmup: 10 * time.Millisecond, iterations: 100}), ms); n < 110 {
		t.Errorf("iteration run: capacity %d < 10 warm-up periods + 100", n)
	}
}
