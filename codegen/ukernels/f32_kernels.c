/* Float library kernels (codegen/flib.py): the convolutions TVM's schedules
 * leave slow, computed with the Helium register blocks of pointwise_mve.S and
 * conv_mve.S. Helium only (the LLVM-MVE backend links them; the portable C
 * backend keeps TVM's own loops for these layers).
 *
 *   codegen_f32_conv      a k x k convolution, stride 1, "same" zero padding
 *                         (k / 2 on every side), NCHW, batch 1
 *   codegen_f32_deconv2x2 a 2x2 transposed convolution of stride 2 (DB's
 *                         up-sampling head), NCHW, batch 1
 *   codegen_f32_conv_im2col any convolution with a short reduction (a stem:
 *                         3 input channels, 3x3, stride 2): im2col tiles on
 *                         the stack through the pointwise micro-kernel
 *
 * Both take the weights packed by codegen/flib.py in groups of 4 output
 * channels, so each step's 4 weights are one vldrw; bias and activation stay
 * in the TVM kernel that follows. */
#include <stdint.h>

#if !defined(__ARM_FEATURE_MVE) || !(__ARM_FEATURE_MVE & 2)
#error "f32_kernels.c needs Helium with floating point (-mcpu=cortex-m55)"
#endif

typedef void conv_block_fn(float *acc, const float *in, const float *w, const int32_t *taps, int32_t ntaps,
                           int32_t k, int32_t in_stride_bytes, int32_t acc_stride_bytes);
conv_block_fn conv_f32x4_block1, conv_f32x4_block2, conv_f32x4_block3, conv_f32x4_block4,
    conv_f32x4_block5, conv_f32x4_block6, conv_f32x4_block7;
int32_t codegen_pointwise_f32x4(float *acc, const float *in, const float *w, int32_t k, int32_t n,
                                int32_t in_stride, int32_t acc_stride);

/* codegen/flib.py's limits (a test checks them): the largest kernel side, the
   pixels per up-sampling chunk (4 x that many partial sums on the stack) and
   the floats of the im2col tile (the reduction x a run of output pixels). */
#define CONV_MAX_KERNEL 7
#define DECONV_CHUNK 256
#define IM2COL_TILE 1024

/* One output pixel of a 4-channel group next to the border, where some taps
   read padding: plain loops (2 * (k / 2) columns of every row). */
static void conv_border_pixel(const float *x, const float *wg, float *yg, int32_t cin, int32_t h, int32_t wd,
                              int32_t k, int32_t oy, int32_t ox) {
  const int32_t p = k / 2, plane = h * wd;
  float sum[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  for (int32_t ky = 0; ky < k; ky++) {
    const int32_t iy = oy + ky - p;
    if (iy < 0 || iy >= h) {
      continue;
    }
    for (int32_t kx = 0; kx < k; kx++) {
      const int32_t ix = ox + kx - p;
      if (ix < 0 || ix >= wd) {
        continue;
      }
      const float *wt = wg + (ky * k + kx) * cin * 4;
      for (int32_t c = 0; c < cin; c++) {
        const float v = x[c * plane + iy * wd + ix];
        for (int32_t o = 0; o < 4; o++) {
          sum[o] += v * wt[4 * c + o];
        }
      }
    }
  }
  for (int32_t o = 0; o < 4; o++) {
    yg[o * plane + oy * wd + ox] = sum[o];
  }
}

/* y[oc][oy][ox] = sum_{c, ky, kx} x[c][oy + ky - k/2][ox + kx - k/2] * W[oc][c][ky][kx]
   (zero outside the image), w packed as [cout / 4][ky][kx][cin][4]. */
int32_t codegen_f32_conv(const float *restrict x, const float *restrict w, float *restrict y, int32_t cin,
                         int32_t h, int32_t wd, int32_t cout, int32_t k) {
  static conv_block_fn *const rest[7] = {
      0, conv_f32x4_block1, conv_f32x4_block2, conv_f32x4_block3,
      conv_f32x4_block4, conv_f32x4_block5, conv_f32x4_block6,
  };
  if (k < 1 || k > CONV_MAX_KERNEL || (k & 1) == 0 || cout % 4 != 0) {
    return -1;
  }
  const int32_t p = k / 2, plane = h * wd, stride_bytes = plane * 4;
  const int32_t first = p < wd ? p : wd, end = wd - p > first ? wd - p : first;
  int32_t taps[2 * CONV_MAX_KERNEL * CONV_MAX_KERNEL];
  for (int32_t g = 0; g < cout / 4; g++) {
    const float *wg = w + g * k * k * cin * 4;
    float *yg = y + g * 4 * plane;
    for (int32_t oy = 0; oy < h; oy++) {
      /* the taps of this row that read image rows (the rest are padding) */
      int32_t n = 0;
      for (int32_t ky = 0; ky < k; ky++) {
        const int32_t iy = oy + ky - p;
        if (iy < 0 || iy >= h) {
          continue;
        }
        for (int32_t kx = 0; kx < k; kx++) {
          taps[2 * n] = (iy * wd + kx - p) * 4;
          taps[2 * n + 1] = (ky * k + kx) * cin * 16;
          n++;
        }
      }
      /* columns whose every tap is inside the image: blocks of 7, one rest */
      float *acc = yg + oy * wd;
      int32_t ox = first;
      for (; ox + 7 <= end; ox += 7) {
        conv_f32x4_block7(acc + ox, x + ox, wg, taps, n, cin, stride_bytes, stride_bytes);
      }
      if (ox < end) {
        rest[end - ox](acc + ox, x + ox, wg, taps, n, cin, stride_bytes, stride_bytes);
      }
      for (ox = 0; ox < first; ox++) {
        conv_border_pixel(x, wg, yg, cin, h, wd, k, oy, ox);
      }
      for (ox = end; ox < wd; ox++) {
        conv_border_pixel(x, wg, yg, cin, h, wd, k, oy, ox);
      }
    }
  }
  return 0;
}

/* y[oc][2 iy + dy][2 ix + dx] = sum_c x[c][iy][ix] * W[c][oc][dy][dx], w packed as
   [ceil(cout / 4)][dy][dx][cin][4] (channels past cout zero): for each (dy, dx)
   a 1x1 convolution (the pointwise micro-kernel), written interleaved. */
int32_t codegen_f32_deconv2x2(const float *restrict x, const float *restrict w, float *restrict y, int32_t cin,
                              int32_t h, int32_t wd, int32_t cout) {
  float acc[4 * DECONV_CHUNK];
  const int32_t plane = h * wd, out_w = 2 * wd, out_plane = 4 * plane;
  for (int32_t g = 0; g * 4 < cout; g++) {
    const int32_t channels = cout - 4 * g < 4 ? cout - 4 * g : 4;
    for (int32_t iy = 0; iy < h; iy++) {
      for (int32_t tap = 0; tap < 4; tap++) {
        const int32_t dy = tap >> 1, dx = tap & 1;
        const float *wt = w + (g * 4 + tap) * cin * 4;
        for (int32_t cx = 0; cx < wd; cx += DECONV_CHUNK) {
          const int32_t n = wd - cx < DECONV_CHUNK ? wd - cx : DECONV_CHUNK;
          codegen_pointwise_f32x4(acc, x + iy * wd + cx, wt, cin, n, plane, DECONV_CHUNK);
          for (int32_t o = 0; o < channels; o++) {
            float *out = y + (4 * g + o) * out_plane + (2 * iy + dy) * out_w + 2 * cx + dx;
            const float *sums = acc + o * DECONV_CHUNK;
            for (int32_t q = 0; q < n; q++) {
              out[2 * q] = sums[q];
            }
          }
        }
      }
    }
  }
  return 0;
}

/* y[oc][oy][ox] = sum_{c, ky, kx} x[c][oy sh + ky - pt][ox sw + kx - pl] * W[oc][c][ky][kx]
   (zero outside the image), w packed as [cout / 4][cin kh kw][4]: a tile of the
   reduction (cin kh kw rows, at most IM2COL_TILE floats) for a run of output pixels,
   then the pointwise micro-kernel writes 4 output channels of the run at a time. */
int32_t codegen_f32_conv_im2col(const float *restrict x, const float *restrict w, float *restrict y,
                                int32_t cin, int32_t h, int32_t wd, int32_t cout, int32_t kh, int32_t kw,
                                int32_t sh, int32_t sw, int32_t pt, int32_t pl, int32_t oh, int32_t ow) {
  float tile[IM2COL_TILE];
  const int32_t k = cin * kh * kw, plane = oh * ow;
  if (k > IM2COL_TILE || cout % 4 != 0) {
    return -1;
  }
  const int32_t run = IM2COL_TILE / k < ow ? IM2COL_TILE / k : ow;
  for (int32_t oy = 0; oy < oh; oy++) {
    for (int32_t ox0 = 0; ox0 < ow; ox0 += run) {
      const int32_t n = ow - ox0 < run ? ow - ox0 : run;
      float *row = tile;
      for (int32_t c = 0; c < cin; c++) {
        for (int32_t ky = 0; ky < kh; ky++) {
          const int32_t iy = oy * sh + ky - pt;
          const float *src = x + (c * h + iy) * wd;
          for (int32_t kx = 0; kx < kw; kx++, row += n) {
            for (int32_t p = 0; p < n; p++) {
              const int32_t ix = (ox0 + p) * sw + kx - pl;
              row[p] = (iy >= 0 && iy < h && ix >= 0 && ix < wd) ? src[ix] : 0.0f;
            }
          }
        }
      }
      for (int32_t g = 0; g < cout / 4; g++) {
        codegen_pointwise_f32x4(y + g * 4 * plane + oy * ow + ox0, tile, w + g * k * 4, k, n, n, plane);
      }
    }
  }
  return 0;
}
