#include "ts_context.h"
#include <assert.h>

extern void ts_context_trampoline(void);

static_assert(TS_CTX_OFF_RET == 7 * 8, "the switch pushes 6 registers and an 8-byte FP control slot");
static_assert(TS_CTX_FRAME_SIZE == TS_CTX_OFF_RET + 8, "frame ends after the return address");

void *ts_context_make(uintptr_t stack_lo, uintptr_t stack_hi, void (*entry)(void *), void *arg) {
    (void)stack_lo;
    // After the switch's `ret` pops the return address, rsp = frame + 64 must be
    // 16-byte aligned so that the trampoline's call sees the ABI alignment.
    uintptr_t top = (stack_hi & ~(uintptr_t)15) - 16;
    uintptr_t frame = top - TS_CTX_FRAME_SIZE;
    uint64_t *slot = (uint64_t *)frame;
    uint32_t mxcsr = 0x1F80;       // default: all exceptions masked, round to nearest
    uint16_t fpucw = 0x037F;       // default x87 control word
    slot[0] = (uint64_t)mxcsr | ((uint64_t)fpucw << 32);
    slot[TS_CTX_OFF_R15 / 8] = 0;
    slot[TS_CTX_OFF_R14 / 8] = 0;
    slot[TS_CTX_OFF_R13 / 8] = (uint64_t)arg;
    slot[TS_CTX_OFF_R12 / 8] = (uint64_t)entry;
    slot[TS_CTX_OFF_RBX / 8] = 0;
    slot[TS_CTX_OFF_RBP / 8] = 0;
    slot[TS_CTX_OFF_RET / 8] = (uint64_t)ts_context_trampoline;
    return (void *)frame;
}
