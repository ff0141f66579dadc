/* Runs codegen_s8_pointwise (codegen/ukernels/s8_pointwise.c) on the cases of
 * the generated s8_cases.c and compares every output byte with the numpy
 * reference (codegen.qnn.pointwise_reference) computed on the host.
 * Prints one line per failing case and "cases <n> failures <k>". */
#include <stdio.h>
#include <string.h>
#include "platform.h"

typedef struct {
    const int8_t *x, *w, *lut, *expected;
    const int32_t *bias, *mult, *shift;
    int32_t cin, cout, pixels, zy;
} s8_case_t;

extern const s8_case_t s8_cases[];
extern const int s8_num_cases;
int32_t codegen_s8_pointwise(const int8_t *x, const int8_t *w, const int32_t *bias,
                             const int32_t *mult, const int32_t *shift, const int8_t *lut,
                             int8_t *y, int32_t cin, int32_t cout, int32_t pixels, int32_t zy);

static int8_t out[65536];

int main(void)
{
    int failures = 0;
    for (int i = 0; i < s8_num_cases; i++) {
        const s8_case_t *c = &s8_cases[i];
        const int n = c->cout * c->pixels;
        memset(out, 0x55, (size_t)n + 16);
        int rc = codegen_s8_pointwise(c->x, c->w, c->bias, c->mult, c->shift, c->lut, out,
                                      c->cin, c->cout, c->pixels, c->zy);
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
            printf("case %d cin %ld cout %ld pixels %ld: rc %ld, %d wrong (first %d: %d vs %d)%s\n", i,
                   (long)c->cin, (long)c->cout, (long)c->pixels, (long)rc, wrong, first,
                   first < 0 ? 0 : out[first], first < 0 ? 0 : c->expected[first],
                   overrun ? ", wrote past the output" : "");
        }
    }
    printf("cases %d failures %d\n", s8_num_cases, failures);
    platform_exit(failures != 0);
    return 0;
}
