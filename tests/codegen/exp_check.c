/* Device test of the MVE target's exp (lower._exp_polynomial): the generated
 * kernel exp_kernel(in, out) computes out[i] = exp(in[i]) for N points that
 * span float's whole exp range; compared with newlib's expf in double. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include "platform.h"

#define N 4096
int32_t exp_kernel(const float *in, float *out);

static float in[N], out[N];

int main(void)
{
    for (int i = 0; i < N; i++) in[i] = -87.0f + 175.0f * (float)i / (float)(N - 1);
    exp_kernel(in, out);
    double worst = 0.0;
    for (int i = 0; i < N; i++) {
        double ref = exp((double)in[i]);
        double rel = fabs((double)out[i] - ref) / ref;
        if (!(rel <= worst)) worst = rel;  /* NaN counts as worst */
    }
    printf("exp points %d max_rel_error_e9 %ld\n", N, worst < 1.0 ? (long)(worst * 1e9) : -1L);
    platform_exit(0);
    return 0;
}
