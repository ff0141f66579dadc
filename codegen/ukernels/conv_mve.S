/* Helium (MVE) micro-kernel of the float convolutions with a window
 * (codegen/flib.py: the detector's 3x3 convolutions).
 *
 * The same register block as pointwise_mve.S -- n <= 7 output pixels x 4
 * output channels, 28 partial sums in q0-q6, per input channel one vldrw of 4
 * packed weights, one LDM of 7 input pixels and 7 vfma -- run over a list of
 * taps: for each tap (ky, kx) the input pointer moves to the pixels that tap
 * reads and the weights to that tap's block, and the reduction over the input
 * channels goes on in the same registers. The caller leaves out the taps
 * whose rows are padding (the top and bottom output rows) and keeps the
 * block's columns inside the image, so no bounds test runs in the loop.
 *
 * void conv_f32x4_block<n>(float *acc, const float *in, const float *w,
 *                          const int32_t *taps, int32_t ntaps, int32_t k,
 *                          int32_t in_stride_bytes, int32_t acc_stride_bytes)
 *   taps: ntaps pairs (input byte offset, weight byte offset)
 *   acc[o * acc_stride + p] = sum_t sum_{c < k} in'[c * in_stride + p] * w'[4 * c + o]
 *   with in' = in + taps[2t], w' = w + taps[2t + 1] (bytes), p < n, o < 4.
 */
        .syntax unified
        .thumb
        .text

/* frame after the pushes: acc, in, w saved at sp+0/4/8; the stacked
 * arguments after 9 + 16 pushed words and the 16 bytes of locals */
#define SAVED_ACC 0
#define SAVED_IN 4
#define SAVED_W 8
#define ARG_NTAPS 116
#define ARG_K 120
#define ARG_IN_STRIDE 124
#define ARG_ACC_STRIDE 128

#include "f32x4_block.h"

        .macro CONV_BLOCK n
        .global conv_f32x4_block\n
        .type   conv_f32x4_block\n, %function
        .p2align 2
conv_f32x4_block\n:
        push    {r4-r11, lr}
        vpush   {d8-d15}                /* q4-q7 are callee-saved */
        sub     sp, sp, #16
        str     r0, [sp, #SAVED_ACC]
        str     r1, [sp, #SAVED_IN]
        str     r2, [sp, #SAVED_W]
        mov     r0, r3                  /* r0: the next tap */
        ldr     r11, [sp, #ARG_NTAPS]   /* r11: taps left */
        ldr     r3, [sp, #ARG_K]        /* r3: input channels */
        ldr     r12, [sp, #ARG_IN_STRIDE]
        ZERO    \n
        cmp     r11, #0
        beq     5f
6:
        ldr     r1, [sp, #SAVED_IN]
        ldr     r4, [r0], #4
        add     r1, r4
        ldr     r2, [sp, #SAVED_W]
        ldr     r4, [r0], #4
        add     r2, r4
        REDUCE  \n
        subs    r11, r11, #1
        bne     6b
5:
        ldr     r0, [sp, #SAVED_ACC]
        ldr     r11, [sp, #ARG_ACC_STRIDE]
        SCATTER \n
        add     sp, sp, #16
        vpop    {d8-d15}
        pop     {r4-r11, pc}
        .size   conv_f32x4_block\n, . - conv_f32x4_block\n
        .endm

        CONV_BLOCK 1
        CONV_BLOCK 2
        CONV_BLOCK 3
        CONV_BLOCK 4
        CONV_BLOCK 5
        CONV_BLOCK 6
        CONV_BLOCK 7
