/* hard_swish(x) = x * min(max(x + 3, 0), 6) / 6 and its gradient, float32.
 *
 * Why it exists: Paddle 3.3's CPU hard_swish and hard_swish_grad took 11% of a
 * PP-OCRv3 training step (after depthwise.c), ~7 ms per gradient call on a few
 * MB; these loops are memory-bound and vectorize.  The gradient follows
 * Paddle's HardSwishGradFunctor, including its choice at the kinks
 * (x = -3: 0, x = 3: 1). */
#include <stddef.h>

void hardswish_forward(const float *restrict x, float *restrict y, long count)
{
    for (long i = 0; i < count; i++) {
        float r = x[i] + 3.0f;
        r = r < 0.0f ? 0.0f : r;
        r = r > 6.0f ? 6.0f : r;
        y[i] = x[i] * r / 6.0f;
    }
}

void hardswish_grad(const float *restrict x, const float *restrict grad_y,
                    float *restrict grad_x, long count)
{
    for (long i = 0; i < count; i++) {
        float shifted = x[i] + 3.0f;
        float slope = shifted < 6.0f ? (2.0f * x[i] + 3.0f) / 6.0f : 1.0f;
        grad_x[i] = shifted > 0.0f ? grad_y[i] * slope : 0.0f;
    }
}
