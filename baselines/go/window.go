package main

import "time"

// window is the lab's MeasurementWindow: samples before warmupEnd are discarded; the window is
// over at end (duration runs) or once `iterations` samples are recorded (iteration runs). All
// times are now() values.
type window struct {
	start      int64
	warmupEnd  int64
	end        int64 // 0 for iteration runs
	iterations int
}

func newWindow(c *common) window {
	return windowAt(now(), c)
}

func windowAt(start int64, c *common) window {
	w := window{start: start, warmupEnd: start + int64(c.warmup), iterations: c.iterations}
	if c.iterations == 0 {
		w.end = w.warmupEnd + int64(c.duration)
	}
	return w
}

func (w window) inWarmup(t int64) bool { return t < w.warmupEnd }

func (w window) over(t int64, recorded int) bool {
	if w.end != 0 {
		return t >= w.end
	}
	return recorded >= w.iterations
}

// expected is a capacity hint so that recording does not allocate (and so does not start a GC
// that would have to stop a hog) in the middle of a run.
func (w window) expected(perSample time.Duration) int {
	if w.end == 0 {
		return w.iterations
	}
	n := int((w.end - w.warmupEnd) / int64(perSample))
	if n > 50_000_000 {
		n = 50_000_000
	}
	return n + 1024
}

// measureBackToBack runs op back to back until the window is over; a sample is the time between
// consecutive clock reads around one op (one clock read per op), beating once per op and
// discarding samples that began in the warm-up. perOp sizes the sample slice up front.
func measureBackToBack(w window, perOp time.Duration, op func()) []int64 {
	samples := make([]int64, 0, w.expected(perOp))
	prev := now()
	for {
		op()
		t := now()
		beat()
		if !w.inWarmup(prev) {
			samples = append(samples, t-prev)
		}
		prev = t
		if w.over(t, len(samples)) {
			return samples
		}
	}
}

// total is the sum of samples.
func total(samples []int64) int64 {
	var sum int64
	for _, v := range samples {
		sum += v
	}
	return sum
}
