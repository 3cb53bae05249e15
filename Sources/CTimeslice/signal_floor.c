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
#include <sys/prctl.h>

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

// SIGUSR2 on this thread only, with `handler` on an alternate stack of its own and the
// signal unblocked; floor_restore puts back what was there. Returns 0 or errno.
struct floor_saved {
    stack_t stack, old_stack;
    struct sigaction old_action;
    sigset_t old_mask;
};

static int floor_install(void (*handler)(int), struct floor_saved *saved) {
    saved->stack = (stack_t){ .ss_sp = malloc(65536), .ss_size = 65536, .ss_flags = 0 };
    if (!saved->stack.ss_sp) return ENOMEM;
    if (sigaltstack(&saved->stack, &saved->old_stack) != 0) { int e = errno; free(saved->stack.ss_sp); return e; }
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = handler;
    action.sa_flags = SA_ONSTACK | SA_RESTART;
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGUSR2, &action, &saved->old_action) != 0) {
        int e = errno;
        sigaltstack(&saved->old_stack, NULL);
        free(saved->stack.ss_sp);
        return e;
    }
    sigset_t unblock;
    sigemptyset(&unblock);
    sigaddset(&unblock, SIGUSR2);
    pthread_sigmask(SIG_UNBLOCK, &unblock, &saved->old_mask);
    return 0;
}

static void floor_restore(struct floor_saved *saved) {
    pthread_sigmask(SIG_SETMASK, &saved->old_mask, NULL);
    sigaction(SIGUSR2, &saved->old_action, NULL);
    sigaltstack(&saved->old_stack, NULL);
    free(saved->stack.ss_sp);
}

int ts_host_signal_floor(int iterations, uint64_t *nanoseconds_per_signal) {
    if (iterations <= 0) return EINVAL;
    struct floor_saved saved;
    int rc = floor_install(floor_handler, &saved);
    if (rc != 0) return rc;
    pid_t pid = getpid();
    pid_t tid = (pid_t)syscall(SYS_gettid);
    floor_count = 0;
    uint64_t start = now_ns();
    for (int i = 0; i < iterations; i++) syscall(SYS_tgkill, pid, tid, SIGUSR2);
    uint64_t elapsed = now_ns() - start;
    int delivered = floor_count;
    floor_restore(&saved);
    if (delivered != iterations) return EAGAIN;  // a signal went missing: no floor to report
    *nanoseconds_per_signal = elapsed / (uint64_t)iterations;
    return 0;
}

// Timer-driven floors (ts_host_timer_signal_floor). A preemption needs a timer event every
// slice; on a virtual machine programming the timer and taking its interrupt cost VM exits,
// which the self-signal floor above never pays. These two floors are what any design of the
// two kinds pays on this machine: a monitor thread that sleeps until each slice end and
// tgkills the running thread (Timeslice's sysmon), or a per-thread timer that signals the
// thread itself. Both run with an empty handler, so whatever a runtime adds is its own.

static timer_t floor_timer;
static volatile uint64_t floor_sink;
static volatile sig_atomic_t floor_timer_rearm;
static struct itimerspec floor_timer_period;

static void floor_timer_handler(int sig) {
    (void)sig;
    floor_count++;
    if (floor_timer_rearm) timer_settime(floor_timer, 0, &floor_timer_period, NULL);
}

__attribute__((noinline)) static uint64_t floor_spin(uint64_t iterations) {
    volatile uint64_t seed = 0x9E3779B97F4A7C15u;
    uint64_t x = seed;
    for (uint64_t i = 0; i < iterations; i++) { x ^= x << 13; x ^= x >> 7; x ^= x << 17; }
    return x;
}

struct floor_sender {
    pid_t pid, tid;
    uint64_t period_ns;
    volatile int stop;
    uint64_t cpu_ns, sent;
};

static uint64_t thread_cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *floor_sender_main(void *raw) {
    struct floor_sender *s = raw;
    prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);   // as the runtime's threads
    uint64_t cpu0 = thread_cpu_ns();
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    while (!s->stop) {
        next.tv_nsec += (long)s->period_ns;
        while (next.tv_nsec >= 1000000000L) { next.tv_nsec -= 1000000000L; next.tv_sec++; }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
        if (s->stop) break;
        syscall(SYS_tgkill, s->pid, s->tid, SIGUSR2);
        s->sent++;
    }
    s->cpu_ns = thread_cpu_ns() - cpu0;
    return NULL;
}

int ts_host_timer_signal_floor(int source, uint64_t period_ns, uint64_t spin_iterations,
                               uint64_t *victim_ns_per_signal, uint64_t *sender_cpu_ns, uint64_t *signals) {
    if ((source != 0 && source != 1) || period_ns == 0 || spin_iterations == 0) return EINVAL;
    struct floor_saved saved;
    int rc = floor_install(floor_timer_handler, &saved);
    if (rc != 0) return rc;
    uint64_t sink = 0;
    floor_count = 0;
    uint64_t start = now_ns();
    sink += floor_spin(spin_iterations);
    uint64_t undisturbed = now_ns() - start;
    uint64_t signalled = 0, sender_cpu = 0;
    if (source == 0) {
        struct floor_sender sender = { .pid = getpid(), .tid = (pid_t)syscall(SYS_gettid), .period_ns = period_ns };
        pthread_t thread;
        start = now_ns();
        rc = pthread_create(&thread, NULL, floor_sender_main, &sender);
        if (rc == 0) {
            sink += floor_spin(spin_iterations);
            sender.stop = 1;
            pthread_join(thread, NULL);
            signalled = now_ns() - start;
            sender_cpu = sender.cpu_ns;
        }
    } else {
        struct sigevent event;
        memset(&event, 0, sizeof event);
        event.sigev_notify = SIGEV_THREAD_ID;
        event.sigev_signo = SIGUSR2;
        event._sigev_un._tid = (pid_t)syscall(SYS_gettid);
        if (timer_create(CLOCK_MONOTONIC, &event, &floor_timer) != 0) {
            rc = errno;
        } else {
            floor_timer_period.it_interval = (struct timespec){ 0, 0 };
            floor_timer_period.it_value = (struct timespec){ (time_t)(period_ns / 1000000000u), (long)(period_ns % 1000000000u) };
            floor_timer_rearm = 1;
            start = now_ns();
            timer_settime(floor_timer, 0, &floor_timer_period, NULL);
            sink += floor_spin(spin_iterations);
            floor_timer_rearm = 0;
            struct itimerspec off;
            memset(&off, 0, sizeof off);
            timer_settime(floor_timer, 0, &off, NULL);
            signalled = now_ns() - start;
            timer_delete(floor_timer);
        }
    }
    uint64_t delivered = (uint64_t)floor_count;
    floor_restore(&saved);
    if (rc != 0) return rc;
    if (delivered == 0) return EAGAIN;
    *victim_ns_per_signal = signalled > undisturbed ? (signalled - undisturbed) / delivered : 0;
    *sender_cpu_ns = source == 0 ? sender_cpu / delivered : 0;
    *signals = delivered;
    floor_sink = sink;   // keeps the spins alive
    return 0;
}
