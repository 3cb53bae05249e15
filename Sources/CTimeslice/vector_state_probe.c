// A probe of the vector state the preemption trampoline saves (preempt_x86_64.S):
// AVX-512's zmm16-31 and opmask registers, which the compiler never uses in Swift
// code built for the baseline x86-64, so a loop in one asm block keeps them live
// across any number of asynchronous preemptions. Used by the preemption tests; it
// is user code as far as the safe-point rules go (main-executable text, frame
// pointer kept), so the handler preempts it like any hog.
#include "ts_preempt.h"
#include <stdint.h>
#include <string.h>

__attribute__((target("avx512f,avx512bw")))
int ts_vector_state_probe(uint64_t seed, uint64_t iterations, uint64_t *mismatches) {
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw")) return -1;
    uint64_t in[16][8], out[16][8];
    for (int r = 0; r < 16; r++)
        for (int l = 0; l < 8; l++) in[r][l] = seed * 0x9E3779B97F4A7C15ull + (uint64_t)(r * 8 + l);
    uint64_t masks_in = seed ^ 0x5A5A, masks_out[7];
    __asm__ volatile(
        "kmovq %[m], %%k1\n\t kmovq %%k1, %%k2\n\t knotq %%k1, %%k3\n\t kmovq %%k1, %%k4\n\t"
        "kmovq %%k3, %%k5\n\t kmovq %%k1, %%k6\n\t kmovq %%k3, %%k7\n\t"
        "vmovdqu64 0(%[in]), %%zmm16\n\t vmovdqu64 64(%[in]), %%zmm17\n\t"
        "vmovdqu64 128(%[in]), %%zmm18\n\t vmovdqu64 192(%[in]), %%zmm19\n\t"
        "vmovdqu64 256(%[in]), %%zmm20\n\t vmovdqu64 320(%[in]), %%zmm21\n\t"
        "vmovdqu64 384(%[in]), %%zmm22\n\t vmovdqu64 448(%[in]), %%zmm23\n\t"
        "vmovdqu64 512(%[in]), %%zmm24\n\t vmovdqu64 576(%[in]), %%zmm25\n\t"
        "vmovdqu64 640(%[in]), %%zmm26\n\t vmovdqu64 704(%[in]), %%zmm27\n\t"
        "vmovdqu64 768(%[in]), %%zmm28\n\t vmovdqu64 832(%[in]), %%zmm29\n\t"
        "vmovdqu64 896(%[in]), %%zmm30\n\t vmovdqu64 960(%[in]), %%zmm31\n\t"
        "1: decq %[n]\n\t jnz 1b\n\t"
        "vmovdqu64 %%zmm16, 0(%[out])\n\t vmovdqu64 %%zmm17, 64(%[out])\n\t"
        "vmovdqu64 %%zmm18, 128(%[out])\n\t vmovdqu64 %%zmm19, 192(%[out])\n\t"
        "vmovdqu64 %%zmm20, 256(%[out])\n\t vmovdqu64 %%zmm21, 320(%[out])\n\t"
        "vmovdqu64 %%zmm22, 384(%[out])\n\t vmovdqu64 %%zmm23, 448(%[out])\n\t"
        "vmovdqu64 %%zmm24, 512(%[out])\n\t vmovdqu64 %%zmm25, 576(%[out])\n\t"
        "vmovdqu64 %%zmm26, 640(%[out])\n\t vmovdqu64 %%zmm27, 704(%[out])\n\t"
        "vmovdqu64 %%zmm28, 768(%[out])\n\t vmovdqu64 %%zmm29, 832(%[out])\n\t"
        "vmovdqu64 %%zmm30, 896(%[out])\n\t vmovdqu64 %%zmm31, 960(%[out])\n\t"
        "kmovq %%k1, 0(%[mo])\n\t kmovq %%k2, 8(%[mo])\n\t kmovq %%k3, 16(%[mo])\n\t"
        "kmovq %%k4, 24(%[mo])\n\t kmovq %%k5, 32(%[mo])\n\t kmovq %%k6, 40(%[mo])\n\t kmovq %%k7, 48(%[mo])\n\t"
        : [n] "+r"(iterations)
        : [in] "r"(in), [out] "r"(out), [m] "r"(masks_in), [mo] "r"(masks_out)
        : "memory", "cc", "k1", "k2", "k3", "k4", "k5", "k6", "k7",
          "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23",
          "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31");
    uint64_t bad = 0;
    for (int r = 0; r < 16; r++)
        for (int l = 0; l < 8; l++) bad += out[r][l] != in[r][l];
    uint64_t inverted = ~masks_in;
    uint64_t expect[7] = {masks_in, masks_in, inverted, masks_in, inverted, masks_in, inverted};
    for (int k = 0; k < 7; k++) bad += masks_out[k] != expect[k];
    *mismatches = bad;
    return 0;
}
