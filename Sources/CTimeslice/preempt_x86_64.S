// Asynchronous-preemption trampoline for x86_64 System V ELF (see ts_preempt.h).
// Entered "as if called" from the interrupted PC, which the signal handler
// pushed below the 128-byte red zone. Saved layout, from the final rsp up:
//     [xsave area, 64-byte aligned, ts_xsave_bytes]   (rbx holds the rsp before it)
//     r15 r14 r13 r12 r11 r10 r9 r8 rbp rdi rsi rdx rcx rbx rax   (15 × 8)
//     rflags
//     interrupted PC                                  <- rsp at entry
//     128-byte red zone of the interrupted frame
#if defined(__x86_64__)
    .text
    .globl ts_async_preempt_trampoline
    .type ts_async_preempt_trampoline, @function
    .p2align 4
ts_async_preempt_trampoline:
    .cfi_startproc
    pushfq
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    cld                                 // the ABI requires DF = 0 at calls
    movq %rsp, %rbx                     // callee-saved: survives the callback
    movl ts_xsave_bytes(%rip), %eax
    subq %rax, %rsp
    andq $-64, %rsp                     // xsave needs 64-byte alignment
    // XRSTOR faults unless header bytes 8..63 are zero; XSAVE does not write them.
    xorl %eax, %eax
    movq %rax, 512(%rsp)
    movq %rax, 520(%rsp)
    movq %rax, 528(%rsp)
    movq %rax, 536(%rsp)
    movq %rax, 544(%rsp)
    movq %rax, 552(%rsp)
    movq %rax, 560(%rsp)
    movq %rax, 568(%rsp)
    movl $-1, %eax
    movl $-1, %edx
    // XSAVEC where the CPU has it: compacted, and components in their initial state
    // (AVX-512 upper halves, AMX tiles: 8 KB of the 11 KB area on a Sapphire Rapids
    // class CPU, untouched by most code) are not written; XRSTOR reads the header and
    // re-initialises them. Plain XSAVE writes the whole area every time.
    cmpb $0, ts_xsave_compacted(%rip)
    je 1f
    xsavec64 (%rsp)
    jmp 2f
1:  xsave64 (%rsp)
2:  movq ts_preempt_callback(%rip), %rax
    callq *%rax                         // switches to g0; returns when resumed
    movl $-1, %eax
    movl $-1, %edx
    xrstor64 (%rsp)
    movq %rbx, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
    popfq
    ret $128                            // pop the PC, then step over the red zone
    .cfi_endproc
    .size ts_async_preempt_trampoline, .-ts_async_preempt_trampoline
#endif
    .section .note.GNU-stack,"",@progbits
