/* Device test of codegen/ukernels (rule 3e's pointwise micro-kernel): every
 * row length 1..22 (all block sizes 1-7 and their combinations) x reduction
 * depths 1-5, 8, 9, 40 (every remainder of the 4-step loop), against a scalar
 * reference; the sums overwrite their (non-zero) outputs and everything around
 * them must stay untouched. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include "platform.h"

int32_t codegen_pointwise_f32x4(float *acc, const float *in, const float *w, int32_t k,
                                int32_t n, int32_t in_stride, int32_t acc_stride);

enum { MAX_K = 40, MAX_N = 22, IN_STRIDE = 27, ACC_STRIDE = 31 };

static uint32_t seed = 1;
static float random_value(void)
{
    seed = seed * 1664525u + 1013904223u;
    return (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static float in[MAX_K * IN_STRIDE], w[MAX_K * 4], acc[4 * ACC_STRIDE], ref[4 * ACC_STRIDE];

int main(void)
{
    static const int depths[] = {1, 2, 3, 4, 5, 8, 9, MAX_K};
    int failures = 0, cases = 0;
    for (unsigned d = 0; d < sizeof depths / sizeof depths[0]; d++) {
        for (int n = 1; n <= MAX_N; n++) {
            const int k = depths[d];
            for (int i = 0; i < MAX_K * IN_STRIDE; i++) in[i] = random_value();
            for (int i = 0; i < MAX_K * 4; i++) w[i] = random_value();
            for (int i = 0; i < 4 * ACC_STRIDE; i++) acc[i] = ref[i] = random_value();
            for (int o = 0; o < 4; o++)
                for (int p = 0; p < n; p++) {
                    float sum = 0.0f;
                    for (int c = 0; c < k; c++) sum += in[c * IN_STRIDE + p] * w[4 * c + o];
                    ref[o * ACC_STRIDE + p] = sum;
                }
            codegen_pointwise_f32x4(acc, in, w, k, n, IN_STRIDE, ACC_STRIDE);
            float worst = 0.0f;
            for (int i = 0; i < 4 * ACC_STRIDE; i++) {
                float diff = fabsf(acc[i] - ref[i]);
                if (!(diff <= worst)) worst = diff;  /* NaN counts as worst */
            }
            cases++;
            if (!(worst <= 1e-5f)) {
                printf("mismatch k %d n %d max_abs_diff_e9 %ld\n", k, n,
                       worst < 1e9f ? (long)(worst * 1e9f) : -1L);
                failures++;
            }
        }
    }
    printf("cases %d failures %d\n", cases, failures);
    platform_exit(failures != 0);
    return 0;
}
