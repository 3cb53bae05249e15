// What the interpositions cost on their fast paths, measured in one run against the
// functions they forward to (the preemption bench reports it; timing never lives in
// tests): an uncontended pthread mutex lock + unlock through lock_interpose.c versus
// libc's own pair, and swift_once on an initialised token through once_interpose.c
// versus the Swift runtime's (its slow path alone under --static-swift-stdlib, where
// the runtime's swift_once is replaced; the report says which).
#define _GNU_SOURCE
#include "ts_preempt.h"
#include "ts_runtime.h"
#include "ts_once.h"
#include <dlfcn.h>
#include <pthread.h>

extern void swift_once(void *predicate, void (*body)(void *), void *context);
extern void ts_runtime_once_slow(void *predicate, void (*body)(void *), void *context)
    __asm__("_ZN5swift14threading_impl9once_slowERNS0_6once_tEPFvPvES3_") __attribute__((weak));

static void nothing(void *context) { (void)context; }

typedef int (*mutex_fn)(pthread_mutex_t *);
typedef void (*once_fn)(void *, void (*)(void *), void *);

// ns per call (pair) over `iterations`; -1 when the libc/runtime function is not found.
double ts_cost_mutex_pair(uint64_t iterations, int through_libc) {
    static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
    mutex_fn lock = pthread_mutex_lock, unlock = pthread_mutex_unlock;
    if (through_libc) {
        lock = (mutex_fn)dlsym(RTLD_NEXT, "pthread_mutex_lock");
        unlock = (mutex_fn)dlsym(RTLD_NEXT, "pthread_mutex_unlock");
        if (!lock || !unlock) return -1;
    }
    uint64_t start = ts_monotonic_ns();
    for (uint64_t i = 0; i < iterations; i++) {
        lock(&mutex);
        __asm__ volatile("" ::: "memory");
        unlock(&mutex);
    }
    return (double)(ts_monotonic_ns() - start) / (double)iterations;
}

// `which`: 0 the interposer, 1 the runtime's (swift_once, or once_slow when static).
// Returns 1 in *runtime_is_slow_path when the runtime's is only its slow path.
double ts_cost_once_initialised(uint64_t iterations, int which, int *runtime_is_slow_path) {
    static int32_t token[4];
    once_fn f = swift_once;
    *runtime_is_slow_path = 0;
    if (which) {
        f = (once_fn)dlsym(RTLD_NEXT, "swift_once");
        if (!f) {
            f = ts_runtime_once_slow;
            *runtime_is_slow_path = 1;
        }
        if (!f) return -1;
    }
    f(token, nothing, NULL);   // initialise
    uint64_t start = ts_monotonic_ns();
    for (uint64_t i = 0; i < iterations; i++) {
        f(token, nothing, NULL);
        __asm__ volatile("" ::: "memory");
    }
    return (double)(ts_monotonic_ns() - start) / (double)iterations;
}
