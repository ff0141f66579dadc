/* Entry point of rule 3e's micro-kernel (see pointwise_mve.S): a row of n
 * pixels x 4 output channels, cut into blocks of 7 pixels and one smaller
 * block for the rest. Called by the TVM-generated kernels.
 *
 *   acc[o * acc_stride + p] = sum_{c < k} in[c * in_stride + p] * w[4 * c + o]
 *   for p < n, o < 4 (strides in elements).
 */
#include <stdint.h>

typedef void pointwise_block_fn(float *acc, const float *in, const float *w, int32_t k,
                                int32_t in_stride_bytes, int32_t acc_stride_bytes);

pointwise_block_fn pointwise_f32x4_block1, pointwise_f32x4_block2, pointwise_f32x4_block3,
    pointwise_f32x4_block4, pointwise_f32x4_block5, pointwise_f32x4_block6,
    pointwise_f32x4_block7;

int32_t codegen_pointwise_f32x4(float *acc, const float *in, const float *w, int32_t k,
                                int32_t n, int32_t in_stride, int32_t acc_stride)
{
    static pointwise_block_fn *const rest[7] = {
        0, pointwise_f32x4_block1, pointwise_f32x4_block2, pointwise_f32x4_block3,
        pointwise_f32x4_block4, pointwise_f32x4_block5, pointwise_f32x4_block6,
    };
    int32_t p = 0;
    for (; p + 7 <= n; p += 7)
        pointwise_f32x4_block7(acc + p, in + p, w, k, in_stride * 4, acc_stride * 4);
    if (p < n)
        rest[n - p](acc + p, in + p, w, k, in_stride * 4, acc_stride * 4);
    return 0;
}
