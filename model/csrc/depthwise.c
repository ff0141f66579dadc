/* Depthwise 2-D convolution for training on a CPU: forward, input gradient and
 * weight gradient.  NCHW float32, one kh x kw filter per channel, any stride,
 * symmetric zero padding, no dilation, no bias (the caller adds it).
 *
 * Why it exists: Paddle 3.3's CPU kernels for depthwise_conv2d (forward and
 * grad) run at about 0.5 GMAC/s and took 39% of a PP-OCRv3 training step,
 * although these layers are ~5% of its multiply-adds.  Here every inner loop
 * runs along one row of the output (stride 1: contiguous, so the compiler
 * vectorizes it), and the taps whose input column falls in the padding are cut
 * off by loop bounds instead of tested per element.
 *
 * Built by model/fastops.py with the host compiler when training starts. */
#include <stddef.h>
#include <string.h>

/* Output columns ow whose input column ow * sw + j - pw lies inside [0, w). */
static void valid_columns(int j, int w, int sw, int pw, int ow_count, int *lo, int *hi)
{
    int first = pw - j;                      /* smallest ow*sw that is in range */
    int l = first <= 0 ? 0 : (first + sw - 1) / sw;
    int last = w - 1 + pw - j;               /* largest ow*sw that is in range */
    int h = last < 0 ? -1 : last / sw;
    if (h > ow_count - 1)
        h = ow_count - 1;
    *lo = l;
    *hi = h;
}

void depthwise_forward(const float *restrict x, const float *restrict weight,
                       float *restrict y, int n, int c, int h, int w, int kh, int kw,
                       int sh, int sw, int ph, int pw, int oh, int ow)
{
    for (long plane = 0; plane < (long)n * c; plane++) {
        const float *in = x + plane * h * w;
        const float *filt = weight + (plane % c) * kh * kw;
        float *out = y + plane * oh * ow;
        memset(out, 0, sizeof(float) * oh * ow);
        for (int r = 0; r < oh; r++) {
            float *orow = out + (long)r * ow;
            for (int i = 0; i < kh; i++) {
                int ih = r * sh + i - ph;
                if (ih < 0 || ih >= h)
                    continue;
                const float *irow = in + (long)ih * w;
                for (int j = 0; j < kw; j++) {
                    float wv = filt[i * kw + j];
                    int lo, hi;
                    valid_columns(j, w, sw, pw, ow, &lo, &hi);
                    int off = j - pw;
                    if (sw == 1) {
                        for (int col = lo; col <= hi; col++)
                            orow[col] += wv * irow[col + off];
                    } else {
                        for (int col = lo; col <= hi; col++)
                            orow[col] += wv * irow[col * sw + off];
                    }
                }
            }
        }
    }
}

void depthwise_grad_input(const float *restrict grad_y, const float *restrict weight,
                          float *restrict grad_x, int n, int c, int h, int w, int kh,
                          int kw, int sh, int sw, int ph, int pw, int oh, int ow)
{
    for (long plane = 0; plane < (long)n * c; plane++) {
        const float *gy = grad_y + plane * oh * ow;
        const float *filt = weight + (plane % c) * kh * kw;
        float *gx = grad_x + plane * h * w;
        memset(gx, 0, sizeof(float) * h * w);
        for (int r = 0; r < oh; r++) {
            const float *grow = gy + (long)r * ow;
            for (int i = 0; i < kh; i++) {
                int ih = r * sh + i - ph;
                if (ih < 0 || ih >= h)
                    continue;
                float *xrow = gx + (long)ih * w;
                for (int j = 0; j < kw; j++) {
                    float wv = filt[i * kw + j];
                    int lo, hi;
                    valid_columns(j, w, sw, pw, ow, &lo, &hi);
                    int off = j - pw;
                    if (sw == 1) {
                        for (int col = lo; col <= hi; col++)
                            xrow[col + off] += wv * grow[col];
                    } else {
                        for (int col = lo; col <= hi; col++)
                            xrow[col * sw + off] += wv * grow[col];
                    }
                }
            }
        }
    }
}

/* grad_weight[c][i][j] = sum over images, rows and columns of
 * grad_y * (input under tap i, j); summed in float like Paddle's kernel. */
void depthwise_grad_weight(const float *restrict grad_y, const float *restrict x,
                           float *restrict grad_weight, int n, int c, int h, int w,
                           int kh, int kw, int sh, int sw, int ph, int pw, int oh, int ow)
{
    memset(grad_weight, 0, sizeof(float) * c * kh * kw);
    for (long plane = 0; plane < (long)n * c; plane++) {
        const float *gy = grad_y + plane * oh * ow;
        const float *in = x + plane * h * w;
        float *gw = grad_weight + (plane % c) * kh * kw;
        for (int i = 0; i < kh; i++) {
            for (int j = 0; j < kw; j++) {
                int lo, hi;
                valid_columns(j, w, sw, pw, ow, &lo, &hi);
                float acc = 0.0f;
                for (int r = 0; r < oh; r++) {
                    int ih = r * sh + i - ph;
                    if (ih < 0 || ih >= h)
                        continue;
                    const float *grow = gy + (long)r * ow;
                    const float *irow = in + (long)ih * w;
                    int off = j - pw;
                    if (sw == 1) {
#pragma omp simd reduction(+ : acc)
                        for (int col = lo; col <= hi; col++)
                            acc += grow[col] * irow[col + off];
                    } else {
#pragma omp simd reduction(+ : acc)
                        for (int col = lo; col <= hi; col++)
                            acc += grow[col] * irow[col * sw + off];
                    }
                }
                gw[i * kw + j] += acc;
            }
        }
    }
}
