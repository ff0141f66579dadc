/* codegen_f32_depthwise: a float depthwise convolution with its batch norm
 * and activation (codegen/flib.py folds conv2d(groups = C) -> batch_norm ->
 * hard-swish | relu | nothing into one call). MobileNet's depthwise layers
 * are 3x3 and 5x5 of stride 1 or 2; TVM's loops spend about 1.6 instructions
 * per MAC on them and write the map three times (conv, norm, activation).
 *
 * Per channel, the input rows an output row needs sit zero-padded in a ring
 * of k rows on the stack (4 KB; a row is copied once, however many output rows
 * read it), so the inner loop has no border tests: each tap is one vldrw and
 * one vfma by a scalar weight per 4 outputs (depthwise_mve.S's 16-column
 * strips for 3x3 and 5x5, the vector loop below for the rest). For a
 * horizontal stride of 2 a row is stored de-interleaved (even columns, then
 * odd columns), so every tap still reads contiguous floats.
 *
 * Weights come packed by flib.fold_batch_norm as [C][k * k + 1]: the taps with
 * the batch norm's scale folded in, then the folded bias. */
#include <arm_mve.h>
#include <stdint.h>

#if !defined(__ARM_FEATURE_MVE) || !(__ARM_FEATURE_MVE & 2)
#error "f32_depthwise.c needs Helium with floating point (-mcpu=cortex-m55)"
#endif

/* codegen/flib.py's limits (a test checks them): the largest kernel side and
   the floats of the ring, k padded rows (each its columns plus k - 1 padding,
   plus ROW_SLACK for the last vector's masked lanes, rounded up to whole
   vectors). 1,008 floats keep the kernel's stack under 4 KB, the limit every
   kernel keeps (codegen.compiler.STACK_LIMIT_BYTES): 3 rows of 330 floats,
   the detector's 320-column maps at 480x640. */
#define DEPTHWISE_MAX_KERNEL 7
#define DEPTHWISE_RING_FLOATS 1008
#define ROW_SLACK 8

enum { ACT_NONE = 0, ACT_RELU = 1, ACT_HARDSWISH = 2 };

static inline float32x4_t activate(float32x4_t v, int32_t act) {
  if (act == ACT_RELU) {
    return vmaxnmq_f32(v, vdupq_n_f32(0.0f));
  }
  if (act == ACT_HARDSWISH) {
    /* x * clip(x / 6 + 0.5, 0, 1), rounded as the ONNX graph does it:
       a multiply, then an add (no fused multiply-add). */
    float32x4_t t = vaddq_n_f32(vmulq_n_f32(v, 0.16666667163372040f), 0.5f);
    t = vminnmq_f32(vmaxnmq_f32(t, vdupq_n_f32(0.0f)), vdupq_n_f32(1.0f));
    return vmulq_f32(v, t);
  }
  return v;
}

/* depthwise_mve.S: the 16-column strips of a row for k = 3, 5 and sx = 1, 2 */
typedef void strip_fn(const float *const *rows, const float *w, float *out, int32_t strips, int32_t half_bytes,
                      int32_t act);
strip_fn depthwise_f32_k3s1, depthwise_f32_k3s2, depthwise_f32_k5s1, depthwise_f32_k5s2;
/* dst[i] = src[i] (zeros when src is 0), i < n */
void depthwise_copy_f32(float *dst, const float *src, int32_t n);

/* Where tap (ky, kx) starts in a padded row (see load_row). */
static inline int32_t tap_offset(int32_t kx, int32_t sx, int32_t half) {
  return sx == 2 ? (kx & 1) * half + (kx >> 1) : kx;
}

/* Columns ox.. of one output row, 4 at a time (the last vector predicated:
   its loads may read the row's slack, lanes that are never stored):
   out[ox] = act(bias + sum_{ky,kx} w[ky k + kx] row[ky][tap_offset(kx) + ox]), ox < ow.
   For the kernels depthwise_mve.S has (3x3, 5x5) only the columns after its
   16-column strips; the whole row for the others. */
static void depthwise_row(const float *const *row, int32_t half, const float *w, float *out, int32_t ox,
                          int32_t ow, int32_t k, int32_t sx, int32_t act) {
  const float bias = w[k * k];
  for (; ox < ow; ox += 4) {
    float32x4_t a = vdupq_n_f32(bias);
    for (int32_t ky = 0; ky < k; ky++) {
      for (int32_t kx = 0; kx < k; kx++) {
        a = vfmaq_n_f32(a, vld1q_f32(row[ky] + tap_offset(kx, sx, half) + ox), w[ky * k + kx]);
      }
    }
    vstrwq_p_f32(out + ox, activate(a, act), vctp32q((uint32_t)(ow - ox)));
  }
}

/* The image columns of padded row r (row r - pad_top of channel plane x)
   into dst: cnt columns from padded column pad_left on, de-interleaved when
   sx == 2 (even padded columns at dst, odd ones at dst + half); zeros for a
   row outside the image. The padding columns are never written here: the
   ring is zeroed once per call and every row puts its columns in the same
   places. */
static void load_row(float *dst, const float *x, int32_t h, int32_t wd, int32_t r, int32_t pad_top,
                     int32_t pad_left, int32_t cnt, int32_t sx, int32_t half) {
  const int32_t iy = r - pad_top;
  const float *src = x + iy * wd;
  const int outside = iy < 0 || iy >= h;
  if (sx == 1) {
    depthwise_copy_f32(dst + pad_left, outside ? 0 : src, cnt);
    return;
  }
  /* image column col is padded column pad_left + col: an even one goes to
     dst[(pad_left + col) / 2], an odd one to dst[half + (pad_left + col) / 2] */
  float *first = dst + (pad_left & 1 ? half : 0) + pad_left / 2;          /* columns 0, 2, 4, ... */
  float *second = dst + (pad_left & 1 ? 0 : half) + (pad_left + 1) / 2;   /* columns 1, 3, 5, ... */
  int32_t col = 0;
  for (; col + 8 <= cnt; col += 8) {
    float32x4x2_t v;
    if (outside) {
      v.val[0] = v.val[1] = vdupq_n_f32(0.0f);
    } else {
      v = vld2q_f32(src + col);
    }
    vst1q_f32(first + col / 2, v.val[0]);
    vst1q_f32(second + col / 2, v.val[1]);
  }
  for (; col < cnt; col++) {
    (col & 1 ? second : first)[col / 2] = outside ? 0.0f : src[col];
  }
}

/* y[c][oy][ox] = act(b[c] + sum_{ky, kx} x[c][oy sy + ky - pt][ox sx + kx - pl] W[c][ky][kx])
   (zero outside the image); -1 for parameters the kernel does not take. */
int32_t codegen_f32_depthwise(const float *restrict x, const float *restrict w, float *restrict y, int32_t c,
                              int32_t h, int32_t wd, int32_t k, int32_t sy, int32_t sx, int32_t pt,
                              int32_t pl, int32_t oh, int32_t ow, int32_t act) {
  /* padded columns a row needs: up to the last output's window */
  const int32_t n = (ow - 1) * sx + k;
  const int32_t half = ((n + 1) / 2 + 3) & ~3;  /* odd columns' offset (sx == 2) */
  const int32_t row_floats = ((sx == 2 ? half + n / 2 : n) + ROW_SLACK + 3) & ~3;
  if (k < 1 || k > DEPTHWISE_MAX_KERNEL || sy < 1 || sy > k || sx < 1 || sx > 2 ||
      k * row_floats > DEPTHWISE_RING_FLOATS || act < ACT_NONE || act > ACT_HARDSWISH) {
    return -1;
  }
  float ring[DEPTHWISE_RING_FLOATS] __attribute__((aligned(16)));  /* row r at ring + r * row_floats */
  const float *row[DEPTHWISE_MAX_KERNEL];
  const int32_t ntaps = k * k;
  /* the image columns of a padded row (the rest is padding, zero) */
  const int32_t cnt = n - pl < wd ? n - pl : wd;
  for (int32_t j = 0; j < k * row_floats; j += 4) {
    vst1q_f32(ring + j, vdupq_n_f32(0.0f));
  }
  /* 16-column strips in Helium assembly where it has the kernel, the rest
     (from column done on) in the vector loop */
  strip_fn *const strips = k == 3 ? (sx == 1 ? depthwise_f32_k3s1 : depthwise_f32_k3s2)
                         : k == 5 ? (sx == 1 ? depthwise_f32_k5s1 : depthwise_f32_k5s2) : 0;
  const int32_t done = strips ? ow / 16 * 16 : 0;
  for (int32_t ch = 0; ch < c; ch++) {
    const float *xc = x + ch * h * wd, *wc = w + ch * (ntaps + 1);
    float *yc = y + ch * oh * ow;
    int32_t next = 0;  /* the next padded row to load into the ring */
    for (int32_t oy = 0; oy < oh; oy++) {
      const int32_t r0 = oy * sy;
      for (int32_t r = next > r0 ? next : r0; r < r0 + k; r++) {
        load_row(ring + r % k * row_floats, xc, h, wd, r, pt, pl, cnt, sx, half);
      }
      next = r0 + k;
      for (int32_t ky = 0; ky < k; ky++) {
        row[ky] = ring + (r0 + ky) % k * row_floats;
      }
      float *out = yc + oy * ow;
      if (strips) {
        strips(row, wc, out, ow / 16, half * 4, act);
      }
      depthwise_row(row, half, wc, out, done, ow, k, sx, act);
    }
  }
  return 0;
}
