/* Runs the int8 library kernels (codegen/ukernels/s8_kernels.c) on the cases of
 * the generated s8_cases.c and compares every output byte with the numpy
 * reference (codegen.qnn.*_reference) computed on the host.
 * Prints one line per failing case and "cases <n> failures <k>". */
#include <stdio.h>
#include <string.h>
#include "platform.h"

typedef struct {
    int kind; /* 0 pointwise, 1 depthwise, 2 conv, 3 matmul */
    const int8_t *x, *w, *lut, *expected;
    const int32_t *bias, *mult;
    const int8_t *shift; /* 1..62: one byte per channel */
    int32_t n_out;    /* output bytes */
    int32_t p[14];    /* the kernel's int32 parameters, in order */
} s8_case_t;

extern const s8_case_t s8_cases[];
extern const int s8_num_cases;
int32_t codegen_s8_pointwise(const int8_t *x, const int8_t *w, const int32_t *bias,
                             const int32_t *mult, const int8_t *shift, const int8_t *lut,
                             int8_t *y, int32_t cin, int32_t cout, int32_t pixels, int32_t zy);
int32_t codegen_s8_depthwise(const int8_t *x, const int8_t *w, const int32_t *bias,
                             const int32_t *mult, const int8_t *shift, const int8_t *lut,
                             int8_t *y, int32_t channels, int32_t height, int32_t width,
                             int32_t kernel_h, int32_t kernel_w, int32_t stride_h, int32_t stride_w,
                             int32_t pad_top, int32_t pad_left, int32_t out_h, int32_t out_w,
                             int32_t zx, int32_t zy);
int32_t codegen_s8_conv(const int8_t *x, const int8_t *w, const int32_t *bias, const int32_t *mult,
                        const int8_t *shift, const int8_t *lut, int8_t *y, int32_t cin,
                        int32_t height, int32_t width, int32_t cout, int32_t kernel_h,
                        int32_t kernel_w, int32_t stride_h, int32_t stride_w, int32_t pad_top,
                        int32_t pad_left, int32_t out_h, int32_t out_w, int32_t zx, int32_t zy);
int32_t codegen_s8_matmul(const int8_t *x, const int8_t *w, const int32_t *bias, const int32_t *mult,
                          const int8_t *shift, const int8_t *lut, int8_t *y, int32_t rows, int32_t k,
                          int32_t n, int32_t zy);

static int8_t out[65536 + 16];

int main(void)
{
    int failures = 0;
    for (int i = 0; i < s8_num_cases; i++) {
        const s8_case_t *c = &s8_cases[i];
        const int32_t *p = c->p;
        const int n = c->n_out;
        memset(out, 0x55, (size_t)n + 16);
        int32_t rc;
        if (c->kind == 0)
            rc = codegen_s8_pointwise(c->x, c->w, c->bias, c->mult, c->shift, c->lut, out, p[0],
                                      p[1], p[2], p[3]);
        else if (c->kind == 1)
            rc = codegen_s8_depthwise(c->x, c->w, c->bias, c->mult, c->shift, c->lut, out, p[0],
                                      p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10],
                                      p[11], p[12]);
        else if (c->kind == 3)
            rc = codegen_s8_matmul(c->x, c->w, c->bias, c->mult, c->shift, c->lut, out, p[0], p[1],
                                   p[2], p[3]);
        else
            rc = codegen_s8_conv(c->x, c->w, c->bias, c->mult, c->shift, c->lut, out, p[0], p[1],
                                 p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12],
                                 p[13]);
        int wrong = 0, first = -1;
        for (int k = 0; k < n; k++)
            if (out[k] != c->expected[k]) {
                if (first < 0)
                    first = k;
                wrong++;
            }
        int overrun = 0;
        for (int k = n; k < n + 16; k++)
            overrun |= out[k] != 0x55;
        if (rc != 0 || wrong || overrun) {
            failures++;
            printf("case %d (kind %d): rc %ld, %d of %d wrong (first %d: %d vs %d)%s\n", i, c->kind,
                   (long)rc, wrong, n, first, first < 0 ? 0 : out[first],
                   first < 0 ? 0 : c->expected[first], overrun ? ", wrote past the output" : "");
        }
    }
    printf("cases %d failures %d\n", s8_num_cases, failures);
    platform_exit(failures != 0);
    return 0;
}
