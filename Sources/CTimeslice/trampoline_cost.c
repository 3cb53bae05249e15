// What the async-preemption trampoline's register-state save costs (preempt_x86_64.S):
// the same XSAVEC (XSAVE where the CPU lacks it) of every enabled component into a
// 64-byte aligned area of ts_xsave_bytes, and XRSTOR from it, timed in a loop on the
// calling thread's live state (the init optimisation skips components that are in their
// initial state, as in the trampoline). The preemption bench prints it beside the cost
// per delivered preemption: it bounds what switching from inside the signal handler,
// where the kernel has already saved this state in the signal frame, could save.
#define _GNU_SOURCE
#include "ts_preempt.h"
#include "ts_runtime.h"
#include <stdlib.h>
#include <string.h>

extern uint32_t ts_xsave_bytes;      // preempt.c, set by ts_preempt_install
extern uint8_t ts_xsave_compacted;

double ts_cost_trampoline_state(uint64_t iterations, uint32_t *area_bytes) {
#if defined(__x86_64__)
    uint32_t bytes = __atomic_load_n(&ts_xsave_bytes, __ATOMIC_RELAXED);
    if (bytes == 0 || iterations == 0) return -1;
    unsigned char *area = aligned_alloc(64, bytes);
    if (!area) return -1;
    memset(area, 0, bytes);   // header bytes 8..63 must be zero for XRSTOR (as the trampoline)
    int compacted = ts_xsave_compacted != 0;
    uint64_t start = ts_monotonic_ns();
    for (uint64_t i = 0; i < iterations; i++) {
        if (compacted) __asm__ volatile("xsavec64 (%0)" :: "r"(area), "a"(-1), "d"(-1) : "memory");
        else __asm__ volatile("xsave64 (%0)" :: "r"(area), "a"(-1), "d"(-1) : "memory");
        __asm__ volatile("xrstor64 (%0)" :: "r"(area), "a"(-1), "d"(-1) : "memory");
    }
    double ns = (double)(ts_monotonic_ns() - start) / (double)iterations;
    free(area);
    if (area_bytes) *area_bytes = bytes;
    return ns;
#else
    (void)iterations; (void)area_bytes;
    return -1;
#endif
}
