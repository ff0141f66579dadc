/* int8 library kernels (codegen/qnn.py emits the calls): whole int8 layers
 * with int32 accumulation, per-channel fixed-point requantization and an output
 * look-up table. x and y are NCHW with N = 1.
 *
 *   codegen_s8_pointwise  1x1 convolution, stride 1
 *   codegen_s8_depthwise  depthwise convolution, any kernel size and stride,
 *                         padding with the input zero point
 *   codegen_s8_conv       any other convolution (groups 1): im2col tiles and
 *                         the pointwise kernel's product
 *   codegen_s8_matmul     x [rows][k] (row-major) times a constant [k][n], per
 *                         column requantization, y [rows][n]
 *
 * Every kernel ends the same way, for output channel o:
 *
 *   q = clamp(zy + ((acc * mult[o] + 2^(shift[o]-1)) >> shift[o]), -128, 127)
 *   y = lut[q + 128]
 *
 * the single-rounding requantization of TFLM/CMSIS-NN (TFLITE_SINGLE_ROUNDING /
 * CMSIS_NN_USE_SINGLE_ROUNDING): mult in [2^30, 2^31), 1 <= shift <= 62 (one
 * byte per channel: the 62 fits, and the weights blob is 3 bytes a channel smaller). acc
 * starts at bias[o], which holds the input zero point's share (-zx * sum w),
 * so the sums run over the raw int8 values. The table is the quantized
 * activation that followed the convolution in the QDQ model (hard-swish,
 * sigmoid...), computed by the compiler; identity when there is none.
 * codegen/qnn.py's numpy references do the same integer arithmetic, so the
 * results are bit-exact, on the Helium path and on the portable C path (host).
 *
 * ---- codegen_s8_pointwise
 *   acc = bias[o] + sum_{c < cin} x[c * pixels + p] * W[o][c]
 * Weights come packed by the compiler (qnn.pack_pointwise): output channels in
 * pairs, input channels in chunks of 16, zero-padded to a multiple of 16 and to
 * an even channel count:  w[((o / 2) * chunks + k) * 32 + (o % 2) * 16 + j]
 * = W[o][16 k + j]; bias, mult and shift are padded to the even count.
 * Helium: VMLADAVA.S8 multiplies 16 int8 pairs and adds them to a scalar int32
 * in one instruction, so the reduction must run along the input channels,
 * which NCHW keeps `pixels` apart. Each tile of pixels is therefore first
 * transposed onto the stack (VSTRB scatter: 8 bytes per instruction pair, one
 * pass over the input shared by all output channels); then a block of 2
 * output channels x 3 pixels keeps its 6 sums in registers over the whole
 * reduction: per 16 input channels 2 weight loads, 3 input loads and 6
 * VMLADAVA (96 MACs in 12 instructions with the loop's LE).
 *
 * ---- codegen_s8_conv
 *   acc = bias[o] + sum_{c, ky, kx} xp[c][oy * sh + ky][ox * sw + kx] * W[o][c][ky][kx]
 * xp as for depthwise. Weights packed as pointwise's with the reduction in
 * (ky, kx, c) order (qnn.pack_conv). Helium: each tile of pixels gets its
 * patches copied to the stack (im2col: 8-lane gathers of a tap's channels),
 * then the same 2 x 3 VMLADAVA blocks.
 *
 * ---- codegen_s8_matmul
 *   acc = bias[o] + sum_{c < k} x[r * k + c] * W[c][o]
 * W^T packed as pointwise's (output columns in pairs); x's rows are the
 * reduction vectors as they are (copied only to pad k to a multiple of 16);
 * the outputs of a column go out by byte scatter.
 *
 * ---- codegen_s8_depthwise
 *   acc = bias[c] + sum_{ky, kx} xp[c][oy * sh + ky][ox * sw + kx] * W[c][ky][kx]
 * xp: x padded with the input zero point (pad_top/left given, bottom/right as
 * out_h/out_w need). Weights as the model has them: [C][kh][kw].
 * Helium: the input rows are copied, padded, to a stack buffer (as many as
 * it holds, so each row about once per channel); 16 outputs stay in 4 int32
 * vectors while each tap adds (VLDRB.S32 of 4 pixels, or a gather for
 * stride 2) x (the tap, a scalar): 9 instructions per tap and 16 outputs.
 */
#include <stdint.h>

#define TILE_BYTES 4096 /* the transposed input tile: the stack-array limit */
#define TILE_PIXELS_MAX 48
#define DW_ROWS_BYTES 4096 /* depthwise: the padded input rows of one output row */
#define DW_BLOCK 16        /* depthwise: outputs per register block */

/* The padded row width the depthwise kernel reads: whole blocks of DW_BLOCK
   outputs (the last block's extra lanes read padding, never stored). */
static inline int32_t dw_row_bytes(int32_t out_w, int32_t kernel_w, int32_t stride_w)
{
    int32_t blocks = (out_w + DW_BLOCK - 1) / DW_BLOCK;
    return ((blocks * DW_BLOCK - 1) * stride_w + kernel_w + 15) / 16 * 16;
}

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include <arm_mve.h>

/* x: the tile, pixel p's 16-channel chunk k at x + p * stride + 16 k. */
/* 2 output channels x NPIX pixels: pixel i's chunk k at x + i * pstride + k * step. */
#define DOT_BLOCK(NPIX)                                                                       \
    static inline void dot_2x##NPIX(const int8_t *w, const int8_t *x, int32_t pstride,       \
                                    int32_t step, int32_t chunks, int32_t b0, int32_t b1,    \
                                    int32_t *acc0, int32_t *acc1)                            \
    {                                                                                         \
        int32_t s00 = b0, s01 = b0, s02 = b0, s10 = b1, s11 = b1, s12 = b1;                 \
        const int8_t *x0 = x, *x1 = x + pstride, *x2 = x + 2 * pstride;                      \
        (void)x1; (void)x2; (void)s01; (void)s02; (void)s11; (void)s12;                      \
        for (int32_t k = 0; k < chunks; k++) {                                                \
            int8x16_t w1 = vld1q_s8(w + 16);                                                  \
            int8x16_t w0 = vld1q_s8(w);                                                       \
            w += 32;                                                                          \
            int8x16_t v0 = vld1q_s8(x0);                                                      \
            x0 += step;                                                                       \
            s00 = vmladavaq_s8(s00, w0, v0);                                                  \
            s10 = vmladavaq_s8(s10, w1, v0);                                                  \
            if (NPIX > 1) {                                                                   \
                int8x16_t v1 = vld1q_s8(x1);                                                  \
                x1 += step;                                                                   \
                s01 = vmladavaq_s8(s01, w0, v1);                                              \
                s11 = vmladavaq_s8(s11, w1, v1);                                              \
            }                                                                                 \
            if (NPIX > 2) {                                                                   \
                int8x16_t v2 = vld1q_s8(x2);                                                  \
                x2 += step;                                                                   \
                s02 = vmladavaq_s8(s02, w0, v2);                                              \
                s12 = vmladavaq_s8(s12, w1, v2);                                              \
            }                                                                                 \
        }                                                                                     \
        acc0[0] = s00;                                                                        \
        acc1[0] = s10;                                                                        \
        if (NPIX > 1) { acc0[1] = s01; acc1[1] = s11; }                                       \
        if (NPIX > 2) { acc0[2] = s02; acc1[2] = s12; }                                       \
    }
DOT_BLOCK(1)
DOT_BLOCK(2)
DOT_BLOCK(3)

/* clamp(zy + ((v * m + 2^(s-1)) >> s), -128, 127) on 4 lanes, exactly: with
 * l = max(0, 32 - s) and r = s + l - 31 >= 1, VQDMULH(v << l, m) =
 * floor(v * m * 2^l / 2^31), and the rounding shift right by r (VRSHL by -r)
 * gives floor((v * m + 2^(s-1)) / 2^s). The left shift saturates: a saturated
 * lane is far outside [-128, 127] either way, so the clamp (a saturating shift
 * left by 24 and back) gives what the 64-bit arithmetic gives. */
static inline int32x4_t requant4(int32x4_t v, int32_t l, int32_t minus_r, int32_t m, int32_t zy)
{
    v = vqshlq_r_s32(v, l);
    v = vqdmulhq_n_s32(v, m);
    v = vrshlq_n_s32(v, minus_r);
    v = vaddq_n_s32(v, zy);
    return vshrq_n_s32(vqshlq_n_s32(v, 24), 24);
}

/* One output channel's requantization (requant4's shifts), set up once per channel. */
typedef struct {
    int32_t l, minus_r, m, zy;
    const int8_t *lut0; /* lut + 128: the gather reads it at the signed lane values
                           (offsets wrap modulo 2^32 like every address) */
} requant_t;

static inline requant_t requant_setup(int32_t m, int32_t s, int32_t zy, const int8_t *lut)
{
    const int32_t l = s < 32 ? 32 - s : 0;
    requant_t q = {l, 31 - s - l, m, zy, lut + 128};
    return q;
}

static inline int32x4_t requant_table4(int32x4_t acc, const requant_t *q)
{
    int32x4_t v = requant4(acc, q->l, q->minus_r, q->m, q->zy);
    return vldrbq_gather_offset_s32(q->lut0, vreinterpretq_u32_s32(v));
}

/* y[i] = lut[requant(acc[i]) + 128] for i < n. */
static inline void requantize_row(const int32_t *acc, int32_t n, const requant_t *q, int8_t *y)
{
    int32_t i = 0;
    for (; i + 4 <= n; i += 4)
        vstrbq_s32(y + i, requant_table4(vld1q_s32(acc + i), q));
    if (i < n)
        vstrbq_p_s32(y + i, requant_table4(vld1q_s32(acc + i), q), vctp32q((uint32_t)(n - i)));
}

/* y[i * stride] = lut[requant(acc[i]) + 128] for i < n: a column of a row-major
 * output (the matmul's), stored by byte scatter. */
static inline void requantize_column(const int32_t *acc, int32_t n, const requant_t *q, int8_t *y,
                                     int32_t stride)
{
    const uint32x4_t offsets = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)stride);
    for (int32_t i = 0; i < n; i += 4)
        vstrbq_scatter_offset_p_s32(y + i * stride, offsets, requant_table4(vld1q_s32(acc + i), q),
                                    vctp32q((uint32_t)(n - i)));
}

/* The last 1-3 pixels of a block of 2 channels (dot_2x1/2x2/2x3). */
static inline void dot_2xn(int32_t count, const int8_t *w, const int8_t *x, int32_t pstride,
                           int32_t step, int32_t chunks, int32_t b0, int32_t b1, int32_t *acc0,
                           int32_t *acc1)
{
    if (count == 3)
        dot_2x3(w, x, pstride, step, chunks, b0, b1, acc0, acc1);
    else if (count == 2)
        dot_2x2(w, x, pstride, step, chunks, b0, b1, acc0, acc1);
    else
        dot_2x1(w, x, pstride, step, chunks, b0, b1, acc0, acc1);
}

/* The whole groups of 3 pixels of a grouped tile (see pixel_offset) for one pair
 * of output channels: acc[p] and acc[TILE_PIXELS_MAX + p] for p < 3 * groups.
 * Written in assembly so the 6 sums stay in the even registers VMLADAVA needs
 * and a group costs 15 instructions around its loop (gcc 12 spent ~40). */
/* a frame of its own, optimized even in a -O0 build (whose frame pointer would leave
   too few registers): the asm takes 12 core registers */
__attribute__((noinline, optimize("O2")))
static void groups_2x3(const int8_t *w, const int8_t *x, int32_t chunks, int32_t groups,
                       const int32_t *bias_pair, int32_t *acc)
{
    register int32_t s00 __asm__("r0"), s10 __asm__("r2"), s01 __asm__("r4");
    register int32_t s11 __asm__("r6"), s02 __asm__("r8"), s12 __asm__("r10");
    __asm__ volatile(
        "1:\n\t"
        "ldrd    %[s00], %[s10], [%[bias]]\n\t"
        "mov     %[s01], %[s00]\n\t"
        "mov     %[s02], %[s00]\n\t"
        "mov     %[s11], %[s10]\n\t"
        "mov     %[s12], %[s10]\n\t"
        "dls     lr, %[chunks]\n\t"
        "2:\n\t"
        "vldrb.8 q0, [%[w], #16]\n\t"
        "vldrb.8 q1, [%[w]], #32\n\t"
        "vldrb.8 q2, [%[x]], #16\n\t"
        "vmladava.s8 %[s10], q0, q2\n\t"
        "vmladava.s8 %[s00], q1, q2\n\t"
        "vldrb.8 q3, [%[x]], #16\n\t"
        "vmladava.s8 %[s11], q0, q3\n\t"
        "vmladava.s8 %[s01], q1, q3\n\t"
        "vldrb.8 q2, [%[x]], #16\n\t"
        "vmladava.s8 %[s12], q0, q2\n\t"
        "vmladava.s8 %[s02], q1, q2\n\t"
        "le      lr, 2b\n\t"
        "sub     %[w], %[w], %[chunks], lsl #5\n\t"
        "str     %[s01], [%[acc], #4]\n\t"
        "str     %[s02], [%[acc], #8]\n\t"
        "str     %[s10], [%[acc], #192]\n\t"
        "str     %[s11], [%[acc], #196]\n\t"
        "str     %[s12], [%[acc], #200]\n\t"
        "str     %[s00], [%[acc]], #12\n\t"
        "subs    %[groups], %[groups], #1\n\t"
        "bne     1b"
        : [s00] "=&r"(s00), [s10] "=&r"(s10), [s01] "=&r"(s01), [s11] "=&r"(s11),
          [s02] "=&r"(s02), [s12] "=&r"(s12), [w] "+r"(w), [x] "+r"(x), [acc] "+r"(acc),
          [groups] "+r"(groups)
        : [chunks] "r"(chunks), [bias] "r"(bias_pair)
        : "q0", "q1", "q2", "q3", "lr", "memory", "cc");
}
_Static_assert(TILE_PIXELS_MAX * 4 == 192, "groups_2x3 stores the second row 192 bytes on");

/* The weights x tile product of pointwise and conv: n pixels of a grouped
 * tile, all output channels, written to y + o * pixels (the tile's first pixel). */
static void tile_product(const int8_t *tile, int32_t n, int32_t group, int32_t chunks,
                         const int8_t *w, const int32_t *bias, const int32_t *mult,
                         const int8_t *shift, const int8_t *lut, int32_t zy, int32_t cout,
                         int32_t pixels, int8_t *y)
{
    const int32_t step = 16 * group;
    int32_t acc[2 * TILE_PIXELS_MAX];
    for (int32_t o = 0; o < cout; o += 2) {
        const int8_t *wo = w + (o / 2) * chunks * 32;
        int32_t p = 0;
        if (group == 3 && n >= 3) {
            groups_2x3(wo, tile, chunks, n / 3, bias + o, acc);
            p = n / 3 * 3;
        }
        for (; p < n; p += group) /* a partial group, or groups of 1-2 pixels */
            dot_2xn(n - p < group ? n - p : group, wo, tile + (p / group) * chunks * step, 16, step,
                    chunks, bias[o], bias[o + 1], acc + p, acc + TILE_PIXELS_MAX + p);
        const requant_t q0 = requant_setup(mult[o], shift[o], zy, lut);
        requantize_row(acc, n, &q0, y + o * pixels);
        if (o + 1 < cout) {
            const requant_t q1 = requant_setup(mult[o + 1], shift[o + 1], zy, lut);
            requantize_row(acc + TILE_PIXELS_MAX, n, &q1, y + (o + 1) * pixels);
        }
    }
}

/* Grouped tile layout: pixels in groups of `group` (3, or fewer when a tile
 * holds fewer pixels), byte j of pixel p's reduction vector at
 *   ((p / group) * chunks + j / 16) * 16 * group + (p % group) * 16 + j % 16
 * so that one pointer walks a group's 3 vectors of each chunk in turn. */
static inline int32_t pixel_offset(int32_t p, int32_t group, int32_t chunks)
{
    return (p / group) * chunks * 16 * group + (p % group) * 16;
}

/* Pixels per tile for reduction vectors of `stride` bytes: whole groups of 3. */
static inline int32_t tile_pixels_for(int32_t stride)
{
    int32_t n = TILE_BYTES / stride;
    if (n > TILE_PIXELS_MAX)
        n = TILE_PIXELS_MAX;
    return n > 3 ? n - n % 3 : n;
}

static inline int32_t group_for(int32_t tile_pixels)
{
    return tile_pixels < 3 ? tile_pixels : 3;
}

int32_t codegen_s8_pointwise(const int8_t *restrict x, const int8_t *restrict w,
                             const int32_t *restrict bias, const int32_t *restrict mult,
                             const int8_t *restrict shift, const int8_t *restrict lut,
                             int8_t *restrict y, int32_t cin, int32_t cout, int32_t pixels,
                             int32_t zy)
{
    const int32_t stride = (cin + 15) / 16 * 16;
    if (stride > TILE_BYTES)
        return -1; /* the compiler never emits such a call (qnn.TILE_BYTES) */
    const int32_t tile_pixels = tile_pixels_for(stride), group = group_for(tile_pixels);
    const int32_t chunks = stride / 16;
    int8_t tile[TILE_BYTES] __attribute__((aligned(16)));
    uint16_t offsets[TILE_PIXELS_MAX + 8] __attribute__((aligned(16)));
    for (int32_t p = 0; p < TILE_PIXELS_MAX + 8; p++)
        offsets[p] = (uint16_t)(p < tile_pixels ? pixel_offset(p, group, chunks) : 0);
    for (int32_t p0 = 0; p0 < pixels; p0 += tile_pixels) {
        const int32_t n = pixels - p0 < tile_pixels ? pixels - p0 : tile_pixels;
        /* transpose x[:, p0:p0+n] into the grouped tile: 8 pixels of a channel per
           load and scatter, channel after channel; the padding channels stay
           whatever they are: their packed weights are 0 */
        for (int32_t p = 0; p < n; p += 8) {
            const mve_pred16_t pred = vctp16q((uint32_t)(n - p));
            const uint16x8_t offs = vld1q_u16(offsets + p);
            const int8_t *src = x + p0 + p;
            for (int32_t k = 0; k < chunks; k++) {
                int8_t *dst = tile + k * 16 * group;
                const int32_t m = cin - 16 * k < 16 ? cin - 16 * k : 16;
                for (int32_t j = 0; j < m; j++, src += pixels)
                    vstrbq_scatter_offset_p_s16(dst + j, offs, vldrbq_z_s16(src, pred), pred);
            }
        }
        tile_product(tile, n, group, chunks, w, bias, mult, shift, lut, zy, cout, pixels, y + p0);
    }
    return 0;
}

int32_t codegen_s8_conv(const int8_t *restrict x, const int8_t *restrict w,
                        const int32_t *restrict bias, const int32_t *restrict mult,
                        const int8_t *restrict shift, const int8_t *restrict lut,
                        int8_t *restrict y, int32_t cin, int32_t height, int32_t width,
                        int32_t cout, int32_t kernel_h, int32_t kernel_w, int32_t stride_h,
                        int32_t stride_w, int32_t pad_top, int32_t pad_left, int32_t out_h,
                        int32_t out_w, int32_t zx, int32_t zy)
{
    const int32_t taps = kernel_h * kernel_w, k = cin * taps;
    const int32_t stride = (k + 15) / 16 * 16, pixels = out_h * out_w;
    if (stride > TILE_BYTES)
        return -1; /* the compiler never emits such a call (qnn.TILE_BYTES) */
    const int32_t tile_pixels = tile_pixels_for(stride), group = group_for(tile_pixels);
    const int32_t chunks = stride / 16, plane = height * width;
    /* 8 channels of one input pixel: 16-bit gather offsets */
    const int vector_gather = cin % 16 == 0 && 7 * plane <= 65535;
    const uint16x8_t channel_offsets = vmulq_n_u16(vidupq_n_u16(0, 1), (uint16_t)plane);
    int8_t tile[TILE_BYTES] __attribute__((aligned(16)));
    for (int32_t p0 = 0; p0 < pixels; p0 += tile_pixels) {
        const int32_t n = pixels - p0 < tile_pixels ? pixels - p0 : tile_pixels;
        /* im2col: pixel p's patch in (ky, kx, channel) order, the packed weights'
           order, into the grouped tile; taps outside the input read the zero
           point. With whole chunks of channels (cin % 16 == 0) each tap's
           channels are two 8-lane gathers per chunk, else byte by byte. */
        for (int32_t p = 0; p < n; p++) {
            const int32_t oy = (p0 + p) / out_w, ox = (p0 + p) % out_w;
            int8_t *patch = tile + pixel_offset(p, group, chunks);
            for (int32_t t = 0; t < taps; t++) {
                const int32_t iy = oy * stride_h + t / kernel_w - pad_top;
                const int32_t ix = ox * stride_w + t % kernel_w - pad_left;
                const int inside = iy >= 0 && iy < height && ix >= 0 && ix < width;
                const int8_t *src = x + iy * width + ix;
                if (vector_gather) {
                    int8_t *dst = patch + t * (cin / 16) * 16 * group;
                    for (int32_t c = 0; c < cin; c += 16, dst += 16 * group) {
                        if (!inside) {
                            vst1q_s8(dst, vdupq_n_s8((int8_t)zx));
                            continue;
                        }
                        vstrbq_s16(dst, vldrbq_gather_offset_s16(src + c * plane, channel_offsets));
                        vstrbq_s16(dst + 8, vldrbq_gather_offset_s16(src + (c + 8) * plane, channel_offsets));
                    }
                    continue;
                }
                for (int32_t c = 0; c < cin; c++) {
                    const int32_t j = t * cin + c;
                    patch[(j / 16) * 16 * group + j % 16] = inside ? src[c * plane] : (int8_t)zx;
                }
            }
        }
        tile_product(tile, n, group, chunks, w, bias, mult, shift, lut, zy, cout, pixels, y + p0);
    }
    return 0;
}


int32_t codegen_s8_matmul(const int8_t *restrict x, const int8_t *restrict w,
                          const int32_t *restrict bias, const int32_t *restrict mult,
                          const int8_t *restrict shift, const int8_t *restrict lut,
                          int8_t *restrict y, int32_t rows, int32_t k, int32_t n, int32_t zy)
{
    const int32_t stride = (k + 15) / 16 * 16, chunks = stride / 16;
    if (stride > TILE_BYTES)
        return -1; /* the compiler never emits such a call (qnn.TILE_BYTES) */
    const int32_t tile_rows = tile_pixels_for(stride);
    int8_t tile[TILE_BYTES] __attribute__((aligned(16)));
    int32_t acc0[TILE_PIXELS_MAX], acc1[TILE_PIXELS_MAX];
    for (int32_t r0 = 0; r0 < rows; r0 += tile_rows) {
        const int32_t nr = rows - r0 < tile_rows ? rows - r0 : tile_rows;
        /* x's rows are the reduction vectors already; copied only to pad k to 16 */
        const int8_t *t = x + r0 * k;
        if (stride != k) {
            for (int32_t r = 0; r < nr; r++)
                for (int32_t i = 0; i < k; i += 16) {
                    mve_pred16_t pred = vctp8q((uint32_t)(k - i));
                    vstrbq_p_s8(tile + r * stride + i, vldrbq_z_s8(x + (r0 + r) * k + i, pred), pred);
                }
            t = tile;
        }
        for (int32_t o = 0; o < n; o += 2) {
            const int8_t *wo = w + (o / 2) * chunks * 32;
            for (int32_t p = 0; p < nr; p += 3)
                dot_2xn(nr - p < 3 ? nr - p : 3, wo, t + p * stride, stride, 16, chunks, bias[o],
                        bias[o + 1], acc0 + p, acc1 + p);
            const requant_t q0 = requant_setup(mult[o], shift[o], zy, lut);
            requantize_column(acc0, nr, &q0, y + r0 * n + o, n);
            if (o + 1 < n) {
                const requant_t q1 = requant_setup(mult[o + 1], shift[o + 1], zy, lut);
                requantize_column(acc1, nr, &q1, y + r0 * n + o + 1, n);
            }
        }
    }
    return 0;
}

/* 16 outputs of one row: acc[i] = b + sum_taps rows[ky][i * sw + kx] * taps[ky * kw + kx].
   One tap: four VLDRB.S32 at immediate offsets from the row, four VMLA by the tap
   (gcc 12 recomputes the addresses when written in intrinsics); the tap loop is
   unrolled for the kernel widths the recognizers use (3, 5). */
#define DW_TAP_S1(KX)                                                                           \
    __asm__("vldrb.s32 %q[v], [%[p], #" #KX "]\n\t"                                            \
            "vmla.s32 %q[a0], %q[v], %[t]\n\t"                                                 \
            "vldrb.s32 %q[v], [%[p], #(" #KX "+4)]\n\t"                                        \
            "vmla.s32 %q[a1], %q[v], %[t]\n\t"                                                 \
            "vldrb.s32 %q[v], [%[p], #(" #KX "+8)]\n\t"                                        \
            "vmla.s32 %q[a2], %q[v], %[t]\n\t"                                                 \
            "vldrb.s32 %q[v], [%[p], #(" #KX "+12)]\n\t"                                       \
            "vmla.s32 %q[a3], %q[v], %[t]"                                                     \
            : [a0] "+w"(a0), [a1] "+w"(a1), [a2] "+w"(a2), [a3] "+w"(a3), [v] "=&w"(v)         \
            : [p] "l"(rows), [t] "r"(taps[KX]), /* widening loads take r0-r7 only */          \
              "m"(*(const int8_t(*)[(KX) + 16])rows))
#define DW_TAPS_3 DW_TAP_S1(0); DW_TAP_S1(1); DW_TAP_S1(2)
#define DW_TAPS_5 DW_TAPS_3; DW_TAP_S1(3); DW_TAP_S1(4)
/* The 16 sums of a block -> n <= 16 outputs: in registers when the block is
   whole, through the row requantization for the last, partial one. */
static inline void finish_block(int32x4_t a0, int32x4_t a1, int32x4_t a2, int32x4_t a3, int32_t n,
                                const requant_t *q, int8_t *y)
{
    if (n == DW_BLOCK) {
        vstrbq_s32(y, requant_table4(a0, q));
        vstrbq_s32(y + 4, requant_table4(a1, q));
        vstrbq_s32(y + 8, requant_table4(a2, q));
        vstrbq_s32(y + 12, requant_table4(a3, q));
        return;
    }
    int32_t acc[DW_BLOCK];
    vst1q_s32(acc, a0);
    vst1q_s32(acc + 4, a1);
    vst1q_s32(acc + 8, a2);
    vst1q_s32(acc + 12, a3);
    requantize_row(acc, n, q, y);
}

#define DW_BLOCK_S1(KW)                                                                          \
    static inline void dw_block_s1_##KW(const int8_t *rows, int32_t row_bytes, const int32_t *taps, \
                                        int32_t kh, int32_t b, int32_t n, const requant_t *q,     \
                                        int8_t *y)                                               \
    {                                                                                            \
        int32x4_t a0 = vdupq_n_s32(b), a1 = a0, a2 = a0, a3 = a0, v;                             \
        for (int32_t ky = 0; ky < kh; ky++, rows += row_bytes, taps += KW) {                     \
            DW_TAPS_##KW;                                                                        \
        }                                                                                        \
        finish_block(a0, a1, a2, a3, n, q, y);                                                   \
    }
DW_BLOCK_S1(3)
DW_BLOCK_S1(5)

/* 16 outputs of one row: acc[i] = b + sum_taps rows[ky][i * sw + kx] * taps[ky * kw + kx],
   requantized to y[0..n). */
static inline void dw_block(const int8_t *rows, int32_t row_bytes, const int32_t *taps, int32_t kh,
                            int32_t kw, int32_t sw, int32_t b, int32_t n, const requant_t *q, int8_t *y)
{
    if (sw == 1 && kw == 3) {
        dw_block_s1_3(rows, row_bytes, taps, kh, b, n, q, y);
        return;
    }
    if (sw == 1 && kw == 5) {
        dw_block_s1_5(rows, row_bytes, taps, kh, b, n, q, y);
        return;
    }
    int32x4_t a0 = vdupq_n_s32(b), a1 = a0, a2 = a0, a3 = a0;
    const uint32x4_t off = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)sw);
    for (int32_t ky = 0; ky < kh; ky++, rows += row_bytes, taps += kw)
        for (int32_t kx = 0; kx < kw; kx++) {
            const int8_t *p = rows + kx;
            const int32_t t = taps[kx];
            a0 = vmlaq_n_s32(a0, vldrbq_gather_offset_s32(p, off), t);
            a1 = vmlaq_n_s32(a1, vldrbq_gather_offset_s32(p + 4 * sw, off), t);
            a2 = vmlaq_n_s32(a2, vldrbq_gather_offset_s32(p + 8 * sw, off), t);
            a3 = vmlaq_n_s32(a3, vldrbq_gather_offset_s32(p + 12 * sw, off), t);
        }
    finish_block(a0, a1, a2, a3, n, q, y);
}

int32_t codegen_s8_depthwise(const int8_t *restrict x, const int8_t *restrict w,
                             const int32_t *restrict bias, const int32_t *restrict mult,
                             const int8_t *restrict shift, const int8_t *restrict lut,
                             int8_t *restrict y, int32_t channels, int32_t height, int32_t width,
                             int32_t kernel_h, int32_t kernel_w, int32_t stride_h, int32_t stride_w,
                             int32_t pad_top, int32_t pad_left, int32_t out_h, int32_t out_w,
                             int32_t zx, int32_t zy)
{
    const int32_t row_bytes = dw_row_bytes(out_w, kernel_w, stride_w);
    if (row_bytes * kernel_h > DW_ROWS_BYTES || kernel_h * kernel_w > 64)
        return -1; /* the compiler never emits such a call (qnn.library_geometry) */
    /* as many padded input rows as the buffer holds: each input row is copied
       about once per channel, not once per output row that reads it */
    const int32_t rows_held = DW_ROWS_BYTES / row_bytes;
    const int32_t out_rows_per_fill = (rows_held - kernel_h) / stride_h + 1;
    int8_t rows[DW_ROWS_BYTES + 16] __attribute__((aligned(16)));
    int32_t taps[64];
    const int8x16_t pad = vdupq_n_s8((int8_t)zx);
    for (int32_t c = 0; c < channels; c++) {
        const int8_t *plane = x + c * height * width;
        for (int32_t k = 0; k < kernel_h * kernel_w; k++)
            taps[k] = w[c * kernel_h * kernel_w + k];
        for (int32_t oy0 = 0; oy0 < out_h; oy0 += out_rows_per_fill) {
            const int32_t n_out = out_h - oy0 < out_rows_per_fill ? out_h - oy0 : out_rows_per_fill;
            const int32_t n_rows = (n_out - 1) * stride_h + kernel_h;
            for (int32_t r = 0; r < n_rows; r++) {
                /* row r: input row oy0 * sh - pad_top + r, padded with the zero point
                   (stores of 16 may run into the next row, which is written after) */
                int8_t *row = rows + r * row_bytes;
                const int32_t iy = oy0 * stride_h - pad_top + r;
                if (iy < 0 || iy >= height) {
                    for (int32_t i = 0; i < row_bytes; i += 16)
                        vst1q_s8(row + i, pad);
                    continue;
                }
                for (int32_t i = 0; i < pad_left; i += 16)
                    vst1q_s8(row + i, pad);
                const int8_t *src = plane + iy * width;
                const int32_t n = width < row_bytes - pad_left ? width : row_bytes - pad_left;
                int32_t i = 0;
                for (; i + 16 <= n; i += 16)
                    vst1q_s8(row + pad_left + i, vld1q_s8(src + i));
                if (i < n) {
                    mve_pred16_t pred = vctp8q((uint32_t)(n - i));
                    vstrbq_p_s8(row + pad_left + i, vldrbq_z_s8(src + i, pred), pred);
                }
                for (i = pad_left + n; i < row_bytes; i += 16)
                    vst1q_s8(row + i, pad);
            }
            const requant_t q = requant_setup(mult[c], shift[c], zy, lut);
            for (int32_t j = 0; j < n_out; j++) {
                const int8_t *top = rows + j * stride_h * row_bytes;
                int8_t *out = y + (c * out_h + oy0 + j) * out_w;
                for (int32_t ox = 0; ox < out_w; ox += DW_BLOCK) {
                    const int32_t n = out_w - ox < DW_BLOCK ? out_w - ox : DW_BLOCK;
                    dw_block(top + ox * stride_w, row_bytes, taps, kernel_h, kernel_w, stride_w,
                             bias[c], n, &q, out + ox);
                }
            }
        }
    }
    return 0;
}

#else /* portable C: the host build (C backend) and the reference semantics */

static inline int8_t requantize(int32_t acc, int32_t mult, int32_t shift, int32_t zy, const int8_t *lut)
{
    int64_t q = zy + (((int64_t)acc * mult + ((int64_t)1 << (shift - 1))) >> shift);
    return lut[(q < -128 ? -128 : q > 127 ? 127 : q) + 128];
}

int32_t codegen_s8_pointwise(const int8_t *restrict x, const int8_t *restrict w,
                             const int32_t *restrict bias, const int32_t *restrict mult,
                             const int8_t *restrict shift, const int8_t *restrict lut,
                             int8_t *restrict y, int32_t cin, int32_t cout, int32_t pixels,
                             int32_t zy)
{
    const int32_t chunks = (cin + 15) / 16;
    for (int32_t o = 0; o < cout; o++) {
        const int8_t *wo = w + (o / 2) * chunks * 32 + (o % 2) * 16;
        for (int32_t p = 0; p < pixels; p++) {
            int32_t acc = bias[o];
            for (int32_t c = 0; c < cin; c++)
                acc += (int32_t)x[c * pixels + p] * wo[(c / 16) * 32 + c % 16];
            y[o * pixels + p] = requantize(acc, mult[o], shift[o], zy, lut);
        }
    }
    return 0;
}
int32_t codegen_s8_depthwise(const int8_t *restrict x, const int8_t *restrict w,
                             const int32_t *restrict bias, const int32_t *restrict mult,
                             const int8_t *restrict shift, const int8_t *restrict lut,
                             int8_t *restrict y, int32_t channels, int32_t height, int32_t width,
                             int32_t kernel_h, int32_t kernel_w, int32_t stride_h, int32_t stride_w,
                             int32_t pad_top, int32_t pad_left, int32_t out_h, int32_t out_w,
                             int32_t zx, int32_t zy)
{
    if (dw_row_bytes(out_w, kernel_w, stride_w) * kernel_h > DW_ROWS_BYTES || kernel_h * kernel_w > 64)
        return -1; /* the same limits as the Helium path */
    for (int32_t c = 0; c < channels; c++)
        for (int32_t oy = 0; oy < out_h; oy++)
            for (int32_t ox = 0; ox < out_w; ox++) {
                int32_t acc = bias[c];
                for (int32_t ky = 0; ky < kernel_h; ky++)
                    for (int32_t kx = 0; kx < kernel_w; kx++) {
                        const int32_t iy = oy * stride_h + ky - pad_top;
                        const int32_t ix = ox * stride_w + kx - pad_left;
                        const int32_t v = iy >= 0 && iy < height && ix >= 0 && ix < width
                                              ? x[(c * height + iy) * width + ix] : zx;
                        acc += v * w[(c * kernel_h + ky) * kernel_w + kx];
                    }
                y[(c * out_h + oy) * out_w + ox] = requantize(acc, mult[c], shift[c], zy, lut);
            }
    return 0;
}
int32_t codegen_s8_conv(const int8_t *restrict x, const int8_t *restrict w,
                        const int32_t *restrict bias, const int32_t *restrict mult,
                        const int8_t *restrict shift, const int8_t *restrict lut,
                        int8_t *restrict y, int32_t cin, int32_t height, int32_t width,
                        int32_t cout, int32_t kernel_h, int32_t kernel_w, int32_t stride_h,
                        int32_t stride_w, int32_t pad_top, int32_t pad_left, int32_t out_h,
                        int32_t out_w, int32_t zx, int32_t zy)
{
    const int32_t taps = kernel_h * kernel_w, chunks = (cin * taps + 15) / 16;
    if (chunks * 16 > TILE_BYTES)
        return -1; /* the same limit as the Helium path */
    for (int32_t o = 0; o < cout; o++) {
        const int8_t *wo = w + (o / 2) * chunks * 32 + (o % 2) * 16;
        for (int32_t oy = 0; oy < out_h; oy++)
            for (int32_t ox = 0; ox < out_w; ox++) {
                int32_t acc = bias[o];
                for (int32_t c = 0; c < cin; c++)
                    for (int32_t ky = 0; ky < kernel_h; ky++)
                        for (int32_t kx = 0; kx < kernel_w; kx++) {
                            const int32_t iy = oy * stride_h + ky - pad_top;
                            const int32_t ix = ox * stride_w + kx - pad_left;
                            const int32_t v = iy >= 0 && iy < height && ix >= 0 && ix < width
                                                  ? x[(c * height + iy) * width + ix] : zx;
                            const int32_t j = (ky * kernel_w + kx) * cin + c;
                            acc += v * wo[(j / 16) * 32 + j % 16];
                        }
                y[(o * out_h + oy) * out_w + ox] = requantize(acc, mult[o], shift[o], zy, lut);
            }
    }
    return 0;
}
int32_t codegen_s8_matmul(const int8_t *restrict x, const int8_t *restrict w,
                          const int32_t *restrict bias, const int32_t *restrict mult,
                          const int8_t *restrict shift, const int8_t *restrict lut,
                          int8_t *restrict y, int32_t rows, int32_t k, int32_t n, int32_t zy)
{
    const int32_t chunks = (k + 15) / 16;
    if (chunks * 16 > TILE_BYTES)
        return -1; /* the same limit as the Helium path */
    for (int32_t r = 0; r < rows; r++)
        for (int32_t o = 0; o < n; o++) {
            const int8_t *wo = w + (o / 2) * chunks * 32 + (o % 2) * 16;
            int32_t acc = bias[o];
            for (int32_t c = 0; c < k; c++)
                acc += (int32_t)x[r * k + c] * wo[(c / 16) * 32 + c % 16];
            y[r * n + o] = requantize(acc, mult[o], shift[o], zy, lut);
        }
    return 0;
}
#endif
