// Context switch for x86_64 System V ELF. Frame layout: see include/ts_context.h
// (C checks the offsets with static_assert in context.c).
#if defined(__x86_64__)
    .text
    .globl ts_context_switch
    .type ts_context_switch, @function
    .p2align 4
ts_context_switch:
    .cfi_startproc
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)          // *save_sp = sp
    movq %rsi, %rsp            // sp = load_sp
    // ldmxcsr and fldcw are slow and the values rarely differ between
    // contexts: reload only what changed (the saved words are still at 0(%rdi)).
    movq (%rdi), %rax
    movl (%rax), %ecx          // our MXCSR, as just saved
    cmpl (%rsp), %ecx
    je 1f
    ldmxcsr (%rsp)
1:  movw 4(%rax), %cx          // our x87 control word
    cmpw 4(%rsp), %cx
    je 2f
    fldcw 4(%rsp)
2:  addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .cfi_endproc
    .size ts_context_switch, .-ts_context_switch

// First code a fresh context runs: ts_context_make put entry in r12 and its
// argument in r13. rsp is 16-byte aligned here, as a call requires.
    .globl ts_context_trampoline
    .type ts_context_trampoline, @function
    .p2align 4
ts_context_trampoline:
    .cfi_startproc
    .cfi_undefined rip          // outermost frame: unwinders and debuggers stop here
    movq %r13, %rdi
    callq *%r12
    // The entry function's return address: the SIGURG handler's frame-pointer walk
    // (preempt.c) must reach a frame returning here, the goroutine's entry frame.
    .globl ts_context_trampoline_return
ts_context_trampoline_return:
    ud2                         // entry must never return
    .cfi_endproc
    .size ts_context_trampoline, .-ts_context_trampoline
#endif
    .section .note.GNU-stack,"",@progbits
