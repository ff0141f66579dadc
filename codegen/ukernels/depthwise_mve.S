/* Helium (MVE) strips of the float depthwise convolution (f32_depthwise.c).
 *
 * One call computes the 16-column strips of one output row of one channel:
 * the 16 sums in q0-q3 start at the folded bias, and every tap (ky, kx) is
 *
 *     ldr    r9 <- its weight
 *     4 x (vldrw q4|q5 <- 4 inputs; vfma q_j += q4|q5 * r9)
 *
 * with each input at the row pointer plus an immediate offset (the rows are
 * zero-padded in the ring, so there is no border test): 9 instructions per
 * 16 MACs. GCC's code from the same intrinsics spent 11-12 (an address add per
 * tap, weights spilled). Then the activation (hard-swish rounded as the ONNX
 * graph does it: a multiply, an add, no fused multiply-add) and 4 vstrw.
 *
 * void depthwise_f32_k<K>s<S>(const float *const *rows, const float *w,
 *                             float *out, int32_t strips,
 *                             int32_t half_bytes, int32_t act)
 *   for ox < 16 strips:
 *   out[ox] = act(w[K K] + sum_{ky, kx} w[ky K + kx] * rows[ky][tap(kx) + ox])
 *   tap(kx) = kx for S = 1; for S = 2 the rows are de-interleaved: even kx at
 *   kx / 2, odd kx at half_bytes / 4 + kx / 2.
 *   act: 0 none, 1 relu, 2 hard-swish (flib.ACTIVATIONS).
 */
        .syntax unified
        .thumb
        .text

/* 4 inputs per register, 16 columns per tap: q4 and q5 take turns so a load
   need not wait for the previous FMA. */
        .macro TAP base, offset, weight
        ldr     r9, [r1, #\weight]
        vldrw.32 q4, [\base, #\offset]
        vfma.f32 q0, q4, r9
        vldrw.32 q5, [\base, #(\offset + 16)]
        vfma.f32 q1, q5, r9
        vldrw.32 q4, [\base, #(\offset + 32)]
        vfma.f32 q2, q4, r9
        vldrw.32 q5, [\base, #(\offset + 48)]
        vfma.f32 q3, q5, r9
        .endm

/* the K x K taps of a strip: row ky at rows[ky] + the strip's offset (r6),
   its odd columns (S = 2) at that + half_bytes (r4) */
        .macro TAPS k, s
        .set    ky, 0
        .rept   \k
        ldr     r7, [r0, #(ky * 4)]
        add     r7, r7, r6
        .if     \s == 2
        add     r8, r7, r4
        .endif
        .set    kx, 0
        .rept   \k
        .if     \s == 1
        TAP     r7, (kx * 4), ((ky * \k + kx) * 4)
        .elseif (kx & 1)
        TAP     r8, ((kx >> 1) * 4), ((ky * \k + kx) * 4)
        .else
        TAP     r7, ((kx >> 1) * 4), ((ky * \k + kx) * 4)
        .endif
        .set    kx, kx + 1
        .endr
        .set    ky, ky + 1
        .endr
        .endm

/* q_j = q_j * clip(q_j * (1/6) + 0.5, 0, 1): r10 = 1/6, r11 = 0.5, q6 = 0, q7 = 1 */
        .macro HARDSWISH j
        vmul.f32 q4, q\j, r10
        vadd.f32 q4, q4, r11
        vmaxnm.f32 q4, q4, q6
        vminnm.f32 q4, q4, q7
        vmul.f32 q\j, q\j, q4
        .endm

        .macro DEPTHWISE k, s
        .global depthwise_f32_k\k\()s\s
        .type   depthwise_f32_k\k\()s\s, %function
        .p2align 2
depthwise_f32_k\k\()s\s:
        push    {r4-r11, lr}
        vpush   {d8-d15}                /* q4-q7 are callee-saved */
        ldr     r4, [sp, #100]          /* half_bytes (9 + 16 words pushed) */
        ldr     r5, [sp, #104]          /* act */
        cmp     r3, #0
        beq     9f
        ldr     r12, [r1, #(\k * \k * 4)]       /* the bias */
        movw    r10, #0xaaab            /* 1/6 = 0x3e2aaaab, as the graph's constant */
        movt    r10, #0x3e2a
        mov     r11, #0x3f000000        /* 0.5 */
        vmov.i32 q6, #0
        vmov.f32 q7, #1.0
        movs    r6, #0                  /* the strip's byte offset in a row */
        dls     lr, r3
1:      vdup.32 q0, r12
        vdup.32 q1, r12
        vdup.32 q2, r12
        vdup.32 q3, r12
        TAPS    \k, \s
        cmp     r5, #1
        blt     3f
        bgt     2f
        vmaxnm.f32 q0, q0, q6
        vmaxnm.f32 q1, q1, q6
        vmaxnm.f32 q2, q2, q6
        vmaxnm.f32 q3, q3, q6
        b       3f
2:      HARDSWISH 0
        HARDSWISH 1
        HARDSWISH 2
        HARDSWISH 3
3:      vstrw.32 q0, [r2]
        vstrw.32 q1, [r2, #16]
        vstrw.32 q2, [r2, #32]
        vstrw.32 q3, [r2, #48]
        adds    r2, r2, #64
        adds    r6, r6, #64
        le      lr, 1b
9:      vpop    {d8-d15}
        pop     {r4-r11, pc}
        .size   depthwise_f32_k\k\()s\s, . - depthwise_f32_k\k\()s\s
        .endm

        DEPTHWISE 3, 1
        DEPTHWISE 3, 2
        DEPTHWISE 5, 1
        DEPTHWISE 5, 2

/* void depthwise_copy_f32(float *dst, const float *src, int32_t n)
 * dst[i] = src[i] (src == 0: 0) for i < n: a tail-predicated loop, 3
 * instructions per 4 floats (the ring's rows, see load_row) */
        .global depthwise_copy_f32
        .type   depthwise_copy_f32, %function
        .p2align 2
depthwise_copy_f32:
        push    {r4, lr}
        cbz     r1, 2f
        wlstp.32 lr, r2, 9f
1:      vldrw.32 q0, [r1], #16
        vstrw.32 q0, [r0], #16
        letp    lr, 1b
        b       9f
2:      vmov.i32 q0, #0
        wlstp.32 lr, r2, 9f
3:      vstrw.32 q0, [r0], #16
        letp    lr, 3b
9:      pop     {r4, pc}
        .size   depthwise_copy_f32, . - depthwise_copy_f32
