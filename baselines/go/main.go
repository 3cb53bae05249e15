// timeslice-go-baseline: the real Go runtime running the lab's workloads, so that a Timeslice
// number can be read beside the number of the runtime it imitates (issue 7, "go" baseline).
//
// One process runs one workload and prints one JSON object on stdout (see README.md). The
// runtime knobs are Go's own and are read, never set, here: GOMAXPROCS and
// GODEBUG=asyncpreemptoff=1 from the environment, CPU placement from the affinity the process
// was started with (taskset). The JSON reports what the runtime actually used.
//
// Measurement follows the lab (DESIGN.md "Measurement"):
//   - Every sample is kept and sorted, so percentiles are exact; the summary uses
//     HdrHistogram's definition (the smallest value with at least round(p/100 * count)
//     samples at or below it) and `--hgrm` writes HdrHistogram's percentile text with the
//     same percentile ticks as Java's outputPercentileDistribution(out, 5, 1.0).
//   - A warm-up is run and discarded; the window then ends after a duration or a number of
//     samples, as in experiment files.
//   - The lab runs this program as the `go` runtime of its workloads: -samples hands it every
//     sample (so its histogram is built exactly as for the other runtimes) and -beacon shares a
//     progress counter that the lab's starvation monitor watches as it watches its own probes.
//   - Starvation is a result, not a hang: with GOMAXPROCS=1 and async preemption off, a tight
//     loop is never preempted and nothing else in the process can run, not even a watchdog
//     goroutine. So the hogs themselves watch the probe's heartbeat and give the CPU back once
//     the probe has been silent for -starvation_timeout; the run then reports status "starved".
//     They read the clock with syscall.RawSyscall, which is NOSPLIT all the way down to the
//     SYSCALL instruction: no stack check, hence no cooperative preemption point, so the
//     watching does not change whether the hog can be preempted.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// Exit codes, as the lab's CLI: 0 a result was produced (even "starved"), 64 bad usage, 1 failure.
const (
	exitUsage   = 64
	exitFailure = 1
)

// ---------------------------------------------------------------------------------------------
// Clock

// base is the origin of every timestamp of the run (time.Since reads CLOCK_MONOTONIC via vDSO).
var base = time.Now()

func now() int64 { return int64(time.Since(base)) }

// rawBase is CLOCK_MONOTONIC read the slow way at (nearly) the same instant as base, so that
// rawNow() - rawBase and now() are on one time line to within a microsecond.
var rawBase = rawMonotonic(new(syscall.Timespec))

// rawMonotonic reads CLOCK_MONOTONIC with a real system call. Used only by hogs (see the file
// comment: it is not a preemption point). ts is the caller's, so that hogs share no memory.
//
//go:nosplit
func rawMonotonic(ts *syscall.Timespec) int64 {
	syscall.RawSyscall(syscall.SYS_CLOCK_GETTIME, 1 /* CLOCK_MONOTONIC */, uintptr(unsafe.Pointer(ts)), 0)
	return ts.Sec*1e9 + ts.Nsec
}

// ---------------------------------------------------------------------------------------------
// Progress beacon

// beaconWord is a counter in a file shared with the lab (-beacon): +1 per sample, read by the
// lab's starvation monitor. nil when no beacon was asked for.
var beaconWord *uint64

// beat is called once per sample by the measuring goroutine. An uncontended atomic add: the lab
// reads the word every few milliseconds, so the cache line stays local almost always.
func beat() {
	if beaconWord != nil {
		atomic.AddUint64(beaconWord, 1)
	}
}

// mapBeacon maps the first 8 bytes of path (which the lab created) shared, so that increments
// are visible to the lab process. The mapping lives until exit.
func mapBeacon(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return err
	} else if st.Size() < 8 {
		if err := f.Truncate(8); err != nil {
			return err
		}
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, 8, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return err
	}
	// Sound: mmap returns page-aligned memory, so the word is 8-byte aligned for 64-bit atomics.
	beaconWord = (*uint64)(unsafe.Pointer(&b[0]))
	return nil
}

// lockIfAsked is called first by each workload's measuring goroutine: -lock_os_thread wires it
// to its OS thread (runtime.LockOSThread), the lab's `lock_os_thread: true`.
func lockIfAsked(c *common) {
	if c.lockOSThread {
		runtime.LockOSThread()
	}
}

// ---------------------------------------------------------------------------------------------
// Measurement window and samples

// window is the lab's MeasurementWindow: samples before warmupEnd are discarded; the window is
// over at end (duration runs) or once `iterations` samples are recorded (iteration runs).
type window struct {
	warmupEnd  int64
	end        int64 // 0 for iteration runs
	iterations int
}

func newWindow(c *common) window {
	start := now()
	w := window{warmupEnd: start + int64(c.warmup), iterations: c.iterations}
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

// summary is results.json `latency_ns` of the lab, computed exactly from all samples.
type summary struct {
	Count        int     `json:"count"`
	Mean         float64 `json:"mean"`
	Stddev       float64 `json:"stddev"`
	Min          int64   `json:"min"`
	P50          int64   `json:"p50"`
	P90          int64   `json:"p90"`
	P99          int64   `json:"p99"`
	P999         int64   `json:"p999"`
	P9999        int64   `json:"p9999"`
	Max          int64   `json:"max"`
	JitterMaxMin int64   `json:"jitter_max_min"`
	JitterP99P50 int64   `json:"jitter_p99_p50"`
}

// valueAtPercentile follows HdrHistogram: the smallest recorded value v such that at least
// max(1, round(p/100 * n)) samples are <= v. sorted must be ascending and non-empty.
func valueAtPercentile(sorted []int64, p float64) int64 {
	rank := int(p/100*float64(len(sorted)) + 0.5)
	if rank < 1 {
		rank = 1
	}
	if rank > len(sorted) {
		rank = len(sorted)
	}
	return sorted[rank-1]
}

// summarize sorts samples in place. nil when there are none ("no samples" is not zero latency).
func summarize(samples []int64) *summary {
	n := len(samples)
	if n == 0 {
		return nil
	}
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	var sum float64
	for _, v := range samples {
		sum += float64(v)
	}
	mean := sum / float64(n)
	var sq float64
	for _, v := range samples {
		d := float64(v) - mean
		sq += d * d
	}
	s := &summary{
		Count: n, Mean: mean, Stddev: math.Sqrt(sq / float64(n)), // population stddev, as HdrHistogram
		Min: samples[0], Max: samples[n-1],
		P50: valueAtPercentile(samples, 50), P90: valueAtPercentile(samples, 90),
		P99: valueAtPercentile(samples, 99), P999: valueAtPercentile(samples, 99.9),
		P9999: valueAtPercentile(samples, 99.99),
	}
	s.JitterMaxMin = s.Max - s.Min
	s.JitterP99P50 = s.P99 - s.P50
	return s
}

// writeHgrm writes HdrHistogram's percentile distribution text (values in ns, scale 1.0) from
// the sorted samples. The percentile levels are those of Java's PercentileIterator with 5 ticks
// per half distance: the step halves each time the remaining distance to 100 % halves. Because
// the values are exact rather than bucketed, the footer has no "Buckets" line.
func writeHgrm(path string, sorted []int64, s *summary) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fmt.Fprintf(w, "%12s %14s %10s %14s\n\n", "Value", "Percentile", "TotalCount", "1/(1-Percentile)")
	n := len(sorted)
	level := 0.0 // percent
	const ticksPerHalfDistance = 5
	advance := func() {
		ticks := ticksPerHalfDistance * int64(math.Pow(2, float64(int64(math.Log(100/(100-level))/math.Log(2)))+1))
		level += 100 / float64(ticks)
	}
	for i := 0; i < n; {
		j := i
		for j < n && sorted[j] == sorted[i] {
			j++
		}
		v, cum := sorted[i], j // value and number of samples <= value
		for level <= 100*float64(cum)/float64(n) {
			fmt.Fprintf(w, "%12.3f %2.12f %10d %14.2f\n", float64(v), level/100, cum, 1/(1-level/100))
			advance()
			if cum == n {
				break // Java stops iterating values once every count is reached...
			}
		}
		if cum == n {
			fmt.Fprintf(w, "%12.3f %2.12f %10d\n", float64(v), 1.0, cum) // ...and closes with 100 %
		}
		i = j
	}
	mean, stddev, max := 0.0, 0.0, 0.0
	if s != nil {
		mean, stddev, max = s.Mean, s.Stddev, float64(s.Max)
	}
	fmt.Fprintf(w, "#[Mean    = %12.3f, StdDeviation   = %12.3f]\n", mean, stddev)
	fmt.Fprintf(w, "#[Max     = %12.3f, Total count    = %12d]\n", max, n)
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeSamples writes the sorted samples as "value count" lines (ns), one line per distinct
// value: lossless and small, so the lab can record every sample into its own HdrHistogram.
func writeSamples(path string, sorted []int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for i := 0; i < len(sorted); {
		j := i
		for j < len(sorted) && sorted[j] == sorted[i] {
			j++
		}
		fmt.Fprintf(w, "%d %d\n", sorted[i], j-i)
		i = j
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ---------------------------------------------------------------------------------------------
// Hogs

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
			t := rawMonotonic(&ts) - rawBase
			if t-hb.last.Load() > hb.timeout {
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

// ---------------------------------------------------------------------------------------------
// Workloads. Each returns its samples (nanoseconds), named values and, for probes, a starvation
// reason ("" when the probe kept running).

type result struct {
	samples []int64
	values  map[string]interface{}
	starved string
	meaning string
	hgrm    bool // false: the workload has no latency distribution
}

// wakeup: a goroutine sleeps to absolute deadlines `interval` apart and records lateness =
// wake time - deadline. Go has no absolute sleep, so each period sleeps for deadline - now;
// deadlines do not drift because they are computed from the start, not from the last wake.
// Deadlines missed by more than a period are skipped and counted, as cyclictest and the lab do.
func runWakeup(c *common) result {
	hb := &heartbeat{timeout: int64(c.starvationTimeout)}
	hb.last.Store(now())
	w := newWindow(c)
	stopHogs := startHogs(c.hogs, c.hogKind, hb)
	samples := make([]int64, 0, w.expected(c.interval))
	var missed, warmupSamples uint64
	done := make(chan struct{})
	go func() {
		defer close(done)
		lockIfAsked(c)
		next := now() + int64(c.interval)
		for {
			if d := next - now(); d > 0 {
				time.Sleep(time.Duration(d))
			}
			t := now()
			hb.last.Store(t)
			beat()
			if hb.starved.Load() {
				return // the hogs gave the CPU back: this wake is not a sample
			}
			if w.inWarmup(next) {
				warmupSamples++
			} else {
				late := t - next
				if late < 0 {
					late = 0
				}
				samples = append(samples, late)
			}
			if w.over(t, len(samples)) {
				return
			}
			next += int64(c.interval)
			for next < t {
				next += int64(c.interval)
				missed++
			}
		}
	}()
	<-done
	rounds := stopHogs()
	r := result{samples: samples, meaning: "wake-up lateness (actual - intended)", hgrm: true,
		values: map[string]interface{}{"missed_periods": missed, "samples_warmup_discarded": warmupSamples,
			"hog_rounds": rounds}}
	if hb.starved.Load() {
		r.starved = fmt.Sprintf("probe never ran within %v", c.starvationTimeout)
	}
	return r
}

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
	r := result{samples: samples, meaning: "probe sleep lateness (slept - interval)", hgrm: true,
		values: map[string]interface{}{"samples_warmup_discarded": warmupSamples, "hog_rounds": rounds}}
	if hb.starved.Load() {
		r.starved = fmt.Sprintf("probe never ran within %v", c.starvationTimeout)
	}
	return r
}

// pingpong-chan: two goroutines hand a token back and forth over unbuffered channels. A sample
// is one round trip (two handoffs), timed by consecutive clock reads so that each round trip
// pays for one clock read only.
func runPingPongChan(c *common) result {
	ping, pong := make(chan struct{}), make(chan struct{})
	go func() {
		for range ping {
			pong <- struct{}{}
		}
	}()
	lockIfAsked(c)
	w := newWindow(c)
	samples := make([]int64, 0, w.expected(200*time.Nanosecond))
	prev := now()
	for {
		ping <- struct{}{}
		<-pong
		t := now()
		beat()
		if !w.inWarmup(prev) {
			samples = append(samples, t-prev)
		}
		prev = t
		if w.over(t, len(samples)) {
			break
		}
	}
	close(ping)
	var sum int64
	for _, v := range samples {
		sum += v
	}
	values := map[string]interface{}{"round_trips": len(samples)}
	if len(samples) > 0 {
		values["ns_per_handoff"] = float64(sum) / float64(2*len(samples))
	}
	return result{samples: samples, values: values, meaning: "round trip (two unbuffered channel handoffs)", hgrm: true}
}

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
	samples := make([]int64, 0, w.expected(100*time.Nanosecond))
	var calls uint64
	prev := now()
	for {
		turn.Store(1)
		for turn.Load() != 0 {
			runtime.Gosched()
			calls++
		}
		t := now()
		beat()
		if !w.inWarmup(prev) {
			samples = append(samples, t-prev)
		}
		prev = t
		if w.over(t, len(samples)) {
			break
		}
	}
	done.Store(true)
	turn.Store(1)
	<-finished
	var sum int64
	for _, v := range samples {
		sum += v
	}
	values := map[string]interface{}{"round_trips": len(samples), "gosched_calls": calls + gosched.Load()}
	if len(samples) > 0 {
		values["ns_per_switch"] = float64(sum) / float64(2*len(samples))
	}
	return result{samples: samples, values: values, meaning: "round trip (two runtime.Gosched switches)", hgrm: true}
}

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
	var sum int64
	for _, v := range samples {
		sum += v
	}
	values := map[string]interface{}{"batches": len(samples), "batch": c.batch}
	if len(samples) > 0 {
		values["ns_per_goroutine"] = float64(sum) / float64(len(samples)*c.batch)
	}
	return result{samples: samples, values: values, meaning: "spawn+join of one batch", hgrm: true}
}

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
	return result{samples: all, values: values, meaning: "time per work unit", hgrm: true}
}

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

// ---------------------------------------------------------------------------------------------
// Command line

// common holds every flag; each workload reads the ones it declares (see flagsFor).
type common struct {
	warmup            time.Duration
	duration          time.Duration
	iterations        int
	interval          time.Duration
	hogs              int
	hogKindName       string
	hogKind           hogKind
	starvationTimeout time.Duration
	batch             int
	goroutines        int
	tasks             int
	workUnit          int
	lockOSThread      bool
	hgrm              string
	samples           string
	beacon            string
}

// labDuration parses durations written as in experiment files ("50us", "1.5ms", "3s", "1m");
// Go's own syntax is a superset, so negative values are the only extra thing refused.
type labDuration struct{ d *time.Duration }

func (l labDuration) String() string {
	if l.d == nil {
		return ""
	}
	return l.d.String()
}

func (l labDuration) Set(s string) error {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("not a duration like 50us, 1.5ms or 3s")
	}
	if d < 0 {
		return errors.New("must not be negative")
	}
	*l.d = d
	return nil
}

type workloadDef struct {
	name    string
	summary string
	flags   func(fs *flag.FlagSet, c *common) // declares this workload's flags and defaults
}

func timedFlags(fs *flag.FlagSet, c *common, duration time.Duration) {
	c.warmup, c.duration = 200*time.Millisecond, duration
	fs.Var(labDuration{&c.warmup}, "warmup", "warm-up discarded before measuring")
	fs.Var(labDuration{&c.duration}, "duration", "measurement length (ignored when -iterations is set)")
	fs.IntVar(&c.iterations, "iterations", 0, "measure this many samples instead of a duration")
	fs.StringVar(&c.hgrm, "hgrm", "", "also write the HdrHistogram percentile text to `FILE`")
	fs.StringVar(&c.samples, "samples", "", "also write every sample as \"value count\" lines (ns, ascending) to `FILE`")
	fs.StringVar(&c.beacon, "beacon", "", "add 1 per sample to the 64-bit word at the start of `FILE` (shared mapping)")
	fs.BoolVar(&c.lockOSThread, "lock_os_thread", false, "the measuring goroutine calls runtime.LockOSThread")
}

func probeFlags(fs *flag.FlagSet, c *common, hogs int) {
	c.interval, c.starvationTimeout = time.Millisecond, 3*time.Second
	fs.Var(labDuration{&c.interval}, "interval", "probe period")
	fs.IntVar(&c.hogs, "hogs", hogs, "number of CPU hog goroutines")
	fs.StringVar(&c.hogKindName, "hog_kind", "tight", "hog kind: tight, polling, alloc, syscall")
	fs.Var(labDuration{&c.starvationTimeout}, "starvation_timeout", "report starved when the probe is silent this long")
}

var workloads = []workloadDef{
	{"wakeup", "periodic absolute-deadline timer in a goroutine, optional hogs; lateness in ns",
		func(fs *flag.FlagSet, c *common) { timedFlags(fs, c, 3*time.Second); probeFlags(fs, c, 0) }},
	{"starvation", "1 hog + a probe sleeping 1 ms in a loop (run with GOMAXPROCS=1); probe lateness in ns",
		func(fs *flag.FlagSet, c *common) { timedFlags(fs, c, 3*time.Second); probeFlags(fs, c, 1) }},
	{"pingpong-chan", "unbuffered channel ping-pong; round trip in ns, ns per handoff",
		func(fs *flag.FlagSet, c *common) { timedFlags(fs, c, 2*time.Second) }},
	{"yield", "runtime.Gosched ping-pong (run with GOMAXPROCS=1); round trip in ns, ns per switch",
		func(fs *flag.FlagSet, c *common) { timedFlags(fs, c, 2*time.Second) }},
	{"spawn-join", "spawn a batch of goroutines and join them; batch time in ns, ns per goroutine",
		func(fs *flag.FlagSet, c *common) {
			timedFlags(fs, c, 2*time.Second)
			fs.IntVar(&c.batch, "batch", 64, "goroutines per batch")
		}},
	{"throughput", "tasks goroutines repeating a unit of xorshift rounds; time per unit in ns, units per second",
		func(fs *flag.FlagSet, c *common) {
			timedFlags(fs, c, 2*time.Second)
			fs.IntVar(&c.tasks, "tasks", 0, "goroutines (0 = GOMAXPROCS)")
			fs.IntVar(&c.workUnit, "work_unit", 50000, "xorshift rounds per unit")
		}},
	{"parked-rss", "RSS bytes per goroutine parked on a channel (from /proc/self/statm)",
		func(fs *flag.FlagSet, c *common) {
			fs.IntVar(&c.goroutines, "goroutines", 100000, "goroutines to park")
		}},
}

func usage() {
	fmt.Fprintf(os.Stderr, "usage: timeslice-go-baseline WORKLOAD [flags]\n\nworkloads:\n")
	for _, w := range workloads {
		fmt.Fprintf(os.Stderr, "  %-14s %s\n", w.name, w.summary)
	}
	fmt.Fprintf(os.Stderr, "\n`timeslice-go-baseline WORKLOAD -h` lists its flags. GOMAXPROCS, GODEBUG=asyncpreemptoff=1\n"+
		"and taskset are honoured as by any Go program; the JSON on stdout says what was in effect.\n")
}

// output is the one JSON object printed on stdout; README.md documents it.
type output struct {
	Workload        string                 `json:"workload"`
	Status          string                 `json:"status"`
	Reason          string                 `json:"reason,omitempty"`
	GoVersion       string                 `json:"go_version"`
	GOMAXPROCS      int                    `json:"gomaxprocs"`
	GODEBUG         string                 `json:"godebug"`
	AsyncPreemption bool                   `json:"async_preemption"`
	CPUsAllowed     []int                  `json:"cpus_allowed"`
	NumCPU          int                    `json:"num_cpu"`
	Params          map[string]interface{} `json:"params"`
	LatencyMeaning  string                 `json:"latency_meaning"`
	LatencyNs       *summary               `json:"latency_ns"`
	Values          map[string]interface{} `json:"values"`
	Hgrm            string                 `json:"hgrm,omitempty"`
	Warnings        []string               `json:"warnings"`
}

// asyncPreemptionOn reads GODEBUG as the runtime does: the last asyncpreemptoff setting wins.
func asyncPreemptionOn(godebug string) bool {
	on := true
	for _, kv := range strings.Split(godebug, ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(kv), "="); ok && k == "asyncpreemptoff" {
			on = v != "1"
		}
	}
	return on
}

// allowedCPUs is this thread's affinity mask (sched_getaffinity), i.e. what taskset set.
func allowedCPUs() []int {
	var mask [16]uint64 // 1024 CPUs
	r, _, e := syscall.RawSyscall(syscall.SYS_SCHED_GETAFFINITY, 0, unsafe.Sizeof(mask), uintptr(unsafe.Pointer(&mask)))
	if e != 0 {
		return nil
	}
	var cpus []int
	for i := 0; i < int(r)*8 && i < 1024; i++ {
		if mask[i/64]&(1<<(uint(i)%64)) != 0 {
			cpus = append(cpus, i)
		}
	}
	return cpus
}

func fail(code int, format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "timeslice-go-baseline: "+format+"\n", args...)
	os.Exit(code)
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage()
		if len(os.Args) < 2 {
			os.Exit(exitUsage)
		}
		return
	}
	var def *workloadDef
	for i := range workloads {
		if workloads[i].name == os.Args[1] {
			def = &workloads[i]
		}
	}
	if def == nil {
		usage()
		fail(exitUsage, "unknown workload %q", os.Args[1])
	}
	var c common
	fs := flag.NewFlagSet(def.name, flag.ContinueOnError)
	def.flags(fs, &c)
	if err := fs.Parse(os.Args[2:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		os.Exit(exitUsage)
	}
	if fs.NArg() > 0 {
		fail(exitUsage, "%s: unexpected argument %q", def.name, fs.Arg(0))
	}
	params := map[string]interface{}{}
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name != "hgrm" && f.Name != "samples" && f.Name != "beacon" {
			params[f.Name] = f.Value.String()
		}
	})
	if c.hogKindName != "" {
		k, ok := hogKinds[c.hogKindName]
		if !ok {
			fail(exitUsage, "-hog_kind %q: one of tight, polling, alloc, syscall", c.hogKindName)
		}
		c.hogKind = k
	}
	switch {
	case c.iterations < 0:
		fail(exitUsage, "-iterations must be >= 0")
	case c.hogs < 0 || c.hogs > 256:
		fail(exitUsage, "-hogs must be in 0...256")
	case def.name == "spawn-join" && (c.batch < 1 || c.batch > 10000):
		fail(exitUsage, "-batch must be in 1...10000")
	case def.name == "throughput" && (c.tasks < 0 || c.tasks > 1024):
		fail(exitUsage, "-tasks must be in 0...1024")
	case def.name == "throughput" && (c.workUnit < 100 || c.workUnit > 100_000_000):
		fail(exitUsage, "-work_unit must be in 100...100000000")
	case def.name == "parked-rss" && c.goroutines < 1:
		fail(exitUsage, "-goroutines must be >= 1")
	case (def.name == "wakeup" || def.name == "starvation") && c.interval < 10*time.Microsecond:
		fail(exitUsage, "-interval must be at least 10us")
	case c.iterations == 0 && c.duration == 0 && def.name != "parked-rss":
		fail(exitUsage, "-duration must be > 0 (or give -iterations)")
	}

	if c.beacon != "" {
		if err := mapBeacon(c.beacon); err != nil {
			fail(exitFailure, "-beacon %s: %v", c.beacon, err)
		}
	}

	godebug := os.Getenv("GODEBUG")
	out := output{
		Workload: def.name, Status: "ok", GoVersion: runtime.Version(), GOMAXPROCS: runtime.GOMAXPROCS(0),
		GODEBUG: godebug, AsyncPreemption: asyncPreemptionOn(godebug), CPUsAllowed: allowedCPUs(),
		NumCPU: runtime.NumCPU(), Params: params, Warnings: []string{},
	}
	if (def.name == "starvation" || def.name == "yield") && out.GOMAXPROCS != 1 {
		out.Warnings = append(out.Warnings, fmt.Sprintf(
			"%s is meant for GOMAXPROCS=1 (got %d): with more Ps the goroutines do not compete for one P", def.name, out.GOMAXPROCS))
	}
	if def.name == "wakeup" && c.hogs > 0 && c.hogs >= out.GOMAXPROCS && !out.AsyncPreemption {
		out.Warnings = append(out.Warnings, "hogs >= GOMAXPROCS with async preemption off: the probe can only run when a hog stops")
	}

	var r result
	var err error
	switch def.name {
	case "wakeup":
		r = runWakeup(&c)
	case "starvation":
		r = runStarvation(&c)
	case "pingpong-chan":
		r = runPingPongChan(&c)
	case "yield":
		r = runYield(&c)
	case "spawn-join":
		r = runSpawnJoin(&c)
	case "throughput":
		r = runThroughput(&c)
	case "parked-rss":
		r, err = runParkedRSS(&c)
	}
	if err != nil {
		fail(exitFailure, "%s: %v", def.name, err)
	}
	if r.starved != "" {
		out.Status, out.Reason = "starved", r.starved
	}
	out.LatencyMeaning = r.meaning
	out.LatencyNs = summarize(r.samples) // sorts r.samples
	out.Values = r.values
	if c.hgrm != "" && r.hgrm {
		if err := writeHgrm(c.hgrm, r.samples, out.LatencyNs); err != nil {
			fail(exitFailure, "writing %s: %v", c.hgrm, err)
		}
		out.Hgrm = c.hgrm
	}
	if c.samples != "" && r.hgrm {
		if err := writeSamples(c.samples, r.samples); err != nil {
			fail(exitFailure, "writing %s: %v", c.samples, err)
		}
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fail(exitFailure, "writing JSON: %v", err)
	}
}
