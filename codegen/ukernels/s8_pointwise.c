/* int8 1x1 convolution with int32 accumulation, per-channel fixed-point
 * requantization and an output look-up table (codegen/qnn.py, library kernel
 * codegen_s8_pointwise). One call computes a whole layer:
 *
 *   acc     = bias[o] + sum_{c < cin} x[c * pixels + p] * w(o, c)       (int32)
 *   q       = clamp(zy + ((acc * mult[o] + 2^(shift[o]-1)) >> shift[o]), -128, 127)
 *   y[o * pixels + p] = lut[q + 128]
 *
 * x and y are NCHW (N = 1), so a pixel's input channels are `pixels` apart.
 * The requantization is the single-rounding mode of TFLM/CMSIS-NN
 * (TFLITE_SINGLE_ROUNDING / CMSIS_NN_USE_SINGLE_ROUNDING): mult in
 * [2^30, 2^31), 1 <= shift <= 62. The table is the quantized activation that
 * followed the convolution in the QDQ model (hard-swish, sigmoid...), computed
 * by the compiler; identity when there is none. codegen/qnn.py's numpy
 * reference does the same integer arithmetic, so results are bit-exact.
 *
 * Weights come packed by the compiler (qnn.pack_pointwise): output channels in
 * pairs, input channels in chunks of 16, zero-padded to a multiple of 16 and to
 * an even channel count:  w[((o / 2) * chunks + k) * 32 + (o % 2) * 16 + j]
 * = W[o][16 k + j]; bias, mult and shift are padded to the even count.
 *
 * Helium (MVE) path: VMLADAVA.S8 multiplies 16 int8 pairs and adds them to a
 * scalar int32 in one instruction, so the reduction must run along the input
 * channels, which NCHW keeps `pixels` apart. Each tile of TILE_BYTES / cin16
 * pixels is therefore first transposed onto the stack (VSTRB scatter: 8
 * bytes per instruction pair, a cost of one pass over the input, shared by
 * all output channels); then a block of 2 output channels x 3 pixels keeps its
 * 6 sums in registers over the whole reduction: per 16 input channels 2 weight
 * loads, 3 input loads and 6 VMLADAVA (96 MACs). The requantization runs on
 * 4 pixels at a time (VQDMULH + VRSHL, exact for the single rounding: see
 * requantize_row), the table through a byte gather.
 */
#include <stdint.h>

#define TILE_BYTES 4096 /* the transposed input tile: the stack-array limit */
#define TILE_PIXELS_MAX 48

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include <arm_mve.h>

/* x: the tile, pixel p's 16-channel chunk k at x + p * stride + 16 k. */
#define DOT_BLOCK(NPIX)                                                                       \
    static inline void dot_2x##NPIX(const int8_t *w, const int8_t *x, int32_t stride,        \
                                    int32_t chunks, int32_t b0, int32_t b1, int32_t *acc0,   \
                                    int32_t *acc1)                                           \
    {                                                                                         \
        int32_t s00 = b0, s01 = b0, s02 = b0, s10 = b1, s11 = b1, s12 = b1;                 \
        const int8_t *x0 = x, *x1 = x + stride, *x2 = x + 2 * stride;                        \
        (void)x1; (void)x2; (void)s01; (void)s02; (void)s11; (void)s12;                      \
        for (int32_t k = 0; k < chunks; k++) {                                                \
            int8x16_t w1 = vld1q_s8(w + 16);                                                  \
            int8x16_t w0 = vld1q_s8(w);                                                       \
            w += 32;                                                                          \
            int8x16_t v0 = vld1q_s8(x0);                                                      \
            x0 += 16;                                                                         \
            s00 = vmladavaq_s8(s00, w0, v0);                                                  \
            s10 = vmladavaq_s8(s10, w1, v0);                                                  \
            if (NPIX > 1) {                                                                   \
                int8x16_t v1 = vld1q_s8(x1);                                                  \
                x1 += 16;                                                                     \
                s01 = vmladavaq_s8(s01, w0, v1);                                              \
                s11 = vmladavaq_s8(s11, w1, v1);                                              \
            }                                                                                 \
            if (NPIX > 2) {                                                                   \
                int8x16_t v2 = vld1q_s8(x2);                                                  \
                x2 += 16;                                                                     \
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

/* y[i] = lut[clamp(zy + requant(acc[i])) + 128] for i < n.
 * (acc * m + 2^(s-1)) >> s exactly: with l = max(0, 32 - s), r = s + l - 31 >= 1,
 * VQDMULH(acc << l, m) = floor(acc * m * 2^l / 2^31) and the rounding shift by r
 * gives floor((acc * m * 2^(s+l) ... )) = floor((acc * m + 2^(s-1)) / 2^s).
 * The left shift saturates; a saturated lane is far outside [-128, 127] either
 * way, so the clamp gives the same result as the 64-bit arithmetic. */
static inline void requantize_row(const int32_t *acc, int32_t n, int32_t m, int32_t s, int32_t zy,
                                  const int8_t *lut, int8_t *y)
{
    const int32_t l = s < 32 ? 32 - s : 0;
    const int32_t r = s + l - 31;
    const int32x4_t lo = vdupq_n_s32(-128), hi = vdupq_n_s32(127);
    for (int32_t i = 0; i < n; i += 4) {
        mve_pred16_t pred = vctp32q((uint32_t)(n - i));
        int32x4_t v = vldrwq_z_s32(acc + i, pred);
        v = vqshlq_r_s32(v, l);
        v = vqdmulhq_n_s32(v, m);
        v = vrshlq_n_s32(v, -r);
        v = vaddq_n_s32(v, zy);
        v = vminq_s32(vmaxq_s32(v, lo), hi);
        v = vaddq_n_s32(v, 128);
        int32x4_t t = vldrbq_gather_offset_z_s32(lut, vreinterpretq_u32_s32(v), pred);
        vstrbq_p_s32(y + i, t, pred);
    }
}

int32_t codegen_s8_pointwise(const int8_t *restrict x, const int8_t *restrict w,
                             const int32_t *restrict bias, const int32_t *restrict mult,
                             const int32_t *restrict shift, const int8_t *restrict lut,
                             int8_t *restrict y, int32_t cin, int32_t cout, int32_t pixels,
                             int32_t zy)
{
    const int32_t chunks = (cin + 15) / 16, stride = chunks * 16;
    if (stride > TILE_BYTES)
        return -1; /* the compiler never emits such a call (qnn.POINTWISE_MAX_CIN) */
    int32_t tile_pixels = TILE_BYTES / stride;
    if (tile_pixels > TILE_PIXELS_MAX)
        tile_pixels = TILE_PIXELS_MAX;
    int8_t tile[TILE_BYTES] __attribute__((aligned(16)));
    int32_t acc0[TILE_PIXELS_MAX], acc1[TILE_PIXELS_MAX];
    /* scatter offsets of 8 consecutive pixels of one channel in the tile */
    const uint16x8_t offsets = vmulq_n_u16(vidupq_n_u16(0, 1), (uint16_t)stride);
    for (int32_t p0 = 0; p0 < pixels; p0 += tile_pixels) {
        const int32_t n = pixels - p0 < tile_pixels ? pixels - p0 : tile_pixels;
        /* transpose x[:, p0:p0+n] to tile[p][c]; the padding channels stay
           whatever they are: their packed weights are 0 */
        for (int32_t c = 0; c < cin; c++) {
            const int8_t *src = x + (int32_t)c * pixels + p0;
            for (int32_t p = 0; p < n; p += 8) {
                mve_pred16_t pred = vctp16q((uint32_t)(n - p));
                int16x8_t v = vldrbq_z_s16(src + p, pred);
                vstrbq_scatter_offset_p_s16(tile + p * stride + c, offsets, v, pred);
            }
        }
        for (int32_t o = 0; o < cout; o += 2) {
            const int8_t *wo = w + (o / 2) * chunks * 32;
            int32_t p = 0;
            for (; p + 3 <= n; p += 3)
                dot_2x3(wo, tile + p * stride, stride, chunks, bias[o], bias[o + 1], acc0 + p,
                        acc1 + p);
            if (n - p == 2)
                dot_2x2(wo, tile + p * stride, stride, chunks, bias[o], bias[o + 1], acc0 + p,
                        acc1 + p);
            else if (n - p == 1)
                dot_2x1(wo, tile + p * stride, stride, chunks, bias[o], bias[o + 1], acc0 + p,
                        acc1 + p);
            requantize_row(acc0, n, mult[o], shift[o], zy, lut, y + o * pixels + p0);
            if (o + 1 < cout)
                requantize_row(acc1, n, mult[o + 1], shift[o + 1], zy, lut,
                               y + (o + 1) * pixels + p0);
        }
    }
    return 0;
}

#else /* portable C: the host build (C backend) and the reference semantics */

int32_t codegen_s8_pointwise(const int8_t *restrict x, const int8_t *restrict w,
                             const int32_t *restrict bias, const int32_t *restrict mult,
                             const int32_t *restrict shift, const int8_t *restrict lut,
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
            int64_t v = (int64_t)acc * mult[o] + ((int64_t)1 << (shift[o] - 1));
            int64_t q = zy + (v >> shift[o]);
            q = q < -128 ? -128 : q > 127 ? 127 : q;
            y[o * pixels + p] = lut[q + 128];
        }
    }
    return 0;
}
#endif
