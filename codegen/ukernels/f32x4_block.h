/* The register block both float micro-kernels share (pointwise_mve.S,
 * conv_mve.S): n <= 7 output pixels x 4 output channels, the 28 partial sums
 * in q0-q6, the 4 weights of a step in q7, the n input pixels in r4-r10, the
 * input pointer in r1 (advanced by the channel stride r12 each step), the
 * weights in r2. Assembler macros, included by both files. */
#ifndef CODEGEN_F32X4_BLOCK_H
#define CODEGEN_F32X4_BLOCK_H

/* store pixel p's 4 sums (q<p>) to acc + 4p + {0, 1, 2, 3} x stride (r11):
 * q7 holds the 4 addresses of the previous pixel and steps by 4 bytes with
 * each store (scatter with writeback) */
        .macro SCATTER n
        movs    r4, #0
        vidup.u32 q7, r4, #1
        vmul.i32 q7, q7, r11
        subs    r4, r0, #4
        vadd.i32 q7, q7, r4
        .irp    p, 0, 1, 2, 3, 4, 5, 6
        .if     \p < \n
        vstrw.32 q\p, [q7, #4]!
        .endif
        .endr
        .endm

        .macro ZERO n
        .irp    p, 0, 1, 2, 3, 4, 5, 6
        .if     \p < \n
        vmov.i32 q\p, #0
        .endif
        .endr
        .endm

/* pixel p (q<p>) += weights (q7) x its input value (register r) */
        .macro VFMA_IF n, p, r
        .if     \p < \n
        vfma.f32 q\p, q7, \r
        .endif
        .endm

/* one step of the reduction: the next input channel's 4 weights and n pixels */
        .macro STEP n
        vldrw.u32 q7, [r2], #16
        .if \n == 1
        ldr     r4, [r1]
        .elseif \n == 2
        ldrd    r4, r5, [r1]
        .elseif \n == 3
        ldm     r1, {r4-r6}
        .elseif \n == 4
        ldm     r1, {r4-r7}
        .elseif \n == 5
        ldm     r1, {r4-r8}
        .elseif \n == 6
        ldm     r1, {r4-r9}
        .else
        ldm     r1, {r4-r10}
        .endif
        add     r1, r12
        VFMA_IF \n, 0, r4
        VFMA_IF \n, 1, r5
        VFMA_IF \n, 2, r6
        VFMA_IF \n, 3, r7
        VFMA_IF \n, 4, r8
        VFMA_IF \n, 5, r9
        VFMA_IF \n, 6, r10
        .endm

/* the whole reduction over r3 input channels (r3 kept, r4 and lr scratch):
 * the rest (r3 % 4) one step at a time, then four steps per low-overhead
 * loop iteration (the loop end is one instruction in 41, not one in 11) */
        .macro REDUCE n
        and     r4, r3, #3
        wls     lr, r4, 2f
4:
        STEP    \n
        le      lr, 4b
2:
        lsrs    r4, r3, #2
        wls     lr, r4, 3f
1:
        STEP    \n
        STEP    \n
        STEP    \n
        STEP    \n
        le      lr, 1b
3:
        .endm

#endif
