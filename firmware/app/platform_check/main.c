/* First app on the platform: banner, an MVE-vectorised float matmul checked
 * against a scalar reference, and the instruction count of the kernel.
 * Exit status 0 when the check passes, 1 when it does not. */
#include <math.h>
#include <stdio.h>

#include "platform.h"

#define ROWS 16  /* M */
#define DEPTH 64 /* K */
#define COLS 32  /* N */

/* Operands live where the recognizer's tensors will: inputs in the DDR
   arena, the results in DTCM. */
static float lhs[ROWS][DEPTH] PLATFORM_MODEL_ARENA;
static float rhs[DEPTH][COLS] PLATFORM_MODEL_ARENA;
static float result[ROWS][COLS];
static float reference[ROWS][COLS];

/* The inner loop runs along contiguous columns, the shape gcc -O3
   auto-vectorises to vldrw/vmul/vadd/vstrw (4 floats per MVE beat group). */
__attribute__((noinline)) static void matmul_mve(const float a[ROWS][DEPTH], const float b[DEPTH][COLS],
                                                 float c[ROWS][COLS]) {
  for (int m = 0; m < ROWS; m++) {
    for (int n = 0; n < COLS; n++) {
      c[m][n] = 0.0f;
    }
    for (int k = 0; k < DEPTH; k++) {
      const float a_mk = a[m][k];
      for (int n = 0; n < COLS; n++) {
        c[m][n] += a_mk * b[k][n];
      }
    }
  }
}

/* The same arithmetic with the vectoriser off, as the reference. */
__attribute__((noinline, optimize("no-tree-vectorize"))) static void matmul_scalar(
    const float a[ROWS][DEPTH], const float b[DEPTH][COLS], float c[ROWS][COLS]) {
  for (int m = 0; m < ROWS; m++) {
    for (int n = 0; n < COLS; n++) {
      float sum = 0.0f;
      for (int k = 0; k < DEPTH; k++) {
        sum += a[m][k] * b[k][n];
      }
      c[m][n] = sum;
    }
  }
}

/* Deterministic inputs in [-1, 1) from a fixed-seed LCG. */
static float next_value(uint32_t *state) {
  *state = *state * 1664525u + 1013904223u;
  return (float)(int32_t)(*state >> 8) / 8388608.0f - 1.0f;
}

static uint64_t instructions_of(void (*kernel)(const float[ROWS][DEPTH], const float[DEPTH][COLS],
                                               float[ROWS][COLS]),
                                float c[ROWS][COLS]) {
  const uint64_t start = counter_ticks();
  kernel(lhs, rhs, c);
  return counter_ticks_to_instructions(counter_ticks() - start);
}

int main(void) {
  platform_print_banner("platform_check");
  printf("platform: matmul operands lhs %s, rhs %s, result %s\n", platform_region_name(lhs),
         platform_region_name(rhs), platform_region_name(result));

  uint32_t seed = 12345u;
  for (int m = 0; m < ROWS; m++)
    for (int k = 0; k < DEPTH; k++) lhs[m][k] = next_value(&seed);
  for (int k = 0; k < DEPTH; k++)
    for (int n = 0; n < COLS; n++) rhs[k][n] = next_value(&seed);

  const uint64_t scalar_instructions = instructions_of(matmul_scalar, reference);
  const uint64_t mve_instructions = instructions_of(matmul_mve, result);

  /* Both sum over k in the same order, but with -ffp-contract=fast (the
     default of -std=gnu*) the scalar code fuses multiply-adds and the MVE code
     does not: allow a relative error far below what a wrong result shows. */
  float max_error = 0.0f;
  int mismatches = 0;
  for (int m = 0; m < ROWS; m++) {
    for (int n = 0; n < COLS; n++) {
      const float error = fabsf(result[m][n] - reference[m][n]);
      if (error > max_error) max_error = error;
      if (!(error <= 1e-5f * (1.0f + fabsf(reference[m][n])))) mismatches++;
    }
  }

  const unsigned macs = ROWS * DEPTH * COLS;
  printf("workload: matmul %dx%d * %dx%d f32 (%u MACs), MVE auto-vectorised vs scalar reference\n", ROWS,
         DEPTH, DEPTH, COLS, macs);
  printf("check: %s, %d of %d outputs differ, max abs error %.3g\n", mismatches == 0 ? "pass" : "FAIL",
         mismatches, ROWS * COLS, (double)max_error);
  char text[21];
  printf("scalar reference: %s instructions (%.3f per MAC)\n", format_u64(scalar_instructions, text),
         (double)scalar_instructions / macs);
  printf("mve kernel: %.3f instructions per MAC, %.2fx fewer than scalar\n", (double)mve_instructions / macs,
         (double)scalar_instructions / (double)mve_instructions);
  platform_print_instructions(mve_instructions);
  return mismatches == 0 ? 0 : 1;
}
