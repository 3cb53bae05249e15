// Cooperative context switch between stacks (x86_64 System V).
//
// A suspended context is a single stack pointer. Below it, the switch pushed
// (offset from the saved sp → content):
//     0  MXCSR (4 bytes) | x87 control word (2 bytes) | pad
//     8  r15
//    16  r14
//    24  r13
//    32  r12
//    40  rbx
//    48  rbp
//    56  return address (where the context resumes)
// Only callee-saved state is kept: a cooperative switch is a function call, so
// the caller already spilled everything the ABI lets a callee clobber.
#ifndef TS_CONTEXT_H
#define TS_CONTEXT_H
#include <stddef.h>
#include <stdint.h>

#define TS_CTX_OFF_FPCTL 0
#define TS_CTX_OFF_R15 8
#define TS_CTX_OFF_R14 16
#define TS_CTX_OFF_R13 24
#define TS_CTX_OFF_R12 32
#define TS_CTX_OFF_RBX 40
#define TS_CTX_OFF_RBP 48
#define TS_CTX_OFF_RET 56
#define TS_CTX_FRAME_SIZE 64

/// Saves the current context into *save_sp and resumes the one at load_sp.
/// Returns when somebody switches back to the saved context.
void ts_context_switch(void **save_sp, void *load_sp);

/// Prepares a fresh context on [stack_lo, stack_hi) that, when switched to,
/// calls entry(arg) on that stack. entry must never return.
void *ts_context_make(uintptr_t stack_lo, uintptr_t stack_hi, void (*entry)(void *), void *arg);

#endif
