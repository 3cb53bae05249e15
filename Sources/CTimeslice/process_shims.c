// Process shims for the lab's runner: starting a program that dies with its parent, and the
// runner's interrupt handler. posix_spawn cannot set PR_SET_PDEATHSIG, so ts_host_spawn forks
// and execs itself; everything between fork and execve is async-signal-safe (the parent may be
// multithreaded: only the forking thread exists in the child). Convention: 0 or a positive errno.
#define _GNU_SOURCE
#include "ts_host.h"
#include "ts_preempt.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

// The child reports a failed step by writing its errno to this close-on-exec pipe; EOF without
// data means the exec succeeded.
static void ts_spawn_fail(int report_fd, int err) {
    ssize_t unused = write(report_fd, &err, sizeof err);
    (void)unused;
    _exit(127);
}

int ts_host_spawn(const char *path, char *const argv[], char *const envp[],
                  int stdout_fd, int stderr_fd, int death_signal, int *pid_out) {
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) return errno;
    pid_t parent = getpid();

    // No handler of ours may run in the child between fork and exec (they touch the parent's
    // state); the child installs an empty mask just before execve.
    sigset_t all, saved;
    sigfillset(&all);
    ts_real_pthread_sigmask(SIG_SETMASK, &all, &saved);   // libc's: SIGURG too (signal_interpose.c)
    pid_t pid = fork();
    if (pid == 0) {
        if (setpgid(0, 0) != 0) ts_spawn_fail(report[1], errno);
        if (death_signal > 0) {
            if (prctl(PR_SET_PDEATHSIG, death_signal, 0, 0, 0) != 0) ts_spawn_fail(report[1], errno);
            // The parent died before prctl: nobody will send the signal, so do not start.
            if (getppid() != parent) _exit(127);
        }
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null < 0) ts_spawn_fail(report[1], errno);
        if (dup2(null, 0) < 0 || dup2(stdout_fd, 1) < 0 || dup2(stderr_fd, 2) < 0) ts_spawn_fail(report[1], errno);
        // Ignored signals stay ignored across exec; the runtime needs SIGURG, pipes need SIGPIPE.
        // Every other caught signal is reset to its default by execve itself.
        struct sigaction dfl = {0};
        dfl.sa_handler = SIG_DFL;
        sigemptyset(&dfl.sa_mask);
        sigaction(SIGPIPE, &dfl, NULL);
        ts_real_sigaction(SIGURG, &dfl, NULL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execve(path, argv, envp);
        ts_spawn_fail(report[1], errno);
    }
    int fork_errno = errno;
    ts_real_pthread_sigmask(SIG_SETMASK, &saved, NULL);
    close(report[1]);
    if (pid < 0) {
        close(report[0]);
        return fork_errno;
    }
    int child_errno = 0;
    ssize_t n;
    do { n = read(report[0], &child_errno, sizeof child_errno); } while (n < 0 && errno == EINTR);
    close(report[0]);
    if (n == (ssize_t)sizeof child_errno && child_errno != 0) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        return child_errno;
    }
    *pid_out = pid;
    return 0;
}

// MARK: interrupt

static atomic_int ts_interrupt_first = 0;
static atomic_int ts_interrupt_group = 0;
static atomic_int ts_interrupt_write_fd = -1;
static atomic_int ts_interrupt_read_fd = -1;

static void ts_interrupt_handler(int sig) {
    int saved_errno = errno;
    int group = atomic_load(&ts_interrupt_group);
    if (group > 0) kill(-group, SIGKILL);
    int expected = 0;
    if (atomic_compare_exchange_strong(&ts_interrupt_first, &expected, sig)) {
        int fd = atomic_load(&ts_interrupt_write_fd);
        if (fd >= 0) {
            char byte = (char)sig;
            ssize_t unused = write(fd, &byte, 1);
            (void)unused;
        }
    } else {
        _exit(128 + sig);
    }
    errno = saved_errno;
}

int ts_host_interrupt_install(int *read_fd) {
    int existing = atomic_load(&ts_interrupt_read_fd);
    if (existing >= 0) {
        *read_fd = existing;
        return 0;
    }
    int fds[2];
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return errno;
    atomic_store(&ts_interrupt_write_fd, fds[1]);
    atomic_store(&ts_interrupt_read_fd, fds[0]);
    struct sigaction sa = {0};
    sa.sa_handler = ts_interrupt_handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    int signals[] = {SIGINT, SIGTERM, SIGHUP};
    for (unsigned i = 0; i < sizeof signals / sizeof signals[0]; i++) {
        if (sigaction(signals[i], &sa, NULL) != 0) return errno;
    }
    *read_fd = fds[0];
    return 0;
}

int ts_host_interrupt_signal(void) { return atomic_load(&ts_interrupt_first); }

void ts_host_interrupt_set_group(int pgid) { atomic_store(&ts_interrupt_group, pgid); }
