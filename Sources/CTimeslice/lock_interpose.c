// Lock awareness: interposed pthread lock functions that count the thread-owned
// locks each OS thread holds, so the SIGURG handler never switches a goroutine out
// inside one. Protocol, rules and what is not covered: include/ts_locks.h.
#define _GNU_SOURCE
#include "ts_locks.h"
#include "ts_preempt.h"
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

__thread uint32_t ts_tls_locks __attribute__((tls_model("initial-exec")));

// libc's definitions, resolved on first use (these functions run before main, from
// other libraries' constructors, so no constructor of ours could resolve them in
// time). dlsym does not recurse into them: ld.so's own lock is internal to glibc.
// Two threads resolving at once store the same value.
static void *resolve(const char *name) {
    void *f = dlsym(RTLD_NEXT, name);
    if (!f) {
        static const char message[] = "timeslice: lock_interpose.c: libc's pthread lock function not found\n";
        (void)!write(2, message, sizeof message - 1);
        abort();
    }
    return f;
}

#define REAL(name, ...)                                                              \
    typedef int (*name##_fn)(__VA_ARGS__);                                           \
    static name##_fn real_##name;                                                    \
    static inline name##_fn get_##name(void) {                                       \
        name##_fn f = __atomic_load_n(&real_##name, __ATOMIC_RELAXED);               \
        if (__builtin_expect(f == NULL, 0)) {                                        \
            f = (name##_fn)resolve(#name);                                           \
            __atomic_store_n(&real_##name, f, __ATOMIC_RELAXED);                     \
        }                                                                            \
        return f;                                                                    \
    }

REAL(pthread_mutex_lock, pthread_mutex_t *)
REAL(pthread_mutex_trylock, pthread_mutex_t *)
REAL(pthread_mutex_timedlock, pthread_mutex_t *, const struct timespec *)
REAL(pthread_mutex_clocklock, pthread_mutex_t *, clockid_t, const struct timespec *)
REAL(pthread_mutex_unlock, pthread_mutex_t *)
REAL(pthread_rwlock_rdlock, pthread_rwlock_t *)
REAL(pthread_rwlock_wrlock, pthread_rwlock_t *)
REAL(pthread_rwlock_tryrdlock, pthread_rwlock_t *)
REAL(pthread_rwlock_trywrlock, pthread_rwlock_t *)
REAL(pthread_rwlock_timedrdlock, pthread_rwlock_t *, const struct timespec *)
REAL(pthread_rwlock_timedwrlock, pthread_rwlock_t *, const struct timespec *)
REAL(pthread_rwlock_clockrdlock, pthread_rwlock_t *, clockid_t, const struct timespec *)
REAL(pthread_rwlock_clockwrlock, pthread_rwlock_t *, clockid_t, const struct timespec *)
REAL(pthread_rwlock_unlock, pthread_rwlock_t *)
REAL(pthread_spin_lock, pthread_spinlock_t *)
REAL(pthread_spin_trylock, pthread_spinlock_t *)
REAL(pthread_spin_unlock, pthread_spinlock_t *)

// Acquire: count first, uncount on failure. EOWNERDEAD (robust mutex) means held.
#define ACQUIRE(call)                                                                \
    ts_lock_enter();                                                                 \
    int rc = (call);                                                                 \
    if (__builtin_expect(rc != 0, 0) && rc != EOWNERDEAD) ts_lock_exit();            \
    return rc;

// Release: libc first, then uncount (honours a deferred preemption at zero).
#define RELEASE(call)                                                                \
    int rc = (call);                                                                 \
    if (__builtin_expect(rc == 0, 1)) ts_lock_exit();                                \
    return rc;

int pthread_mutex_lock(pthread_mutex_t *m) { ACQUIRE(get_pthread_mutex_lock()(m)) }
int pthread_mutex_trylock(pthread_mutex_t *m) { ACQUIRE(get_pthread_mutex_trylock()(m)) }
int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *t) {
    ACQUIRE(get_pthread_mutex_timedlock()(m, t))
}
int pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t c, const struct timespec *t) {
    ACQUIRE(get_pthread_mutex_clocklock()(m, c, t))
}
int pthread_mutex_unlock(pthread_mutex_t *m) { RELEASE(get_pthread_mutex_unlock()(m)) }

int pthread_rwlock_rdlock(pthread_rwlock_t *l) { ACQUIRE(get_pthread_rwlock_rdlock()(l)) }
int pthread_rwlock_wrlock(pthread_rwlock_t *l) { ACQUIRE(get_pthread_rwlock_wrlock()(l)) }
int pthread_rwlock_tryrdlock(pthread_rwlock_t *l) { ACQUIRE(get_pthread_rwlock_tryrdlock()(l)) }
int pthread_rwlock_trywrlock(pthread_rwlock_t *l) { ACQUIRE(get_pthread_rwlock_trywrlock()(l)) }
int pthread_rwlock_timedrdlock(pthread_rwlock_t *l, const struct timespec *t) {
    ACQUIRE(get_pthread_rwlock_timedrdlock()(l, t))
}
int pthread_rwlock_timedwrlock(pthread_rwlock_t *l, const struct timespec *t) {
    ACQUIRE(get_pthread_rwlock_timedwrlock()(l, t))
}
int pthread_rwlock_clockrdlock(pthread_rwlock_t *l, clockid_t c, const struct timespec *t) {
    ACQUIRE(get_pthread_rwlock_clockrdlock()(l, c, t))
}
int pthread_rwlock_clockwrlock(pthread_rwlock_t *l, clockid_t c, const struct timespec *t) {
    ACQUIRE(get_pthread_rwlock_clockwrlock()(l, c, t))
}
int pthread_rwlock_unlock(pthread_rwlock_t *l) { RELEASE(get_pthread_rwlock_unlock()(l)) }

int pthread_spin_lock(pthread_spinlock_t *l) { ACQUIRE(get_pthread_spin_lock()(l)) }
int pthread_spin_trylock(pthread_spinlock_t *l) { ACQUIRE(get_pthread_spin_trylock()(l)) }
int pthread_spin_unlock(pthread_spinlock_t *l) { RELEASE(get_pthread_spin_unlock()(l)) }

// The last release with a preemption pending: switch now if the handler itself
// could have (outside runtime code and blockingCall, which honour it at their own
// end; on the goroutine's stack; every caller main-executable code). Otherwise the
// request stays outstanding and sysmon's next signal finds the count at zero.
__attribute__((noinline)) void ts_locks_released(ts_g *g) {
    if (g->nopreempt || g->in_syscall || ts_lock_count() != 0) return;
    uintptr_t fp = (uintptr_t)__builtin_frame_address(0);
    if (fp <= g->stack_lo || fp > g->stack_hi) return;   // g0 between setting ts_tls_g and switching
    if (!ts_frame_chain_is_safe(fp, g)) return;
    ts_preempt_honour(g);
}
