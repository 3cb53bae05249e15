package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"unsafe"
)

// The OS thread under a goroutine: locking, timer slack, CPU affinity and where it runs. Every
// call here acts on the calling thread, so the goroutine must be locked to its thread
// (runtime.LockOSThread) for the result to mean anything beyond the call itself.

// lockIfAsked is called first by each workload's measuring goroutine: -lock_os_thread wires it
// to its OS thread (runtime.LockOSThread), the lab's `lock_os_thread: true`.
func lockIfAsked(c *common) {
	if c.lockOSThread {
		runtime.LockOSThread()
	}
}

const (
	prSetTimerSlack = 29 // PR_SET_TIMERSLACK
	prGetTimerSlack = 30 // PR_GET_TIMERSLACK
)

// setTimerSlack sets the calling thread's timer slack (prctl(PR_SET_TIMERSLACK)). The kernel may
// delay the expiry of this thread's sleeps by up to the slack (default 50 µs) to batch wake-ups.
// Threads inherit the slack of the thread that creates them.
func setTimerSlack(ns uintptr) error {
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, prSetTimerSlack, ns, 0); e != 0 {
		return e
	}
	return nil
}

// timerSlack reads the calling thread's timer slack back (prctl(PR_GET_TIMERSLACK)).
func timerSlack() (int64, error) {
	r, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, prGetTimerSlack, 0, 0)
	if e != 0 {
		return -1, e
	}
	return int64(r), nil
}

func gettid() int { return int(rawSyscall0(syscall.SYS_GETTID)) }

func rawSyscall0(nr uintptr) uintptr {
	r, _, _ := syscall.RawSyscall(nr, 0, 0, 0)
	return r
}

// mainThreadSlack is what init set and read back on the main thread (-1: not set).
var mainThreadSlack int64 = -1

// The wakeup workload sets timer slack 1 ns on the main thread before the program starts a
// goroutine: init runs on the main thread (the runtime locks the main goroutine to it during
// initialization), and threads the runtime creates later from it inherit the slack. Threads
// created earlier (sysmon) or by other threads keep what they had; the JSON lists every one.
func init() {
	if len(os.Args) > 1 && os.Args[1] == "wakeup" && gettid() == os.Getpid() {
		if setTimerSlack(1) == nil {
			mainThreadSlack, _ = timerSlack()
		}
	}
}

// setEveryThreadSlack writes ns into /proc/<tid>/timerslack_ns for every thread that exists now.
// init can only set the main thread's slack; the runtime starts a few threads before init
// (sysmon among them) that would keep the kernel's 50 µs, and whichever thread waits in
// epoll_wait for the next timer decides when a sleeping goroutine wakes. Threads created later
// inherit the slack of their creator, which is then 1 ns too. Writing another thread's value
// needs CAP_SYS_NICE; threads that could not be set are named in the error.
func setEveryThreadSlack(ns int64) error {
	d, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	var failed []string
	for _, e := range d {
		err := os.WriteFile("/proc/"+e.Name()+"/timerslack_ns", []byte(strconv.FormatInt(ns, 10)), 0)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			failed = append(failed, fmt.Sprintf("%s (%v)", e.Name(), err))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("timer slack not set for threads %s", strings.Join(failed, ", "))
	}
	return nil
}

// threadSlacks reads the timer slack of every thread of this process: the tids come from
// /proc/self/task, the values from /proc/<tid>/timerslack_ns (/proc/self/task/<tid>/ has no
// timerslack_ns). Reading another thread's value needs CAP_SYS_NICE; unreadable threads are
// left out and named in the error.
func threadSlacks() (map[string]int64, error) {
	d, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	var failed []string
	for _, e := range d {
		b, err := os.ReadFile("/proc/" + e.Name() + "/timerslack_ns")
		if err == nil {
			var v int64
			if v, err = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil {
				out[e.Name()] = v
				continue
			}
		}
		if !errors.Is(err, os.ErrNotExist) { // a thread that exited meanwhile is no failure
			failed = append(failed, fmt.Sprintf("%s (%v)", e.Name(), err))
		}
	}
	if len(failed) > 0 {
		return out, fmt.Errorf("timer slack unreadable for threads %s", strings.Join(failed, ", "))
	}
	return out, nil
}

// cpuMask is a sched_setaffinity mask for CPUs 0...1023.
type cpuMask [16]uint64

func maskOf(cpus []int) cpuMask {
	var m cpuMask
	for _, c := range cpus {
		m[c/64] |= 1 << (uint(c) % 64)
	}
	return m
}

func (m *cpuMask) cpus(bytes int) []int {
	cpus := []int{}
	for i := 0; i < bytes*8 && i < 1024; i++ {
		if m[i/64]&(1<<(uint(i)%64)) != 0 {
			cpus = append(cpus, i)
		}
	}
	return cpus
}

// setAffinity pins the calling thread to cpus (sched_setaffinity(0, ...)).
func setAffinity(cpus []int) error {
	m := maskOf(cpus)
	if _, _, e := syscall.RawSyscall(syscall.SYS_SCHED_SETAFFINITY, 0, unsafe.Sizeof(m), uintptr(unsafe.Pointer(&m))); e != 0 {
		return e
	}
	return nil
}

// affinity is the calling thread's CPU set (sched_getaffinity(0, ...)); nil on error.
func affinity() []int {
	var m cpuMask
	r, _, e := syscall.RawSyscall(syscall.SYS_SCHED_GETAFFINITY, 0, unsafe.Sizeof(m), uintptr(unsafe.Pointer(&m)))
	if e != 0 {
		return nil
	}
	return m.cpus(int(r))
}

// allowedCPUs is the affinity mask of the thread running main, i.e. what taskset set.
func allowedCPUs() []int { return affinity() }

// currentCPU is the CPU the calling thread is running on (getcpu(2)); -1 on error.
func currentCPU() int {
	var cpu uint32
	if _, _, e := syscall.RawSyscall(sysGetcpu, uintptr(unsafe.Pointer(&cpu)), 0, 0); e != 0 {
		return -1
	}
	return int(cpu)
}

// parseCPUList reads a CPU list as taskset -c and /sys do: "1", "0-1", "0-1,3". Ascending,
// without duplicates; CPUs 0...1023.
func parseCPUList(s string) ([]int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("empty CPU list")
	}
	seen := map[int]bool{}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return nil, fmt.Errorf("%q is not a CPU number or range", part)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("%q is not a range low-high", part)
			}
		}
		if b >= 1024 {
			return nil, fmt.Errorf("CPU %d: at most 1023", b)
		}
		for i := a; i <= b; i++ {
			seen[i] = true
		}
	}
	cpus := make([]int, 0, len(seen))
	for c := range seen {
		cpus = append(cpus, c)
	}
	sort.Ints(cpus)
	return cpus, nil
}

// formatCPUList writes ascending CPUs as a list with ranges ("0-1,3").
func formatCPUList(cpus []int) string {
	var parts []string
	for i := 0; i < len(cpus); {
		j := i
		for j+1 < len(cpus) && cpus[j+1] == cpus[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d-%d", cpus[i], cpus[j]))
		} else {
			parts = append(parts, strconv.Itoa(cpus[i]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}
