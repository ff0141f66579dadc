/* Helium (MVE) micro-kernel of the 1x1 convolutions (codegen rule 3e).
 *
 * The hot loop of a 1x1 convolution is a multiply-add of a weight column by an
 * input row. TVM's LLVM backend, left to itself, spends 13 instructions on 24
 * MACs there (it cannot use LDM, and keeps a pointer add per operand). Here a
 * block of n <= 7 pixels x 4 output channels keeps its 28 partial sums in
 * q0-q6, and each step of the reduction is
 *
 *     vldrw  q7 <- 4 weights (the next 4 output channels' weights of channel k)
 *     ldm    r4-r10 <- 7 input pixels of channel k
 *     add    input pointer, next channel's row
 *     7 x vfma q_p += q7 * r_p
 *
 * and the loop runs four such steps per iteration (low-overhead loop, one le):
 * 41 instructions per 112 MACs. The weights are packed by the compiler as
 * [out_channels / 4][in_channels][4] so that vldrw post-increments.
 *
 * void pointwise_f32x4_block<n>(float *acc, const float *in, const float *w,
 *                               int32_t k, int32_t in_stride_bytes,
 *                               int32_t acc_stride_bytes)
 *   acc[o * acc_stride + p] = sum_k in[k * in_stride + p] * w[4 * k + o]
 *   for p < n, o < 4 (acc rows are the output channels, as TVM's epilogue
 *   reads them: each pixel's 4 sums are scattered once, at the end).
 */
        .syntax unified
        .thumb
        .text

#include "f32x4_block.h"

        .macro POINTWISE_BLOCK n
        .global pointwise_f32x4_block\n
        .type   pointwise_f32x4_block\n, %function
        .p2align 2
pointwise_f32x4_block\n:
        push    {r4-r11, lr}
        vpush   {d8-d15}                /* q4-q7 are callee-saved */
        ldr     r12, [sp, #100]         /* in_stride_bytes (9 + 16 words pushed) */
        ldr     r11, [sp, #104]         /* acc_stride_bytes */
        ZERO    \n
        REDUCE  \n
        SCATTER \n
        vpop    {d8-d15}
        pop     {r4-r11, pc}
        .size   pointwise_f32x4_block\n, . - pointwise_f32x4_block\n
        .endm

        POINTWISE_BLOCK 1
        POINTWISE_BLOCK 2
        POINTWISE_BLOCK 3
        POINTWISE_BLOCK 4
        POINTWISE_BLOCK 5
        POINTWISE_BLOCK 6
        POINTWISE_BLOCK 7
