// Thin shims for host facts that Swift cannot reach directly: the cpu_set_t
// macros (CPU_SET and friends are macros, invisible to Swift), getcpu, and the
// libnuma / NUMA syscalls. No policy lives here.
//
// Convention: every function that can fail returns 0 on success or a positive
// errno value on failure; it never relies on the caller reading `errno`, so the
// Swift side can attach the call's name and strerror in one place.
#ifndef TS_HOST_H
#define TS_HOST_H
#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// sched_getaffinity(tid) (tid 0 = calling thread). Writes up to `capacity`
/// CPU ids, ascending, into `cpus` and the number of CPUs in the mask into
/// `*count` (which may exceed `capacity`: call again with a larger buffer).
int ts_sched_getaffinity(int tid, int *cpus, int capacity, int *count);

/// sched_setaffinity(tid) to exactly the `count` CPU ids in `cpus`.
/// Returns EINVAL for a negative id or an empty list.
int ts_sched_setaffinity(int tid, const int *cpus, int count);

/// getcpu(2) for the calling thread: the CPU and NUMA node it ran on at the
/// moment of the call.
int ts_getcpu(unsigned *cpu, unsigned *node);

/// gettid(2) of the calling thread.
int ts_host_gettid(void);

/// prctl(PR_SET_TIMERSLACK) for the calling thread (1 ns is the smallest; 0 would mean "reset to
/// the default"). Returns 0 or a positive errno. Threads created later inherit the value.
int ts_host_set_timer_slack(unsigned long nanoseconds);

/// One FUTEX_WAIT (private) on `word` while it holds `expected`, with a relative timeout
/// (`timeout_ns` < 0: none). No retry: returns 0 when woken, else the errno as is (EINTR,
/// ETIMEDOUT, EAGAIN...), for callers that study those. Host convention: positive errno.
int ts_host_futex_wait_once(uint32_t *word, uint32_t expected, int64_t timeout_ns);

/// FUTEX_WAKE (private) of up to `count` waiters. Returns 0 or a positive errno.
int ts_host_futex_wake(uint32_t *word, int count);

/// The signal floor: sends SIGUSR2 to the calling thread `iterations` times (tgkill) with an
/// empty SA_ONSTACK handler on its own alternate stack, and stores the mean ns per delivered
/// signal (send + delivery + handler + rt_sigreturn). The thread's handler, mask and alternate
/// stack are restored. Returns 0 or a positive errno (EAGAIN: a signal was not delivered).
int ts_host_signal_floor(int iterations, uint64_t *nanoseconds_per_signal);

/// The floors of timer-driven preemption on this machine (signal_floor.c): the calling
/// thread spins `spin_iterations` xorshift steps, once undisturbed and once while it is
/// signalled every `period_ns`, and reports the extra wall time per delivered signal.
/// `source` 0: another thread sleeps to absolute deadlines and tgkills it (what a
/// sysmon-style monitor pays at the least); `*sender_cpu_ns` is that thread's CPU time per
/// signal. `source` 1: a POSIX timer of the thread's own (CLOCK_MONOTONIC, SIGEV_THREAD_ID),
/// re-armed one-shot by the handler (a per-thread slice timer); `*sender_cpu_ns` is 0.
/// Returns 0 or errno (EAGAIN when no signal was delivered).
int ts_host_timer_signal_floor(int source, uint64_t period_ns, uint64_t spin_iterations,
                               uint64_t *victim_ns_per_signal, uint64_t *sender_cpu_ns, uint64_t *signals);

/// prctl(PR_GET_TIMERSLACK) for the calling thread into `*nanoseconds`. Returns 0 or errno.
int ts_host_timer_slack(unsigned long *nanoseconds);

/// numa_available() from libnuma: < 0 when the kernel has no NUMA support
/// (or the get_mempolicy syscall is blocked).
int ts_numa_available(void);

/// numa_max_node() from libnuma (highest node id); -1 if NUMA is unavailable.
int ts_numa_max_node(void);

/// mbind(2) [addr, addr+len) to one node: MPOL_BIND when `strict` != 0,
/// MPOL_PREFERRED otherwise; pages already faulted in are migrated
/// (MPOL_MF_MOVE). `addr` must be page aligned.
int ts_mbind_node(void *addr, unsigned long len, int node, int strict);

/// move_pages(2) in query mode (nodes == NULL) for the calling process:
/// `status[i]` receives the node of `pages[i]` or a negative errno
/// (-ENOENT: not faulted in yet, -EFAULT: not mapped).
int ts_move_pages_query(unsigned long count, void **pages, int *status);

/// The hypervisor vendor from CPUID leaf 0x40000000 ("KVMKVMKVM", "VMwareVMware",
/// "Microsoft Hv", ...), NUL-terminated into `buf` (at least 13 bytes).
/// Returns 1 when the CPU reports a hypervisor (CPUID.1:ECX bit 31), else 0;
/// always 0 on non-x86 architectures.
int ts_cpuid_hypervisor(char *buf, size_t len);

/// Starts `path` (fork + execve) in a new process group with stdin on /dev/null, stdout and
/// stderr on `stdout_fd` / `stderr_fd`, an empty signal mask, SIGPIPE and SIGURG at their
/// default dispositions, and prctl(PR_SET_PDEATHSIG, `death_signal`) (0: none) set before the
/// exec: the program is killed when the calling *thread* exits, so the caller must stay in a
/// wait for it (ChildProcess does). The race "the parent died before prctl" is closed by
/// comparing getppid() with the caller's pid after prctl. Between fork and exec the child calls
/// only async-signal-safe functions. Writes the child's pid into `*pid`; returns 0, or the errno
/// of the failed step (the exec's errno when the program could not be started).
int ts_host_spawn(const char *path, char *const argv[], char *const envp[],
                  int stdout_fd, int stderr_fd, int death_signal, int *pid);

/// Installs the runner's handler for SIGINT, SIGTERM and SIGHUP (async-signal-safe): the first
/// signal SIGKILLs the registered process group (ts_host_interrupt_set_group), records the
/// signal and writes one byte to a self-pipe whose non-blocking read end goes to `*read_fd`, so
/// that a poll() loop wakes at once; a second signal SIGKILLs the group and _exits 128 + signal.
/// Idempotent (the second call returns the same fd). Returns 0 or errno.
int ts_host_interrupt_install(int *read_fd);

/// The first signal received since install (0: none).
int ts_host_interrupt_signal(void);

/// The process group the handler kills (the running configuration's child); 0: none.
void ts_host_interrupt_set_group(int pgid);

#ifdef __cplusplus
}
#endif
#endif
