// Thread setup, futexes and goroutine stacks: the system calls the runtime makes,
// each retried on EINTR where retrying is right.
#define _GNU_SOURCE
#include "ts_runtime.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/membarrier.h>
#include <stdio.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

__thread ts_m *ts_tls_m;
__thread ts_g *ts_tls_g;

int ts_futex_wait(uint32_t *addr, uint32_t expected, int64_t timeout_ns) {
    struct timespec ts, *tsp = NULL;
    struct timespec deadline;
    if (timeout_ns >= 0) {
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += timeout_ns / 1000000000;
        deadline.tv_nsec += timeout_ns % 1000000000;
        if (deadline.tv_nsec >= 1000000000) { deadline.tv_sec++; deadline.tv_nsec -= 1000000000; }
        ts = deadline;
        tsp = &ts;
    }
    for (;;) {
        // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline, so an EINTR
        // retry does not stretch the wait.
        long r = syscall(SYS_futex, addr, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, expected, tsp, NULL,
                         FUTEX_BITSET_MATCH_ANY);
        if (r == 0) return 0;
        if (errno == EINTR) continue;
        if (errno == EAGAIN) return 0;
        return errno;
    }
}

int ts_futex_wake(uint32_t *addr, int count) {
    long r = syscall(SYS_futex, addr, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, count, NULL, NULL, 0);
    return r < 0 ? errno : 0;
}

int32_t ts_gettid(void) { return (int32_t)syscall(SYS_gettid); }

int ts_thread_set_name(const char *name) {
    return prctl(PR_SET_NAME, (unsigned long)name, 0UL, 0UL, 0UL) == 0 ? 0 : errno;
}

int ts_thread_cpu_ns(int32_t tid, uint64_t *ns) {
    // MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED): per-thread (4) | sched (2).
    clockid_t clock = (clockid_t)(((unsigned)~tid) << 3) | 6;
    struct timespec ts;
    if (clock_gettime(clock, &ts) != 0) return errno;
    *ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    return 0;
}

int ts_thread_sleeping(int32_t tid, int32_t *sleeping) {
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
    int fd;
    do { fd = open(path, O_RDONLY | O_CLOEXEC); } while (fd < 0 && errno == EINTR);
    if (fd < 0) return errno;
    char buffer[512];
    ssize_t n;
    do { n = read(fd, buffer, sizeof buffer - 1); } while (n < 0 && errno == EINTR);
    int e = n < 0 ? errno : 0;
    close(fd);
    if (e) return e;
    buffer[n] = 0;
    // "tid (comm) S ...": comm may hold spaces and parentheses, so the state is
    // the first character after the last ") ".
    char *close_paren = strrchr(buffer, ')');
    if (!close_paren || close_paren[1] != ' ' || !close_paren[2]) return EINVAL;
    char state = close_paren[2];
    *sleeping = state == 'S' || state == 'D';
    return 0;
}

int ts_membarrier_register(void) {
    long commands = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    if (commands < 0) return errno;
    if (!(commands & MEMBARRIER_CMD_PRIVATE_EXPEDITED)) return ENOSYS;
    if (syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) != 0) return errno;
    return 0;
}

int ts_membarrier(void) {
    long r;
    do { r = syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0); } while (r != 0 && errno == EINTR);
    return r == 0 ? 0 : errno;
}

uint64_t ts_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void ts_cpu_relax(void) { __builtin_ia32_pause(); }

int ts_thread_setup(ts_m *m, size_t altstack_size) {
    m->tid = ts_gettid();
    void *alt = mmap(NULL, altstack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (alt == MAP_FAILED) return errno;
    stack_t ss = {.ss_sp = alt, .ss_size = altstack_size, .ss_flags = 0};
    if (sigaltstack(&ss, NULL) != 0) {
        int e = errno;
        munmap(alt, altstack_size);
        return e;
    }
    m->altstack = alt;
    m->altstack_size = altstack_size;
    // Test runners and Dispatch block SIGURG and children inherit masks: every M
    // unblocks it itself (a blocked SIGURG would silently turn async preemption off).
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGURG);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    // Default timer slack is 50 µs; the runtime's timers are its measurement instrument.
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    ts_tls_m = m;
    return 0;
}

void ts_thread_teardown(ts_m *m) {
    if (m->altstack) {
        stack_t ss = {.ss_sp = NULL, .ss_size = 0, .ss_flags = SS_DISABLE};
        sigaltstack(&ss, NULL);
        munmap(m->altstack, m->altstack_size);
        m->altstack = NULL;
    }
    ts_tls_m = NULL;
}

void *ts_stack_arena_map(size_t count, size_t stack_size, size_t guard_size, bool *used_madvise) {
    size_t slot = stack_size + guard_size;
    size_t total = slot * count;
    // MAP_NORESERVE: stacks are committed lazily, on touch; 100 000 parked goroutines
    // must not reserve 100 000 full stacks of commit charge.
    char *base = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) return NULL;
    bool madv = true;
    for (size_t i = 0; i < count; i++) {
        char *guard = base + i * slot;
        if (madv && madvise(guard, guard_size, MADV_GUARD_INSTALL) != 0) madv = false;
        if (!madv && mprotect(guard, guard_size, PROT_NONE) != 0) {
            int e = errno;
            munmap(base, total);
            errno = e;
            return NULL;
        }
    }
    *used_madvise = madv;
    return base;
}

int ts_stack_release(void *addr, size_t len) { return madvise(addr, len, MADV_DONTNEED) == 0 ? 0 : errno; }
