// The signal floor of this machine: what one delivered signal costs at the least — a self
// tgkill, the kernel's delivery onto an alternate stack, an empty SA_ONSTACK handler and
// rt_sigreturn. The preemption bench reports every async preemption's cost as a ratio to it,
// so "how close to the hardware" is measured in the same run, not assumed.
#define _GNU_SOURCE
#include "ts_host.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t floor_count;

static void floor_handler(int sig) {
    (void)sig;
    floor_count++;
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int ts_host_signal_floor(int iterations, uint64_t *nanoseconds_per_signal) {
    if (iterations <= 0) return EINVAL;
    // SIGUSR2 on this thread only, with its own alternate stack; everything restored after.
    stack_t old_stack, stack = { .ss_sp = malloc(65536), .ss_size = 65536, .ss_flags = 0 };
    if (!stack.ss_sp) return ENOMEM;
    if (sigaltstack(&stack, &old_stack) != 0) { int e = errno; free(stack.ss_sp); return e; }
    struct sigaction action, old_action;
    memset(&action, 0, sizeof action);
    action.sa_handler = floor_handler;
    action.sa_flags = SA_ONSTACK | SA_RESTART;
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGUSR2, &action, &old_action) != 0) {
        int e = errno;
        sigaltstack(&old_stack, NULL);
        free(stack.ss_sp);
        return e;
    }
    sigset_t unblock;
    sigemptyset(&unblock);
    sigaddset(&unblock, SIGUSR2);
    sigset_t old_mask;
    pthread_sigmask(SIG_UNBLOCK, &unblock, &old_mask);
    pid_t pid = getpid();
    pid_t tid = (pid_t)syscall(SYS_gettid);
    floor_count = 0;
    uint64_t start = now_ns();
    for (int i = 0; i < iterations; i++) syscall(SYS_tgkill, pid, tid, SIGUSR2);
    uint64_t elapsed = now_ns() - start;
    int delivered = floor_count;
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
    sigaction(SIGUSR2, &old_action, NULL);
    sigaltstack(&old_stack, NULL);
    free(stack.ss_sp);
    if (delivered != iterations) return EAGAIN;  // a signal went missing: no floor to report
    *nanoseconds_per_signal = elapsed / (uint64_t)iterations;
    return 0;
}
