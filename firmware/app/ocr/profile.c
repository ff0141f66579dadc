#include "profile.h"

#include "model.h"
#include "platform.h"

#ifdef MODEL_PROFILE

static uint64_t kernel_ticks[MODEL_NUM_KERNELS];
static uint64_t kernel_start;

void model_profile_begin(int k) {
  (void)k;
  kernel_start = counter_ticks();
}

void model_profile_end(int k) {
  kernel_ticks[k] += counter_ticks() - kernel_start;
}

void ocr_profile_report(void) {
  for (unsigned k = 0; k < MODEL_NUM_KERNELS; k++) {
    platform_print_kernel_instructions(k, model_kernel_info[k].name,
                                       counter_ticks_to_instructions(kernel_ticks[k]));
  }
}

#else

void ocr_profile_report(void) {}

#endif
