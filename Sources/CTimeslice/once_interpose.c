// Lazy statics: the interposed swift_once. Protocol and rules: include/ts_once.h.
#define _GNU_SOURCE
#include "ts_once.h"
#include "ts_locks.h"
#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>

__thread uint32_t ts_tls_once_depth __attribute__((tls_model("initial-exec")));
__thread uint32_t ts_tls_once_wired __attribute__((tls_model("initial-exec")));

typedef void (*once_body_t)(void *);
typedef void (*swift_once_t)(void *predicate, once_body_t body, void *context);

// The Swift runtime's slow path. Global in libswiftCore.a (Linux.cpp.o), so it
// resolves in a --static-swift-stdlib link; local in libswiftCore.so, so NULL there.
extern void ts_runtime_once_slow(void *predicate, once_body_t body, void *context)
    __asm__("_ZN5swift14threading_impl9once_slowERNS0_6once_tEPFvPvES3_") __attribute__((weak));

// Written by the first slow call (several threads may race to store the same
// values); read-only after. The callback is registered before any goroutine runs.
static swift_once_t real_once;
static int fast_path_enabled;
static ts_once_finished_t finished_callback;

void ts_once_install(ts_once_finished_t finished) { __atomic_store_n(&finished_callback, finished, __ATOMIC_RELEASE); }

static void nothing(void *context) { (void)context; }

// The runtime's swift_once when it is a shared library, else its slow path. Then the
// self-test of the fast path's encoding: a fresh token, run once, must read negative.
static swift_once_t resolve(void) {
    swift_once_t f = (swift_once_t)dlsym(RTLD_NEXT, "swift_once");
    if (!f) f = ts_runtime_once_slow;
    if (!f) {
        static const char message[] = "timeslice: once_interpose.c: the Swift runtime's swift_once not found\n";
        (void)!write(2, message, sizeof message - 1);
        abort();
    }
    int32_t token[4] = {0, 0, 0, 0};   // larger than the runtime's once_t (two words)
    f(token, nothing, NULL);
    __atomic_store_n(&fast_path_enabled, token[0] < 0, __ATOMIC_RELEASE);
    __atomic_store_n(&real_once, f, __ATOMIC_RELEASE);
    return f;
}

__attribute__((noinline)) static void once_slow(void *predicate, once_body_t body, void *context) {
    swift_once_t real = __atomic_load_n(&real_once, __ATOMIC_ACQUIRE);
    if (__builtin_expect(real == NULL, 0)) real = resolve();
    // From here to ts_lock_exit the goroutine does not change threads: the handler
    // defers, and a voluntary switch wires it first (OnceInitializers.swift). So the
    // plain thread-local accesses below all name this thread.
    ts_lock_enter();
    ts_tls_once_depth++;
    real(predicate, body, context);
    if (--ts_tls_once_depth == 0 && ts_tls_once_wired) {
        ts_tls_once_wired = 0;
        ts_once_finished_t finished = __atomic_load_n(&finished_callback, __ATOMIC_ACQUIRE);
        if (finished) finished();
    }
    ts_lock_exit();   // honours a preemption deferred meanwhile
}

void swift_once(void *predicate, once_body_t body, void *context) {
    if (__builtin_expect(__atomic_load_n(&fast_path_enabled, __ATOMIC_RELAXED)
                         && __atomic_load_n((const int32_t *)predicate, __ATOMIC_ACQUIRE) < 0, 1))
        return;
    once_slow(predicate, body, context);
}
